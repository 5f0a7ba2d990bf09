/**
 * The forward pass of train-mode BatchNorm (+ ReLU) (batchNormTrain.ts) on tfjs-backend-wasm as three passes of our
 * own WebAssembly SIMD kernel, `PPTSNBatchNormTrain`, instead of ~12 tfjs ops (channel sums by average pool and
 * product, sub, square, rsqrt, FusedBatchNorm, Relu, the x̂ product; each a single-threaded pass over the
 * activations with its own allocation). With x read as `[m, C]` (NHWC, m = N·H·W values per channel):
 *
 *   pass 1, per channel:  μ = Σ x / m                                (f32x4 lanes: 4 channels a vector, rows in order)
 *   pass 2, per channel:  σ² = Σ (x − μ)² / m                        (two-pass, as tf.moments: no cancellation)
 *   in JS, per channel:   r = 1/√(σ² + ε)                            (float32)
 *   pass 3, per value:    x̂ = (x − μ)·r,  y = x̂·γ + β  (max(0, ·) when `relu`)
 *
 * Shapes: x `[N, H, W, C]`, γ, β `[C]` → y `[N, H, W, C]`, x̂ `[m, C]`, μ `[C]`, σ² `[C]` (biased), r `[1, C]`:
 * what the ops path saves for the backward pass (fused, batchNormGradWasm.ts, or ops) and hands back for the
 * running statistics. C must be a multiple of 4 (every BN of ResNet-vd); otherwise the tfjs ops run. The sums of
 * passes 1 and 2 run over chunks of {@link ROWS} rows in float32, the chunks added in float64 in JS, so the
 * statistics are at least as accurate as the ops' (which sum each image in float32 by an average pool); results
 * agree with the ops within float32 rounding, not bit for bit. Why: a Chromium profile of a depth-50 `full` step at
 * 4 images (2.3 s, issue 23) spent 123 ms in FusedBatchNorm and ~250 ms in the BN forward's other ops. Modules
 * written at run time by wasmAsm.ts and bound to tfjs's heap, as batchNormGradWasm.ts; single-threaded.
 * Paddle: `BatchNormKernel` (paddle/phi/kernels/cpu/batch_norm_kernel.cc) in training mode, with the ReLU of a
 * fused `BatchNorm(act='relu')`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset } from './filterGradWasm.js';
import { channelRows, HeapKernel, type HeapKernelFunc } from './heapKernel.js';
import { Code, I32, V128, forRowBlocks, kernelCache, moduleBytes } from './wasmAsm.js';

export const BATCH_NORM_TRAIN_KERNEL = 'PPTSNBatchNormTrain';

export interface BatchNormTrainAttrs {
  epsilon: number;
  relu: boolean;
}

/** What the forward pass gives the backward pass and the running statistics (see the file's docstring). */
export interface BatchNormForward {
  y: tf.Tensor4D;
  xhat: tf.Tensor2D;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  r: tf.Tensor2D;
}

/** Rows a float32 sum of passes 1–2 covers before JS adds it into a float64 total. */
const ROWS = 256;

/** Passes 1–2: adds Σ x (or Σ (x − μ)² when centred) into s (byte offsets, `[C]`) over m ≥ 1 rows of cBytes. */
type Sums = (x: number, mu: number, s: number, m: number, cBytes: number) => void;
/** Pass 3: x̂ and y over m ≥ 1 rows from x, μ, r, γ, β. */
type Normalise = (x: number, mu: number, r: number, gamma: number, beta: number, xh: number, y: number, m: number, cBytes: number) => void;

function sumsModule(centred: boolean, shared: boolean): Uint8Array<ArrayBuffer> {
  const [x, mu, s, m, cBytes, k, d] = [0, 1, 2, 3, 4, 5, 6];
  const c = new Code();
  forRowBlocks(c, { m, k, cBytes }, [x], () => {
    c.get(s).get(k).add().get(s).get(k).add().v128Load().get(x).v128Load();
    if (centred) c.get(mu).get(k).add().v128Load().f32x4Sub().tee(d).get(d).f32x4Mul();
    c.f32x4Add().v128Store();
  });
  return moduleBytes({ name: 'sums', params: 5, locals: [{ count: 1, type: I32 }, { count: 1, type: V128 }], body: c }, shared);
}

