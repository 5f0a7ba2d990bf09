/**
 * The backward pass of train-mode BatchNorm (+ ReLU) (batchNormTrain.ts) on tfjs-backend-wasm as two passes of our
 * own WebAssembly SIMD kernel, `PPTSNBatchNormGrad`, instead of ~10 tfjs ops (each a single-threaded pass over the
 * activations, with its own allocation). With m = N·H·W values per channel, x̂ `[m, C]` and r = 1/√(σ² + ε) `[1, C]`
 * saved by the forward pass, and g = dy masked by y > 0 when `relu`:
 *
 *   pass 1, per channel:  dβ = Σ g,  dγ = Σ g·x̂          (f32x4 lanes: 4 channels a vector, rows in order)
 *   pass 2, per value:    dx = (g − (dβ/m + x̂·dγ/m))·(γ·r)
 *
 * Shapes: dy, y `[N, H, W, C]` (NHWC, read as `[m, C]`), x̂ `[m, C]`, γ `[C]`, r `[1, C]` → dx `[N, H, W, C]`,
 * dγ `[C]`, dβ `[C]`. C must be a multiple of 4 (every ResNet BN); otherwise the tfjs ops run. Pass 2 is the same
 * float32 operations in the same order as the ops (the per-channel dβ/m, dγ/m, γ·r computed once in JS); the sums
 * of pass 1 add the rows in order where the ops sum by an average pool and a product, so the results agree within
 * float32 rounding, not bit for bit. Why: tfjs-backend-wasm runs its element-wise ops on one thread, and a
 * depth-50 `full` step spent ~0.3 s of 2.8 s in the BN backward's ops (a Chromium profile, issue 23); the kernel
 * takes ~30 ms of such a step, 2.2–4× faster than the ops per layer in Node (bench/README.md). The modules are
 * written at run time by wasmAsm.ts and bound to tfjs's heap, as momentumWasm.ts; single-threaded (too little left
 * to split over the page's helper threads).
 * Paddle: `BatchNormGradKernel` (paddle/phi/kernels/cpu/batch_norm_grad_kernel.cc), with the ReLU of a fused
 * `BatchNorm(act='relu')`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset } from './filterGradWasm.js';
import { channelRows, HeapKernel, type HeapKernelFunc } from './heapKernel.js';
import { Code, I32, V128, forRowBlocks, kernelCache, moduleBytes } from './wasmAsm.js';

export const BATCH_NORM_GRAD_KERNEL = 'PPTSNBatchNormGrad';

export interface BatchNormGradAttrs {
  relu: boolean;
}

/** Pass 1: adds Σ g into sb and Σ g·x̂ into sg (byte offsets, `[C]`, zeroed by the caller) over m rows of cBytes. */
type Sums = (dy: number, xh: number, y: number, sb: number, sg: number, m: number, cBytes: number) => void;
/** Pass 2: dx = (g − (pb + x̂·pc))·pa over m rows, pa/pb/pc the per-channel γ·r, dβ/m, dγ/m. */
type Apply = (dy: number, xh: number, y: number, dx: number, pa: number, pb: number, pc: number, m: number, cBytes: number) => void;

/** Pushes g (one vector of dy, masked by y > 0 when relu) and steps the dy (and y) pointers. */
function loadG(c: Code, relu: boolean, dy: number, y: number, zero: number): void {
  c.get(dy).v128Load();
  if (relu) c.get(y).v128Load().get(zero).f32x4Gt().v128And().inc(y, 16);
  c.inc(dy, 16);
}

function sumsModule(relu: boolean, shared: boolean): Uint8Array<ArrayBuffer> {
  const [dy, xh, y, sb, sg, m, cBytes] = [0, 1, 2, 3, 4, 5, 6];
  const [k, zero, g] = [7, 8, 9];
  const c = new Code();
  c.i32(0).f32ReinterpretI32().f32x4Splat().set(zero);
  forRowBlocks(c, { m, k, cBytes }, [xh], () => {
    loadG(c, relu, dy, y, zero);
    c.set(g);
    c.get(sb).get(k).add().get(sb).get(k).add().v128Load().get(g).f32x4Add().v128Store();
    c.get(sg).get(k).add().get(sg).get(k).add().v128Load().get(g).get(xh).v128Load().f32x4Mul().f32x4Add().v128Store();
  });
  return moduleBytes({ name: 'sums', params: 7, locals: [{ count: 1, type: I32 }, { count: 2, type: V128 }], body: c }, shared);
}

