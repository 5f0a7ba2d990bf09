/**
 * PP-TSN's trainable part as two ONNX graphs (IR 8, opset 17), so the CLI's trainer runs its forward and backward
 * passes on onnxruntime-node (MLAS: AVX2/AVX-512 GEMMs on every core) instead of tfjs-backend-wasm (128-bit SIMD,
 * one thread in Node): issue 23, "a better way you find and measure" for `train`'s trainable part.
 *
 * - `forward`: the train-mode pass of the units from stage boundary `from` (`resnetVd.ts` units: the stem's ConvBNs
 *   with its max pool, then each residual block) to the last feature map. Inputs: `x` `[N, H, W, C]` (NHWC, as the
 *   trainer holds it) and each trainable layer's `${key}.w` (OIHW `[O, I, k, k]`, ONNX's conv layout: the caller
 *   transposes the tfjs HWIO filter once per step, see ortPass.ts), `${key}.g`, `${key}.b` (BN scale and offset `[O]`). Outputs: `map` `[N, h, w, F]` (NHWC, the head's input),
 *   each layer's batch mean `${key}.mean` and biased variance `${key}.var` `[O]` (PaddleVideo's train-mode
 *   `BatchNorm`, as `batchNormTrain.ts`), and the `saved` tensors the backward pass reads.
 * - `backward`: inputs `dmap` (the loss's gradient w.r.t. `map`, NHWC), the `saved` tensors under the same names and
 *   `${key}.g`, and the filters its input gradients need: `${key}.whwio` (the tfjs HWIO filter) for stride 1, `${key}.w`
 *   (OIHW) for strided convs (the session's `inputNames` say which); outputs `${key}.dw` (HWIO), `${key}.dg`, `${key}.db` for every trainable layer.
 *
 * The gradients are the closed forms `convGrad.ts` and `batchNormTrain.ts` compute on tfjs (m = N·h·w values per
 * channel, x̂ the normalised conv output, r = 1/√(σ² + ε), g = dz masked by the ReLU):
 *   dβ = Σ g,  dγ = Σ g·x̂,  dy = γ·r·(g − mean g − x̂·mean(g·x̂));
 *   dW[kh, kw] = X_tapᵀ · dy (one batched MatMul over the K² taps of the padded input),  dx = Conv(dy, rot180(W)ᵀ)
 *   at stride 1, ConvTranspose(dy, W) when strided;
 *   the vd AvgPool's gradient spreads each output's gradient over its ⌈2×2⌉ window divided by its in-bounds count
 *   (ceil_mode, exclusive); the stem's MaxPool's goes to the arg-max (`MaxPool`'s Indices, `ScatterElements` add).
 * Shapes are static (one pair of graphs per input shape): the transposed convolutions' output padding and the pools'
 * windows are fixed at build time. Written with protobuf.ts, no dependency.
 */
import type { ArchSpec, ConvBNSpec } from '../../core/model/arch.js';
import { BN_EPSILON } from '../../core/model/recognizer.js';
import { FEATURE_MAP_BOUNDARY, type StageBoundary } from '../../core/model/resnetVd.js';
import { GraphBuilder, type Shape, type Val } from './graphBuilder.js';
import { crossEntropyHead, type HeadSpec } from './trainHeadGraph.js';
import { FLOAT, INT64, node, valueInfo, type Pb } from './protobuf.js';

/** Bumped whenever the graphs change (sessions are built in memory; the version names them in a report). */
export const TRAIN_GRAPH_VERSION = 3;

export interface TrainGraphs {
  forward: Uint8Array;
  backward: Uint8Array;
  /** The trainable layers, in network order (each has the three parameter inputs and three gradient outputs). */
  layers: ConvBNSpec[];
  /** Forward outputs the backward graph takes as inputs, by name. */
  saved: string[];
  /** `map`'s shape, NHWC. */
  mapShape: [number, number, number, number];
  /**
   * With `opts.head`: the whole pass in one graph (forward, ppTSN head, soft-target cross entropy, backward), inputs
   * as `forward`'s plus `${key}.whwio` and the head's (trainHeadGraph.ts), outputs the head's, the statistics and
   * every gradient.
   */
  step?: Uint8Array;
}


/** What a layer's backward pass reads of its forward pass. */
interface LayerRecord {
  layer: ConvBNSpec;
  /** The block/layer input (before the vd pool). */
  input: Val;
  /** The conv's input (after the vd pool). */
  convInput: Val;
  xhat: string;
  r: string;
  /** The output (after the ReLU when `act`). */
  out: Val;
}

