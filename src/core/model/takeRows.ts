/**
 * Rows of a matrix picked by index (`x` `[R, L]` → `[rows.length, L]`, `out[j] = x[rows[j]]`) as whole-row copies in
 * tfjs-backend-wasm's heap, `PPTSNTakeRows`: how the input gradient reverses a filter's taps (rot180) and picks a
 * stride phase's taps (convGrad.ts).
 *
 * Why: the alternatives each cost a pass per element or more. wasm's Reverse, Gather and Slice are element loops
 * (~10–14 ns an element: nine tap slices of res5a's filter took 38 ms a step). A product with a one-hot or exchange
 * matrix is exact, but makes XNNPACK pack the whole `[K², I·O]` filter as its right operand (~2.5 ns a weight, 6 ms
 * for a res5 3×3 each time). Off wasm, `tf.gather`. Exact: copies.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmHeap } from './filterGradWasm.js';

export const TAKE_ROWS_KERNEL = 'PPTSNTakeRows';

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

function takeRowsKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  const { rows } = attrs as unknown as { rows: number[] };
  const [R, L] = x.shape as [number, number];
  const bad = rows.find((r) => !Number.isInteger(r) || r < 0 || r >= R);
  if (bad !== undefined) throw new RangeError(`${TAKE_ROWS_KERNEL}: row ${bad} of ${R}`);
  const b = backend as WasmBackendLike;
  const out = b.makeOutput([rows.length, L], 'float32');
  // After makeOutput: a heap that grew has a new buffer.
  const heap = new Float32Array(wasmHeap()!.buffer);
  const src = b.dataIdMap.get(x.dataId)!.memoryOffset >> 2;
  const dst = b.dataIdMap.get(out.dataId)!.memoryOffset >> 2;
  rows.forEach((r, j) => heap.copyWithin(dst + j * L, src + r * L, src + (r + 1) * L));
  return out;
}

/** `x` `[R, L]` float32 → `[rows.length, L]` with row j = `x[rows[j]]`; a new tensor (the caller's), no gradient. */
export function takeRows(x: tf.Tensor2D, rows: number[]): tf.Tensor2D {
  if (x.dtype !== 'float32' || wasmHeap() === undefined) return tf.gather(x, rows);
  if (!tf.getKernel(TAKE_ROWS_KERNEL, 'wasm')) tf.registerKernel({ kernelName: TAKE_ROWS_KERNEL, backendName: 'wasm', kernelFunc: takeRowsKernel as unknown as tf.KernelFunc });
  return tf.engine().runKernel(TAKE_ROWS_KERNEL, { x }, { rows } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}
