/**
 * The gradients of the backbone's two poolings on tfjs-backend-wasm by our own WebAssembly SIMD kernels, instead of
 * tfjs's scalar MaxPoolGrad / AvgPoolGrad (one element at a time, with per-element window arithmetic):
 *
 * - `PPTSNMaxPoolGrad`, the stem's MaxPool2D(3, stride 2, padding 1, floor mode) (`stemMaxPool`, resnetVd.ts):
 *   each dy goes to the position of its window's maximum; overlapping windows add. Per 4 channels (one f32x4), the
 *   window's in-bounds pixels are scanned row by row with `x >= best` from best = −∞, so on equal values the last
 *   pixel of the scan wins and padding never does: tfjs-backend-wasm's rule (MaxPoolGrad.cc: `x_val >= data.first`,
 *   row-major over the window). The winners are then added into dx (zeroed) window by window in dy's row-major
 *   order, the order in which tfjs's NDHWCPool3DGradImpl sums the windows over a pixel, so dx is bit for bit tfjs's.
 *   One difference, on purpose: tfjs starts its scan from FLT_MIN (`numeric_limits<float>::min()`, the smallest
 *   positive normal float) and position 0, so a window whose values are all below 1.2e−38 (all ≤ 0) loses its
 *   gradient there; ours gives it to its last maximum. The stem pools a ReLU's output, where such windows are all
 *   zero and the BN + ReLU backward (y > 0) masks those pixels anyway: the training gradients are unchanged.
 * - `PPTSNAvgPoolGrad`, the vd shortcut's AvgPool2D(2, stride 2, ceil mode, exclusive) (`vdAvgPoolGrad`): each
 *   dy × 1/count written to the count in-bounds pixels of its window (count 4, or 2 or 1 at an odd last row or
 *   column). Bit for bit today's path, (dy · 4/count) · 1/4 + 0 (powers of two), short of overflow above 8.5e37.
 *
 * Shapes NHWC, C a multiple of 4 (every ResNet pooling; else the tfjs path runs). Why: a depth-50 `full` step at
 * 224 px (4 images) spent ~85 ms in MaxPoolGrad and ~63 ms in AvgPoolGrad (issue 23). Written at run time by
 * wasmAsm.ts, bound to tfjs's heap (shared in the threaded build), as transposeWasm.ts; single-threaded (bound by
 * memory). Each module handles runs of equal windows (r rows × c columns in bounds, unrolled); JS walks the rows.
 * Paddle: `Pool2dGradFunctor` / `MaxPool2dGradFunctor` (paddle/phi/kernels/funcs/pooling.cc).
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset } from './filterGradWasm.js';
import { HeapKernel, type HeapKernelFunc } from './heapKernel.js';
import { Code, I32, V128, kernelCache, moduleBytes } from './wasmAsm.js';

export const MAX_POOL_GRAD_KERNEL = 'PPTSNMaxPoolGrad';
export const AVG_POOL_GRAD_KERNEL = 'PPTSNAvgPoolGrad';

/** `count` windows of r × c pixels, stride 2: x, dx at the first window's top-left pixel, dy at its gradient. */
type MaxWindows = (x: number, dx: number, dy: number, count: number, rowBytes: number, cBytes: number) => void;
/** `count` windows of r × c pixels, stride 2: dx at the first window's top-left pixel ← dy · scale (f32 bits). */
type AvgWindows = (dy: number, dx: number, count: number, scaleBits: number, rowBytes: number, cBytes: number) => void;

/** Byte offsets of a window's pixels from its top-left one, row-major: r·rowBytes + c·cBytes in locals `first`…. */
function pixelOffsets(code: Code, rows: number, cols: number, rowBytes: number, cBytes: number, first: number): number[] {
  const locals: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const l = first + locals.length;
      code.i32(0);
      for (let i = 0; i < r; i++) code.get(rowBytes).add();
      for (let i = 0; i < c; i++) code.get(cBytes).add();
      code.set(l);
      locals.push(l);
    }
  }
  return locals;
}