type Unit = { kind: 'stem'; layers: ConvBNSpec[] } | { kind: 'block'; branch: ConvBNSpec[]; short?: ConvBNSpec };

const SPATIAL_AXES = [0, 2, 3];

function unitsFrom(arch: ArchSpec, from: StageBoundary): Unit[] {
  const out: Unit[] = [];
  if (from === 0) out.push({ kind: 'stem', layers: arch.stem });
  for (const b of arch.blocks) if (b.stage + 1 >= from) out.push({ kind: 'block', branch: b.branch, ...(b.short ? { short: b.short } : {}) });
  return out;
}

/**
 * The forward and backward graphs of `arch`'s units from boundary `from` (0..4: the part a trainer trains; the head
 * stays with the caller) for inputs of NHWC shape `inputShape`.
 */
export function trainGraphs(arch: ArchSpec, from: StageBoundary, inputShape: readonly [number, number, number, number], opts: { head?: HeadSpec } = {}): TrainGraphs {
  if (from >= FEATURE_MAP_BOUNDARY) throw new RangeError(`trainGraphs: nothing to train from boundary ${from}`);
  const [N, H0, W0, C0] = inputShape;
  const f = new GraphBuilder('f_');
  const types = new Map<string, { dims: Shape; type: number }>();
  const records = new Map<string, LayerRecord>();
  const saved = new Set<string>();
  const save = (v: Val): string => {
    saved.add(v.name);
    types.set(v.name, { dims: v.shape, type: FLOAT });
    return v.name;
  };
  const layers: ConvBNSpec[] = [];
  const eps = f.scalar(BN_EPSILON);

  const forwardLayer = (layer: ConvBNSpec, x: Val): Val => {
    layers.push(layer);
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const P: Val = layer.avgPoolFirst
      ? { name: f.op('AveragePool', [x.name], [{ name: 'kernel_shape', ints: [2, 2] }, { name: 'strides', ints: [2, 2] }, { name: 'ceil_mode', i: 1 }, { name: 'count_include_pad', i: 0 }]), shape: [n, c, Math.ceil(h / 2), Math.ceil(w / 2)] }
      : x;
    const k = layer.kernel;
    const s = layer.stride;
    const p = (k - 1) >> 1;
    const O = layer.outChannels;
    const ho = Math.floor((P.shape[2]! + 2 * p - k) / s) + 1;
    const wo = Math.floor((P.shape[3]! + 2 * p - k) / s) + 1;
    const y = f.op('Conv', [P.name, `${layer.key}.w`], [{ name: 'kernel_shape', ints: [k, k] }, { name: 'strides', ints: [s, s] }, { name: 'pads', ints: [p, p, p, p] }]);
    const mean = f.op('ReduceMean', [y], [{ name: 'axes', ints: SPATIAL_AXES }, { name: 'keepdims', i: 1 }]);
    const d = f.op('Sub', [y, mean]);
    const variance = f.op('ReduceMean', [f.op('Mul', [d, d])], [{ name: 'axes', ints: SPATIAL_AXES }, { name: 'keepdims', i: 1 }]);
    const r = f.op('Reciprocal', [f.op('Sqrt', [f.op('Add', [variance, eps])])]);
    const xhat = f.op('Mul', [d, r]);
    const shape4 = f.ints([1, O, 1, 1]);
    const z = f.op('Add', [f.op('Mul', [xhat, f.op('Reshape', [`${layer.key}.g`, shape4])]), f.op('Reshape', [`${layer.key}.b`, shape4])]);
    const out: Val = { name: layer.act ? f.op('Relu', [z]) : z, shape: [n, O, ho, wo] };
    f.op('Reshape', [mean, f.ints([O])], [], `${layer.key}.mean`);
    f.op('Reshape', [variance, f.ints([O])], [], `${layer.key}.var`);
    save(P);
    save({ name: xhat, shape: out.shape });
    save({ name: r, shape: [1, O, 1, 1] });
    if (layer.act) save(out);
    records.set(layer.key, { layer, input: x, convInput: P, xhat, r, out });
    return out;
  };

  const units = unitsFrom(arch, from);
  const unitOut: Val[] = [];
  const unitIn: Val[] = [];
  let maxPool: { out: Val; indices: string; input: Val } | undefined;
  let x: Val = { name: f.op('Transpose', ['x'], [{ name: 'perm', ints: [0, 3, 1, 2] }]), shape: [N, C0, H0, W0] };
  for (const u of units) {
    unitIn.push(x);
    if (u.kind === 'stem') {
      for (const l of u.layers) x = forwardLayer(l, x);
      const [n, c, h, w] = x.shape as [number, number, number, number];
      const mp = f.fresh('maxpool');
      const idx = f.fresh('maxpool_indices');
      f.nodes.push(node('MaxPool', [x.name], [mp, idx], [{ name: 'kernel_shape', ints: [3, 3] }, { name: 'strides', ints: [2, 2] }, { name: 'pads', ints: [1, 1, 1, 1] }]));
      const out: Val = { name: mp, shape: [n, c, Math.floor((h - 1) / 2) + 1, Math.floor((w - 1) / 2) + 1] };
      saved.add(idx);
      types.set(idx, { dims: out.shape, type: INT64 });
      maxPool = { out, indices: idx, input: x };
      x = out;
    } else {
      let y = x;
      for (const l of u.branch) y = forwardLayer(l, y);
      const short = u.short ? forwardLayer(u.short, x) : x;
      x = { name: f.op('Relu', [f.op('Add', [short.name, y.name])]), shape: y.shape };
      save(x);
    }
    unitOut.push(x);
  }
  const [, F, h, w] = x.shape as [number, number, number, number];
  f.op('Transpose', [x.name], [{ name: 'perm', ints: [0, 2, 3, 1] }], 'map');

  const oihw = (l: ConvBNSpec) => valueInfo(`${l.key}.w`, [l.outChannels, l.inChannels, l.kernel, l.kernel]);
  const paramInputs = (): Pb[] => layers.flatMap((l) => [oihw(l), valueInfo(`${l.key}.g`, [l.outChannels]), valueInfo(`${l.key}.b`, [l.outChannels])]);
  const savedList = [...saved];
  const savedInfo = savedList.map((s) => valueInfo(s, types.get(s)!.dims, types.get(s)!.type));
  const forward = f.finish(`pptsn_resnet${arch.depth}_vd_train_forward`, [valueInfo('x', [N, H0, W0, C0]), ...paramInputs()], [
    valueInfo('map', [N, h, w, F]),
    ...layers.flatMap((l) => [valueInfo(`${l.key}.mean`, [l.outChannels]), valueInfo(`${l.key}.var`, [l.outChannels])]),
    ...savedInfo,
  ]);

  // Backward, unit by unit from the last, from the gradient `start` of the last unit's output (NCHW); the gradient
  // of the graph input `x` is never computed.
  const buildBackward = (start: (b: GraphBuilder) => string) => {
  const b = new GraphBuilder('b_');
  // The backward graph's filter inputs: HWIO for the stride-1 input gradients (the rotated filter is a cheap view
  // of it), OIHW for the strided ones (ConvTranspose takes the conv's own filter).
  const hwioInputs = new Set<ConvBNSpec>();
  const oihwInputs = new Set<ConvBNSpec>();
  const zero = b.scalar(0);
  const masked = (d: string, by: string) => b.op('Where', [b.op('Greater', [by, zero]), d, zero]);
  const backwardLayer = (layer: ConvBNSpec, dOut: string, needInput: boolean): string | null => {
    const rec = records.get(layer.key)!;
    const [n, O, ho, wo] = rec.out.shape as [number, number, number, number];
    const [, I, hp, wp] = rec.convInput.shape as [number, number, number, number];
    const k = layer.kernel;
    const s = layer.stride;
    const p = (k - 1) >> 1;
    const m = n * ho * wo;
    const dz = layer.act ? masked(dOut, rec.out.name) : dOut;
    const dzx = b.op('Mul', [dz, rec.xhat]);
    // The sums once, over the activations; dβ/m and dγ/m from them on [1, O, 1, 1] (not two more passes).
    const axes = b.ints(SPATIAL_AXES);
    const shape4 = b.ints([1, O, 1, 1]);
    const sumDz = b.op('ReduceSum', [dz, axes], [{ name: 'keepdims', i: 1 }]);
    const sumDzx = b.op('ReduceSum', [dzx, axes], [{ name: 'keepdims', i: 1 }]);
    b.op('Reshape', [sumDz, b.ints([O])], [], `${layer.key}.db`);
    b.op('Reshape', [sumDzx, b.ints([O])], [], `${layer.key}.dg`);
    const invM = b.scalar(1 / m);
    const gr = b.op('Mul', [b.op('Reshape', [`${layer.key}.g`, shape4]), rec.r]);
    const dy = b.op('Mul', [b.op('Sub', [b.op('Sub', [dz, b.op('Mul', [sumDz, invM])]), b.op('Mul', [rec.xhat, b.op('Mul', [sumDzx, invM])])]), gr]);
    // Filter gradient: per tap (kh, kw) the padded input's strided window as [I, M], times dy as [M, O]; the K²
    // taps stacked into one batched MatMul, [K², I, O] = HWIO.
    const dym = b.op('Reshape', [b.op('Transpose', [dy], [{ name: 'perm', ints: [0, 2, 3, 1] }]), b.ints([m, O])]);
    const padded = p > 0 ? b.op('Pad', [rec.convInput.name, b.ints([0, 0, p, p, 0, 0, p, p])]) : rec.convInput.name;
    const pt = b.op('Transpose', [padded], [{ name: 'perm', ints: [1, 0, 2, 3] }]);
    let patches: string;
    if (k === 1 && s === 1) patches = b.op('Reshape', [pt, b.ints([1, I, m])]);
    else {
      const taps: string[] = [];
      for (let kh = 0; kh < k; kh++) {
        for (let kw = 0; kw < k; kw++) {
          const tap = b.op('Slice', [pt, b.ints([kh, kw]), b.ints([kh + s * (ho - 1) + 1, kw + s * (wo - 1) + 1]), b.ints([2, 3]), b.ints([s, s])]);
          taps.push(b.op('Reshape', [tap, b.ints([1, I, m])]));
        }
      }
      patches = b.op('Concat', taps, [{ name: 'axis', i: 0 }]);
    }
    b.op('Reshape', [b.op('MatMul', [patches, dym]), b.ints([k, k, I, O])], [], `${layer.key}.dw`);
    if (!needInput) return null;
    let dp: string;
    if (s === 1) {
      // Input gradient of a stride-1 conv: a convolution of dy with the filter rotated by 180° and I↔O swapped, i.e.
      // `[I, O, k, k]` = the HWIO filter transposed (for 1×1 a mere reshape) with both spatial axes reversed, padded
      // k − 1 − p. onnxruntime runs Conv through its blocked NCHWc kernels, ConvTranspose through GEMM + col2im.
      hwioInputs.add(layer);
      const rotated = k === 1
        ? b.op('Reshape', [`${layer.key}.whwio`, b.ints([I, O, 1, 1])])
        : b.op('Slice', [b.op('Transpose', [`${layer.key}.whwio`], [{ name: 'perm', ints: [2, 3, 0, 1] }]), b.ints([-1, -1]), b.ints([-k - 1, -k - 1]), b.ints([2, 3]), b.ints([-1, -1])]);
      const q = k - 1 - p;
      dp = b.op('Conv', [dy, rotated], [{ name: 'kernel_shape', ints: [k, k] }, { name: 'pads', ints: [q, q, q, q] }]);
    } else {
      // Strided: the transposed convolution with the same OIHW filter; output padding restores the rows a strided
      // conv's floor dropped.
      oihwInputs.add(layer);
      const oph = hp - (s * (ho - 1) + k - 2 * p);
      const opw = wp - (s * (wo - 1) + k - 2 * p);
      dp = b.op('ConvTranspose', [dy, `${layer.key}.w`], [
        { name: 'kernel_shape', ints: [k, k] }, { name: 'strides', ints: [s, s] }, { name: 'pads', ints: [p, p, p, p] },
        ...(oph || opw ? [{ name: 'output_padding', ints: [oph, opw] }] : []),
      ]);
    }
    return layer.avgPoolFirst ? avgPoolGrad(b, dp, rec.convInput.shape, rec.input.shape) : dp;
  };

  let d: string | null = start(b);
  for (let i = units.length - 1; i >= 0 && d; i--) {
    const u = units[i]!;
    const needInput = i > 0;
    if (u.kind === 'block') {
      const ds = masked(d, unitOut[i]!.name);
      let db: string | null = ds;
      for (let j = u.branch.length - 1; j >= 0 && db; j--) db = backwardLayer(u.branch[j]!, db, j > 0 || needInput);
      const dshort = u.short ? backwardLayer(u.short, ds, needInput) : needInput ? ds : null;
      d = needInput ? b.op('Add', [db!, dshort!]) : null;
    } else {
      const mp = maxPool!;
      const [n, c, hh, ww] = mp.input.shape as [number, number, number, number];
      const scattered = b.op('ScatterElements', [
        b.op('ConstantOfShape', [b.ints([n * c * hh * ww])]),
        b.op('Reshape', [mp.indices, b.ints([-1])]),
        b.op('Reshape', [d, b.ints([-1])]),
      ], [{ name: 'axis', i: 0 }, { name: 'reduction', s: 'add' }]);
      let ds: string | null = b.op('Reshape', [scattered, b.ints([n, c, hh, ww])]);
      for (let j = u.layers.length - 1; j >= 0 && ds; j--) ds = backwardLayer(u.layers[j]!, ds, j > 0 || needInput);
      d = ds;
    }
  }
  return { b, hwioInputs, oihwInputs };
  };
  const { b, hwioInputs, oihwInputs } = buildBackward((g) => g.op('Transpose', ['dmap'], [{ name: 'perm', ints: [0, 3, 1, 2] }]));
  const backwardParams = layers.flatMap((l) => [
    valueInfo(`${l.key}.g`, [l.outChannels]),
    ...(hwioInputs.has(l) ? [valueInfo(`${l.key}.whwio`, [l.kernel, l.kernel, l.inChannels, l.outChannels])] : []),
    ...(oihwInputs.has(l) ? [oihw(l)] : []),
  ]);
  const backward = b.finish(`pptsn_resnet${arch.depth}_vd_train_backward`, [valueInfo('dmap', [N, h, w, F]), ...savedInfo, ...backwardParams],
    layers.flatMap((l) => [valueInfo(`${l.key}.dw`, [l.kernel, l.kernel, l.inChannels, l.outChannels]), valueInfo(`${l.key}.dg`, [l.outChannels]), valueInfo(`${l.key}.db`, [l.outChannels])]));
  const gradOutputs = layers.flatMap((l) => [valueInfo(`${l.key}.dw`, [l.kernel, l.kernel, l.inChannels, l.outChannels]), valueInfo(`${l.key}.dg`, [l.outChannels]), valueInfo(`${l.key}.db`, [l.outChannels])]);
  const statOutputs = layers.flatMap((l) => [valueInfo(`${l.key}.mean`, [l.outChannels]), valueInfo(`${l.key}.var`, [l.outChannels])]);
  let step: Uint8Array | undefined;
  if (opts.head) {
    // One graph for the whole pass: forward, the head and its cross entropy, backward; nothing crosses to JS between.
    const hb = new GraphBuilder('h_');
    const head = crossEntropyHead(hb, x, opts.head);
    const whole = buildBackward(() => head.dmap);
    step = f.finish(`pptsn_resnet${arch.depth}_vd_train_step`, [valueInfo('x', [N, H0, W0, C0]), ...paramInputs(), ...whole.hwioInputs.size ? [...whole.hwioInputs].map((l) => valueInfo(`${l.key}.whwio`, [l.kernel, l.kernel, l.inChannels, l.outChannels])) : [], ...head.inputs], [
      ...head.outputs, ...statOutputs, ...gradOutputs,
    ], [hb, whole.b]);
  }
  return { forward, backward, ...(step ? { step } : {}), layers, saved: savedList, mapShape: [N, h, w, F] };
}

