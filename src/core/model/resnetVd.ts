/**
 * The ResNet-vd backbone of PP-TSN (PaddleVideo `ResNetTweaksTSN`) as a walk over the layer plan of `arch.ts`.
 *
 * The walk is shared by inference and training: it knows the order of the layers, the vd AvgPool tweak, the
 * stem max pool and the residual additions; how one ConvBN is computed (BN folded into a fused conv, or conv +
 * BatchNorm with batch or running statistics) is a `ConvBNRunner` the caller passes in.
 *
 * Everything runs NHWC (tfjs's native layout on every backend). Paddle's symmetric padding (k−1)/2 is passed to
 * tfjs as a number, which tfjs turns into symmetric explicit padding: TF "same" would pad only at the end for
 * stride 2 and shift every strided conv by one pixel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ArchSpec, BlockSpec, ConvBNSpec } from './arch.js';
import { maxPool3s2GradWasm, useFastPoolGrad, vdAvgPoolGradWasm } from './poolGradWasm.js';

/**
 * Boundaries between the parts of the backbone, as accepted by `runStages(x, from, to)`:
 * 0 = the normalised image, 1 = after the stem (`conv1_1..3` + max pool), 2..5 = after stage res2..res5
 * (PaddleVideo blocks `bb_0_*` .. `bb_3_*`). 5 is the last feature map, before global average pooling.
 * The "last-stage" fine-tuning strategy caches the feature map at boundary 4 (the input of `bb_3_0`).
 */
export type StageBoundary = 0 | 1 | 2 | 3 | 4 | 5;
export const IMAGE_BOUNDARY = 0;
/** Input of the last stage (res5, `bb_3_*`). */
export const LAST_STAGE_BOUNDARY = 4;
export const FEATURE_MAP_BOUNDARY = 5;

/** Computes one ConvBN layer (vd AvgPool if `layer.avgPoolFirst`, conv, BN, ReLU if `layer.act`) on NHWC input. */
export type ConvBNRunner = (layer: ConvBNSpec, x: tf.Tensor4D) => tf.Tensor4D;

/** Paddle's Conv2D padding for an odd kernel: (k − 1)/2 on every side (0 for 1×1, which tfjs treats as VALID). */
export function convPadding(kernel: number): number {
  return (kernel - 1) >> 1;
}

/**
 * The vd tweak's AvgPool2D(kernel 2, stride 2, padding 0, ceil_mode=True, exclusive=True).
 * ceil_mode gives ⌈H/2⌉ rows; for odd H the last window holds a single row, and `exclusive` divides by the
 * number of in-bounds pixels. tfjs "same" padding for k = s = 2 gives the same ⌈H/2⌉ output, pads only at the
 * end (top = ⌊1/2⌋ = 0) and its avgPool kernels count only in-bounds pixels, i.e. exactly this pooling.
 * (Checked against the float64 reference on odd sizes for cpu/wasm and against cpu in Chromium for webgl/webgpu.)
 */
export function vdAvgPool(x: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(x, 2, 2, 'same');
}

/**
 * `vdAvgPool` with the gradient Paddle's `pool2d_grad` gives it (exclusive: each window's gradient divided by its
 * in-bounds count). tfjs's AvgPoolGrad (cpu, wasm, webgl, webgpu alike) divides by the full window, 4, also for the
 * windows ceil_mode cuts at an odd edge, where the forward divides by 2 or 1: the gradient of a vd shortcut's input
 * was then 2–4× too small on its last row and column whenever its size was odd (not at 224 px, where every pooled
 * size is even; found by the onnxruntime training graph, src/node/onnx/trainGraph.ts). Forward values unchanged.
 */
export function vdAvgPoolTrainable(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xs, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([xs]);
    return { value: vdAvgPool(xs), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => vdAvgPoolGrad(dy as tf.Tensor4D, saved[0] as tf.Tensor4D, h, w) };
  });
  return op(x) as tf.Tensor4D;
}

/**
 * The exact gradient of `vdAvgPool` from `[n, ⌈h/2⌉, ⌈w/2⌉, c]` back to `x`'s `[n, h, w, c]`: the backend's own
 * AvgPoolGrad (each output's gradient × 1/4 to every in-bounds pixel of its window, on every backend) of dy scaled by
 * 4/count, so a window of count in-bounds pixels gives each 1/count. (Rebuilding the spread with a rank-5 tile and
 * slice instead lost SwiftShader's WebGPU device.) On wasm, our kernel writes dy/count directly (poolGradWasm.ts).
 */