function applyModule(relu: boolean, shared: boolean): Uint8Array<ArrayBuffer> {
  const [dy, xh, y, dx, pa, pb, pc, m, cBytes] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [k, zero] = [9, 10];
  const c = new Code();
  c.i32(0).f32ReinterpretI32().f32x4Splat().set(zero);
  forRowBlocks(c, { m, k, cBytes }, [dx, xh], () => {
    c.get(dx);
    loadG(c, relu, dy, y, zero);
    c.get(pb).get(k).add().v128Load().get(xh).v128Load().get(pc).get(k).add().v128Load().f32x4Mul().f32x4Add();
    c.f32x4Sub().get(pa).get(k).add().v128Load().f32x4Mul().v128Store();
  });
  return moduleBytes({ name: 'apply', params: 9, locals: [{ count: 1, type: I32 }, { count: 1, type: V128 }], body: c }, shared);
}

interface Passes {
  sums: Sums;
  apply: Apply;
}

/** The two passes bound to a heap, with or without the ReLU mask (null: the tfjs ops run). */
const passesFor = kernelCache<boolean, Passes>(
  (relu, shared) => [{ bytes: sumsModule(relu, shared), name: 'sums' }, { bytes: applyModule(relu, shared), name: 'apply' }],
  ([sums, apply]) => ({ sums: sums as Sums, apply: apply as Apply }),
);

const kernel = new HeapKernel<boolean, Passes>(BATCH_NORM_GRAD_KERNEL, passesFor, (args) => kernelFunc(args));

/** Turns the kernel off (or on again) for this JS realm: the tfjs ops then run. What the tests' A/B toggles. */
export const setFusedBatchNormGrad = (on: boolean): void => kernel.set(on);

/** Whether {@link fusedBatchNormGrad} runs on the active backend (wasm, SIMD, a reachable heap) for C channels. */
export const useFusedBatchNormGrad = (C: number, relu: boolean): boolean => kernel.usableForChannels(C, relu);

function kernelFunc({ inputs, backend, attrs }: Parameters<HeapKernelFunc>[0]): tf.TensorInfo[] {
  const { dy, xhat, y, gamma, r } = inputs as Record<'dy' | 'xhat' | 'y' | 'gamma' | 'r', tf.TensorInfo>;
  const { relu } = attrs as unknown as BatchNormGradAttrs;
  const { memory, fns: passes } = kernel.bound(relu);
  const { C, m } = channelRows(dy.shape);
  const b = backend;
  const [dx, dGamma, dBeta, scratch] = [b.makeOutput(dy.shape, 'float32'), b.makeOutput([C], 'float32'), b.makeOutput([C], 'float32'), b.makeOutput([3 * C], 'float32')];
  // Views after every allocation: the heap may have grown (a new buffer).
  const [pdy, pxh, py, pdx, pg, pb, ps, pga, pr] = [dy, xhat, y, dx, dGamma, dBeta, scratch, gamma, r].map(heapOffset) as number[];
  const view = (p: number, n: number) => new Float32Array(memory.buffer, p, n);
  view(pg!, C).fill(0);
  view(pb!, C).fill(0);
  if (m > 0) passes.sums(pdy!, pxh!, py!, pb!, pg!, m, 4 * C);
  // The per-channel factors as the ops compute them: γ·r, dβ/m, dγ/m (float32).
  const [sums, ga, ra, coef] = [view(pb!, C), view(pga!, C), view(pr!, C), view(ps!, 3 * C)];
  const sumG = view(pg!, C);
  for (let j = 0; j < C; j++) {
    coef[j] = ga[j]! * ra[j]!;
    coef[C + j] = sums[j]! / m;
    coef[2 * C + j] = sumG[j]! / m;
  }
  if (m > 0) passes.apply(pdy!, pxh!, py!, pdx!, ps!, ps! + 4 * C, ps! + 8 * C, m, 4 * C);
  b.disposeData(scratch.dataId, true);
  return [dx, dGamma, dBeta];
}

/**
 * dx `[N, H, W, C]`, dγ `[C]`, dβ `[C]` (new tensors, the caller's) by the kernel; the caller checks
 * {@link useFusedBatchNormGrad}. `y` is read only when `relu` (pass any tensor of dy's shape otherwise).
 */
export function fusedBatchNormGrad(dy: tf.Tensor4D, xhat: tf.Tensor2D, y: tf.Tensor4D, gamma: tf.Tensor1D, r: tf.Tensor2D, relu: boolean): [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D] {
  return kernel.run<[tf.Tensor4D, tf.Tensor1D, tf.Tensor1D]>({ dy, xhat, y, gamma, r }, { relu });
}