/**
 * The gradient of the vd AvgPool2D(2, 2, ceil_mode, exclusive) from `[n, c, ⌈H/2⌉, ⌈W/2⌉]` back to `[n, c, H, W]`:
 * each output's gradient divided by its window's in-bounds count, repeated over its 2×2 window, the padding rows
 * of an odd size cut off.
 */
function avgPoolGrad(b: GraphBuilder, dp: string, pooled: Shape, input: Shape): string {
  const [n, c, ho, wo] = pooled as [number, number, number, number];
  const [, , h, w] = input as [number, number, number, number];
  const inv = new Float32Array(ho * wo);
  for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) inv[i * wo + j] = 1 / ((Math.min(2 * i + 2, h) - 2 * i) * (Math.min(2 * j + 2, w) - 2 * j));
  const scaled = b.op('Mul', [dp, b.floats([1, 1, ho, wo], inv)]);
  const spread = b.op('Expand', [b.op('Reshape', [scaled, b.ints([n, c, ho, 1, wo, 1])]), b.ints([n, c, ho, 2, wo, 2])]);
  const full = b.op('Reshape', [spread, b.ints([n, c, 2 * ho, 2 * wo])]);
  return 2 * ho === h && 2 * wo === w ? full : b.op('Slice', [full, b.ints([0, 0]), b.ints([h, w]), b.ints([2, 3])]);
}