function vdAvgPoolGrad(dy: tf.Tensor4D, x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  const [, ho, wo, c] = dy.shape;
  if (dy.dtype === 'float32' && useFastPoolGrad(c)) return vdAvgPoolGradWasm(dy, h, w);
  let scaled = dy;
  if (2 * ho !== h || 2 * wo !== w) {
    const factor = new Float32Array(ho * wo);
    for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) factor[i * wo + j] = 4 / ((Math.min(2 * i + 2, h) - 2 * i) * (Math.min(2 * j + 2, w) - 2 * j));
    scaled = tf.mul(dy, tf.tensor4d(factor, [1, ho, wo, 1]));
  }
  return tf.engine().runKernel('AvgPoolGrad', { dy: scaled, input: x }, { filterSize: [2, 2], strides: [2, 2], pad: 'same' }) as tf.Tensor4D;
}

/**
 * The stem's MaxPool2D(kernel 3, stride 2, padding 1), floor mode: ⌊(H − 1)/2⌋ + 1 rows, symmetric padding that
 * never wins the max. A numeric pad gives tfjs symmetric padding and truncating output size, which is this.
 * On wasm its gradient is our kernel (poolGradWasm.ts: tfjs-backend-wasm's winners, ~15× faster than its scalar
 * MaxPoolGrad); elsewhere tfjs's MaxPoolGrad. The forward is tf.maxPool either way.
 */
export function stemMaxPool(x: tf.Tensor4D): tf.Tensor4D {
  if (!(x.dtype === 'float32' && useFastPoolGrad(x.shape[3]))) return tf.maxPool(x, 3, 2, 1);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xs, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([xs]);
    return { value: tf.maxPool(xs, 3, 2, 1), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => maxPool3s2GradWasm(dy as tf.Tensor4D, saved[0] as tf.Tensor4D) };
  });
  return op(x) as tf.Tensor4D;
}

/** One residual block: ReLU(shortcut + branch). The shortcut is the identity or the projection `short`. */
function runBlock(block: BlockSpec, x: tf.Tensor4D, run: ConvBNRunner): tf.Tensor4D {
  let y = x;
  for (const layer of block.branch) y = run(layer, y);
  const shortcut = block.short ? run(block.short, x) : x;
  // The residual add and ReLU stay two elementwise ops: a full-size tensor cannot ride in fused conv's bias
  // on every backend (wasm accepts only a rank-1 bias).
  return tf.relu(tf.add(shortcut, y));
}

/** The units the walk frees memory between: each stem layer, then each block. */
export interface BackboneUnit {
  /** Stage boundary at the start of the part this unit belongs to (stem 0, res2..res5 1..4). */
  part: number;
  /** Its ConvBN layers. */
  layers: ConvBNSpec[];
  apply: (x: tf.Tensor4D, run: ConvBNRunner) => tf.Tensor4D;
}

/**
 * The backbone as units, in order: each stem ConvBN (the last with the stem's max pool), then each residual block;
 * what a checkpointed pass recomputes one at a time. The stem's layers are units of their own: at full resolution
 * they hold the largest activations (a whole-stem unit was most of a ResNet18 training pass's peak).
 */
export function backboneUnits(arch: ArchSpec): BackboneUnit[] {
  const last = arch.stem.length - 1;
  const out: BackboneUnit[] = arch.stem.map((l, i) => ({ part: 0, layers: [l], apply: (x: tf.Tensor4D, run: ConvBNRunner) => (i === last ? stemMaxPool(run(l, x)) : run(l, x)) }));
  for (const b of arch.blocks) out.push({ part: b.stage + 1, layers: [...b.branch, ...(b.short ? [b.short] : [])], apply: (x, run) => runBlock(b, x, run) });
  return out;
}
const units = backboneUnits;

function checkBoundary(name: string, b: number): void {
  if (!Number.isInteger(b) || b < 0 || b > FEATURE_MAP_BOUNDARY) throw new RangeError(`${name} must be a stage boundary 0..5, got ${b}`);
}

/**
 * Runs the backbone parts between two boundaries on an NHWC tensor and returns the feature map at `to`.
 * Intermediate tensors are freed block by block (a tidy around each block), so peak memory is about two block
 * activations rather than the whole network's; the caller keeps ownership of `x`. With `from === to` it returns
 * a clone of `x` so the result is always the caller's to dispose.
 */
export function runBackbone(arch: ArchSpec, x: tf.Tensor4D, run: ConvBNRunner, from: number, to: number): tf.Tensor4D {
  checkBoundary('from', from);
  checkBoundary('to', to);
  if (from > to) throw new RangeError(`runStages: from (${from}) is after to (${to})`);
  let cur = x;
  for (const u of units(arch)) {
    if (u.part < from || u.part >= to) continue;
    const input = cur;
    cur = tf.tidy(() => u.apply(input, run));
    if (input !== x) input.dispose();
  }
  return cur === x ? x.clone() : cur;
}

/** Global average pooling of the last feature map: [n, h, w, F] → [n, F] (PaddleVideo's AdaptiveAvgPool2D(1)). */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}