function normaliseModule(relu: boolean, shared: boolean): Uint8Array<ArrayBuffer> {
  const [x, mu, r, gamma, beta, xh, y, m, cBytes] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [k, zero, xhat] = [9, 10, 11];
  const c = new Code();
  c.i32(0).f32ReinterpretI32().f32x4Splat().set(zero);
  forRowBlocks(c, { m, k, cBytes }, [x, xh, y], () => {
    c.get(x).v128Load().get(mu).get(k).add().v128Load().f32x4Sub().get(r).get(k).add().v128Load().f32x4Mul().set(xhat);
    c.get(xh).get(xhat).v128Store();
    c.get(y).get(xhat).get(gamma).get(k).add().v128Load().f32x4Mul().get(beta).get(k).add().v128Load().f32x4Add();
    if (relu) c.get(zero).f32x4Max();
    c.v128Store();
  });
  return moduleBytes({ name: 'normalise', params: 9, locals: [{ count: 1, type: I32 }, { count: 2, type: V128 }], body: c }, shared);
}

interface Passes {
  sum: Sums;
  sumSquares: Sums;
  normalise: Normalise;
}

/** The three passes bound to a heap, with or without the ReLU (null: the tfjs ops run). */
const passesFor = kernelCache<boolean, Passes>(
  (relu, shared) => [
    { bytes: sumsModule(false, shared), name: 'sums' },
    { bytes: sumsModule(true, shared), name: 'sums' },
    { bytes: normaliseModule(relu, shared), name: 'normalise' },
  ],
  ([sum, sumSquares, normalise]) => ({ sum: sum as Sums, sumSquares: sumSquares as Sums, normalise: normalise as Normalise }),
);

const kernel = new HeapKernel<boolean, Passes>(BATCH_NORM_TRAIN_KERNEL, passesFor, (args) => kernelFunc(args));

/** Turns the kernel off (or on again) for this JS realm: the tfjs ops then run. What the tests' A/B toggles. */
export const setFusedBatchNormTrain = (on: boolean): void => kernel.set(on);

/** Whether {@link fusedBatchNormTrain} runs on the active backend (wasm, SIMD, a reachable heap) for C channels. */
export const useFusedBatchNormTrain = (C: number, relu: boolean): boolean => kernel.usableForChannels(C, relu);

function kernelFunc({ inputs, backend, attrs }: Parameters<HeapKernelFunc>[0]): tf.TensorInfo[] {
  const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
  const { epsilon, relu } = attrs as unknown as BatchNormTrainAttrs;
  const { memory, fns: passes } = kernel.bound(relu);
  const { C, m } = channelRows(x.shape);
  const b = backend;
  const outs = [b.makeOutput(x.shape, 'float32'), b.makeOutput([m, C], 'float32'), b.makeOutput([C], 'float32'), b.makeOutput([C], 'float32'), b.makeOutput([1, C], 'float32')];
  // Views after every allocation: the heap may have grown (a new buffer).
  const [py, pxh, pmu, pvar, pr, px, pga, pbe] = [...outs, x, gamma, beta].map(heapOffset) as number[];
  const [mean, variance, r] = [pmu, pvar, pr].map((p) => new Float32Array(memory.buffer, p!, C)) as [Float32Array, Float32Array, Float32Array];
  // Σ over chunks of ROWS rows: each chunk's float32 sums in `into` (zeroed), added up in float64, then / m.
  const average = (sums: Sums, into: Float32Array, pInto: number) => {
    const total = new Float64Array(C);
    for (let row = 0; row < m; row += ROWS) {
      into.fill(0);
      sums(px! + 4 * C * row, pmu!, pInto, Math.min(ROWS, m - row), 4 * C);
      for (let j = 0; j < C; j++) total[j]! += into[j]!;
    }
    for (let j = 0; j < C; j++) into[j] = total[j]! / m;
  };
  average(passes.sum, mean, pmu!);
  average(passes.sumSquares, variance, pvar!); // reads μ as float32, as the ops' x − μ
  for (let j = 0; j < C; j++) r[j] = 1 / Math.sqrt(Math.fround(variance[j]! + epsilon));
  if (m > 0) passes.normalise(px!, pmu!, pr!, pga!, pbe!, pxh!, py!, m, 4 * C);
  return outs;
}

/**
 * y, x̂, μ, σ², r (new tensors, the caller's) of train-mode BN (+ ReLU) of `x` `[N, H, W, C]` by the kernel; the
 * caller checks {@link useFusedBatchNormTrain}.
 */
export function fusedBatchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, relu: boolean): BatchNormForward {
  const [y, xhat, mean, variance, r] = kernel.run<tf.Tensor[]>({ x, gamma, beta }, { epsilon, relu });
  return { y: y as tf.Tensor4D, xhat: xhat as tf.Tensor2D, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D, r: r as tf.Tensor2D };
}