function maxModule(rows: number, cols: number, shared: boolean): Uint8Array<ArrayBuffer> {
  const [x, dx, dy, count, rowBytes, cBytes] = [0, 1, 2, 3, 4, 5];
  const [k, xk, dk] = [6, 7, 8];
  const n = rows * cols;
  const [best, idx, v, g, d] = [9 + n, 10 + n, 11 + n, 12 + n, 13 + n];
  const code = new Code();
  const off = pixelOffsets(code, rows, cols, rowBytes, cBytes, 9);
  code.loop(); // windows
  code.i32(0).set(k);
  code.loop(); // channel blocks of 4
  code.get(x).get(k).add().set(xk);
  // The scan: lanes where x >= best take x and this pixel's index (ties: the later pixel, as tfjs-backend-wasm).
  code.get(xk).v128Load().set(best).i32(0).i32x4Splat().set(idx);
  for (let p = 1; p < n; p++) {
    code.get(xk).get(off[p]!).add().v128Load().set(v);
    code.get(v).get(best).f32x4Ge().set(g);
    code.get(v).get(best).get(g).v128Bitselect().set(best);
    code.i32(p).i32x4Splat().get(idx).get(g).v128Bitselect().set(idx);
  }
  // The scatter: dy added to each pixel in the lanes it won (+0 elsewhere: an exact no-op on a sum from +0).
  code.get(dy).get(k).add().v128Load().set(d);
  code.get(dx).get(k).add().set(dk);
  for (let p = 0; p < n; p++) {
    code.get(dk).get(off[p]!).add();
    code.get(dk).get(off[p]!).add().v128Load();
    code.get(d).get(idx).i32(p).i32x4Splat().i32x4Eq().v128And().f32x4Add().v128Store();
  }
  code.inc(k, 16);
  code.get(k).get(cBytes).ltU().brIf(0).end();
  code.get(cBytes).get(cBytes).add().set(k); // the next window, two pixels on
  code.inc(x, { local: k }).inc(dx, { local: k }).inc(dy, { local: cBytes });
  code.get(count).i32(1).sub().tee(count).i32(0).ne().brIf(0).end();
  return moduleBytes({ name: 'max', params: 6, locals: [{ count: 3 + n, type: I32 }, { count: 5, type: V128 }], body: code }, shared);
}

function avgModule(rows: number, cols: number, shared: boolean): Uint8Array<ArrayBuffer> {
  const [dy, dx, count, scaleBits, rowBytes, cBytes] = [0, 1, 2, 3, 4, 5];
  const k = 6;
  const n = rows * cols;
  const [scale, zero, v] = [7 + n, 8 + n, 9 + n];
  const code = new Code();
  const off = pixelOffsets(code, rows, cols, rowBytes, cBytes, 7);
  code.get(scaleBits).f32ReinterpretI32().f32x4Splat().set(scale);
  code.i32(0).f32ReinterpretI32().f32x4Splat().set(zero);
  code.loop(); // windows
  code.i32(0).set(k);
  code.loop(); // channel blocks of 4
  // dy·scale + 0: tfjs's AvgPoolGrad sums from +0, so a −0 product leaves it as +0.
  code.get(dy).get(k).add().v128Load().get(scale).f32x4Mul().get(zero).f32x4Add().set(v);
  for (let p = 0; p < n; p++) code.get(dx).get(k).add().get(off[p]!).add().get(v).v128Store();
  code.inc(k, 16);
  code.get(k).get(cBytes).ltU().brIf(0).end();
  code.get(cBytes).get(cBytes).add().set(k);
  code.inc(dx, { local: k }).inc(dy, { local: cBytes });
  code.get(count).i32(1).sub().tee(count).i32(0).ne().brIf(0).end();
  return moduleBytes({ name: 'avg', params: 6, locals: [{ count: 1 + n, type: I32 }, { count: 3, type: V128 }], body: code }, shared);
}

interface Windows {
  /** By (rows − 1)·3 + (cols − 1), rows and cols 1–3. */
  max: MaxWindows[];
  /** By (rows − 1)·2 + (cols − 1), rows and cols 1–2. */
  avg: AvgWindows[];
}

const SIZES3 = [1, 2, 3].flatMap((r) => [1, 2, 3].map((c) => [r, c] as const));
const SIZES2 = [1, 2].flatMap((r) => [1, 2].map((c) => [r, c] as const));

const windowsFor = kernelCache<'pool', Windows>(
  (_, shared) => [
    ...SIZES3.map(([r, c]) => ({ bytes: maxModule(r, c, shared), name: 'max' })),
    ...SIZES2.map(([r, c]) => ({ bytes: avgModule(r, c, shared), name: 'avg' })),
  ],
  (fns) => ({ max: fns.slice(0, 9) as MaxWindows[], avg: fns.slice(9) as AvgWindows[] }),
);

const maxKernel = new HeapKernel<'pool', Windows>(MAX_POOL_GRAD_KERNEL, windowsFor, (args) => maxKernelFunc(args));
const avgKernel = new HeapKernel<'pool', Windows>(AVG_POOL_GRAD_KERNEL, windowsFor, (args) => avgKernelFunc(args));

