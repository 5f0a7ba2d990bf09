/**
 * The last two axes of a float32 tensor swapped (`[…, R, C]` → `[…, C, R]`) by our own WebAssembly SIMD kernel on
 * tfjs-backend-wasm, `PPTSNTranspose`: 4×4 blocks, four v128 loads, eight lane shuffles, four v128 stores.
 *
 * Why: tfjs-backend-wasm's Transpose is a scalar loop with per-element index arithmetic, ~6–9 ns an element here
 * (a 2048×512 filter: 6–9 ms). A training step transposes every trainable filter at least once (the input gradient
 * runs with Wᵀ, convGrad.ts), and ResNet50's res5 alone holds 15 M weights: 78 ms of the page's 495 ms `last-stage`
 * ×4 step went to Transpose (bench/README.md, issue 23). This kernel moves the same data at ~1 ns an element.
 * Exact: it copies values, it computes nothing. Written at run time by wasmAsm.ts (no binary in the repo), bound to
 * tfjs's heap (shared in the threaded build); single-threaded (a copy is bound by memory, not arithmetic).
 *
 * {@link transposeLast2} falls back to `tf.transpose` off wasm, without SIMD, or where R or C is not a multiple of 4.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset } from './filterGradWasm.js';
import { HeapKernel, type HeapKernelFunc } from './heapKernel.js';
import { Code, I32, V128, kernelCache, moduleBytes } from './wasmAsm.js';

export const TRANSPOSE_KERNEL = 'PPTSNTranspose';

/** (src, dst byte offsets, batches, R, C): R and C multiples of 4, both ≥ 4. */
type Transpose = (src: number, dst: number, batches: number, R: number, C: number) => void;

function transposeModule(shared: boolean): Uint8Array<ArrayBuffer> {
  const [src, dst, batches, R, C] = [0, 1, 2, 3, 4];
  // i32 locals
  const [rowB, colB, r, c, sp, dp, spRow, dpRow, row2, row3, col2, col3] = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
  // v128 locals: four input rows, four half-shuffled
  const [x0, x1, x2, x3, t0, t1, t2, t3] = [17, 18, 19, 20, 21, 22, 23, 24];
  const code = new Code();
  const countDown = (local: number) => code.get(local).i32(1).sub().tee(local).i32(0).ne();
  code.get(C).i32(4).mul().set(rowB); // bytes from one input row to the next
  code.get(R).i32(4).mul().set(colB); // bytes from one output row to the next
  code.get(rowB).get(rowB).add().set(row2).get(row2).get(rowB).add().set(row3);
  code.get(colB).get(colB).add().set(col2).get(col2).get(colB).add().set(col3);
  code.loop(); // batches: each [R, C] block is contiguous in src and in dst
  code.get(src).set(spRow).get(dst).set(dpRow);
  code.get(R).i32(2).shrU().set(r).loop(); // row quads
  code.get(spRow).set(sp).get(dpRow).set(dp);
  code.get(C).i32(2).shrU().set(c).loop(); // column quads: the hot loop
  code.get(sp).v128Load().set(x0);
  code.get(sp).get(rowB).add().v128Load().set(x1);
  code.get(sp).get(row2).add().v128Load().set(x2);
  code.get(sp).get(row3).add().v128Load().set(x3);
  code.get(x0).get(x1).shuffle32([0, 4, 1, 5]).set(t0);
  code.get(x0).get(x1).shuffle32([2, 6, 3, 7]).set(t1);
  code.get(x2).get(x3).shuffle32([0, 4, 1, 5]).set(t2);
  code.get(x2).get(x3).shuffle32([2, 6, 3, 7]).set(t3);
  code.get(dp).get(t0).get(t2).shuffle32([0, 1, 4, 5]).v128Store();
  code.get(dp).get(colB).add().get(t0).get(t2).shuffle32([2, 3, 6, 7]).v128Store();
  code.get(dp).get(col2).add().get(t1).get(t3).shuffle32([0, 1, 4, 5]).v128Store();
  code.get(dp).get(col3).add().get(t1).get(t3).shuffle32([2, 3, 6, 7]).v128Store();
  code.inc(sp, 16);
  code.get(dp).get(col3).add().get(colB).add().set(dp);
  countDown(c).brIf(0).end();
  code.get(spRow).get(row3).add().get(rowB).add().set(spRow);
  code.inc(dpRow, 16);
  countDown(r).brIf(0).end();
  code.get(R).get(C).mul().i32(4).mul().set(rowB); // bytes of one batch (rowB is free again)
  code.get(src).get(rowB).add().set(src);
  code.get(dst).get(rowB).add().set(dst);
  code.get(C).i32(4).mul().set(rowB);
  countDown(batches).brIf(0).end();
  return moduleBytes({ name: 'transpose', params: 5, locals: [{ count: 12, type: I32 }, { count: 8, type: V128 }], body: code }, shared);
}

const kernels = kernelCache<'t', Transpose>((_, shared) => [{ bytes: transposeModule(shared), name: 'transpose' }], ([t]) => t as Transpose);

const kernel = new HeapKernel<'t', Transpose>(TRANSPOSE_KERNEL, kernels, (args) => kernelFunc(args));

/** Turns the kernel off (or on again) for this JS realm: tf.transpose then runs. What the tests' A/B toggles. */
export function setFastTranspose(on: boolean): void {
  kernel.set(on);
}

function kernelFunc({ inputs, backend }: Parameters<HeapKernelFunc>[0]): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  const { fns: transpose } = kernel.bound('t');
  const shape = x.shape;
  const [R, C] = [shape[shape.length - 2]!, shape[shape.length - 1]!];
  const out = backend.makeOutput([...shape.slice(0, -2), C, R], 'float32');
  const batches = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  if (batches > 0) transpose(heapOffset(x), heapOffset(out), batches, R, C);
  return out;
}

/**
 * `x` `[…, R, C]` float32 → `[…, C, R]`: {@link TRANSPOSE_KERNEL} on wasm where R and C are multiples of 4, else
 * `tf.transpose`. A new tensor (the caller's); no gradient (it serves gradients and filters, not the tape).
 */
export function transposeLast2<T extends tf.Tensor>(x: T): T {
  const rank = x.rank;
  if (rank < 2) throw new RangeError(`transposeLast2: rank ${rank} < 2`);
  const [R, C] = [x.shape[rank - 2]!, x.shape[rank - 1]!];
  if (!(x.dtype === 'float32' && R % 4 === 0 && C % 4 === 0 && R > 0 && C > 0 && kernel.usable('t'))) {
    const perm = [...Array(rank).keys()];
    [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
    return tf.transpose(x, perm) as T;
  }
  return kernel.run<T>({ x }, {});
}