/** Turns both kernels off (or on again) for this JS realm: tfjs's pooling gradients then run. The tests' A/B. */
export function setFastPoolGrad(on: boolean): void {
  maxKernel.set(on);
  avgKernel.set(on);
}

/** Whether the pooling-gradient kernels run for a float32 tensor of C channels (wasm, SIMD, a reachable heap). */
export function useFastPoolGrad(C: number): boolean {
  return C % 4 === 0 && C > 0 && maxKernel.usable('pool');
}

/** Runs of consecutive windows along one axis with the same in-bounds extent: [first window, count, start, extent]. */
function runs(outSize: number, inSize: number, pad: number, kernel: number): Array<[number, number, number, number]> {
  const out: Array<[number, number, number, number]> = [];
  for (let j = 0; j < outSize; j++) {
    const start = Math.max(2 * j - pad, 0);
    const extent = Math.min(2 * j - pad + kernel, inSize) - start;
    const last = out[out.length - 1];
    if (last && last[3] === extent && last[2] + 2 * last[1] === start) last[1]++;
    else out.push([j, 1, start, extent]);
  }
  return out;
}

function maxKernelFunc({ inputs, backend }: Parameters<HeapKernelFunc>[0]): tf.TensorInfo {
  const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const { memory, fns } = maxKernel.bound('pool');
  const [N, H, W, C] = x.shape as [number, number, number, number];
  const [, Ho, Wo] = dy.shape as [number, number, number, number];
  const dx = backend.makeOutput(x.shape, 'float32');
  if (N * H * W === 0) return dx;
  const [px, pdx, pdy] = [x, dx, dy].map(heapOffset) as [number, number, number];
  new Float32Array(memory.buffer, pdx, N * H * W * C).fill(0);
  const cB = 4 * C;
  const colRuns = runs(Wo, W, 1, 3);
  for (let b = 0; b < N; b++) {
    for (let i = 0; i < Ho; i++) {
      const r0 = Math.max(2 * i - 1, 0);
      const nr = Math.min(2 * i + 2, H) - r0;
      for (const [j, cnt, c0, nc] of colRuns) {
        const at = ((b * H + r0) * W + c0) * cB;
        fns.max[(nr - 1) * 3 + nc - 1]!(px + at, pdx + at, pdy + ((b * Ho + i) * Wo + j) * cB, cnt, W * cB, cB);
      }
    }
  }
  return dx;
}

function avgKernelFunc({ inputs, backend, attrs }: Parameters<HeapKernelFunc>[0]): tf.TensorInfo {
  const { dy } = inputs as { dy: tf.TensorInfo };
  const { h: H, w: W } = attrs as unknown as { h: number; w: number };
  const { fns } = avgKernel.bound('pool');
  const [N, Ho, Wo, C] = dy.shape as [number, number, number, number];
  const dx = backend.makeOutput([N, H, W, C], 'float32');
  if (N * H * W === 0) return dx;
  const [pdx, pdy] = [dx, dy].map(heapOffset) as [number, number];
  const cB = 4 * C;
  const scale = new Float32Array(1);
  const bits = new Int32Array(scale.buffer);
  const colRuns = runs(Wo, W, 0, 2);
  for (let b = 0; b < N; b++) {
    for (let i = 0; i < Ho; i++) {
      const nr = Math.min(2 * i + 2, H) - 2 * i;
      for (const [j, cnt, c0, nc] of colRuns) {
        scale[0] = 1 / (nr * nc);
        fns.avg[(nr - 1) * 2 + nc - 1]!(pdy + ((b * Ho + i) * Wo + j) * cB, pdx + ((b * H + 2 * i) * W + c0) * cB, cnt, bits[0]!, W * cB, cB);
      }
    }
  }
  return dx;
}

/**
 * dx `[N, H, W, C]` of the stem's MaxPool2D(3, 2, 1) at `x` `[N, H, W, C]` for dy `[N, ⌊(H−1)/2⌋+1, ⌊(W−1)/2⌋+1, C]`
 * (a new tensor, the caller's); the caller checks {@link useFastPoolGrad}.
 */
export function maxPool3s2GradWasm(dy: tf.Tensor4D, x: tf.Tensor4D): tf.Tensor4D {
  return maxKernel.run<tf.Tensor4D>({ dy, x }, {});
}

/**
 * dx `[N, h, w, C]` of the vd AvgPool2D(2, 2, ceil mode, exclusive) for dy `[N, ⌈h/2⌉, ⌈w/2⌉, C]` (a new tensor, the
 * caller's); the caller checks {@link useFastPoolGrad}.
 */
export function vdAvgPoolGradWasm(dy: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  return avgKernel.run<tf.Tensor4D>({ dy }, { h, w });
}
