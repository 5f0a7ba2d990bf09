/**
 * onnxruntime-node tensors over tfjs-backend-wasm's heap (issue 23): the CLI trainer's graphs read the parameters
 * from the tfjs variables' own memory and write the filter gradients straight into new tfjs tensors, where copying
 * them each step cost ~20 ms of a ResNet50 `last-stage` step of ~120 (res5's 15.8 M parameters: 63 MB read out of
 * the heap, 63 MB of gradients moved into it).
 *
 * Why this is safe: onnxruntime-node's `run` takes its inputs' and pre-allocated outputs' addresses when the native
 * call starts and runs synchronously on the main thread, so nothing in JavaScript can allocate (and grow the heap)
 * while onnxruntime reads and writes. Between building the views and that call (onnxruntime-common defers it to
 * `setImmediate`) another tfjs allocation could grow the heap: the views' buffer is then detached, the run throws
 * (its size check), and `runOnHeap` runs again on copies. Nothing is written on a failed run.
 *
 * Uses tfjs-backend-wasm's `typedArrayFromHeap` and `makeOutput` (as src/core/model's wasm kernels do); on any other
 * backend `wasmHeap()` is undefined and the caller copies.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { Ort } from '../runtime.js';

/** What this file reads of tfjs-backend-wasm's BackendWasm (not imported: the backend is chosen at run time). */
interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/**
 * The active backend's heap access: tfjs-backend-wasm's, or undefined on another backend, and on a shared (threaded)
 * heap, whose growth does not detach the views the retry below relies on (Node's tfjs-backend-wasm is not threaded).
 */
export function wasmHeap(): HeapBackend | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const b = tf.backend() as unknown as Partial<HeapBackend> & { wasm?: { HEAPU8?: Uint8Array } };
  const usable = typeof b.typedArrayFromHeap === 'function' && typeof b.makeOutput === 'function' && b.wasm?.HEAPU8?.buffer instanceof ArrayBuffer;
  return usable ? (b as HeapBackend) : undefined;
}

/** A float32 tfjs tensor `t` fed to onnxruntime as `dims` (the same values, e.g. an HWIO filter as `[k²·I, O]`). */
export interface HeapInput {
  tensor: tf.Tensor;
  dims: readonly number[];
}

/**
 * Runs `session` on `inputs` (onnxruntime tensors, or tfjs tensors read in place) and returns its outputs, `into`'s
 * names (name → shape) as new float32 tfjs tensors (the caller's) that onnxruntime wrote, the others as onnxruntime
 * gives them. On a backend without a heap (`heap` undefined) the tfjs inputs are read and the outputs copied in.
 */
export async function runOnHeap(
  ort: Ort,
  session: InferenceSession,
  heap: HeapBackend | undefined,
  inputs: Record<string, HeapInput | OrtTensor>,
  into: Record<string, readonly number[]>,
): Promise<{ out: InferenceSession.ReturnType; written: Record<string, tf.Tensor> }> {
  const isHeap = (v: HeapInput | OrtTensor): v is HeapInput => 'tensor' in v;
  if (heap) {
    const written = Object.fromEntries(Object.entries(into).map(([name, shape]) => [name, tf.engine().makeTensorFromTensorInfo(heap.makeOutput([...shape], 'float32'))]));
    // Views made after every allocation above: valid until the heap grows again.
    const view = (t: tf.Tensor, dims: readonly number[]) => new ort.Tensor('float32', heap.typedArrayFromHeap(t), [...dims]);
    const feeds = Object.fromEntries(Object.entries(inputs).map(([name, v]) => [name, isHeap(v) ? view(v.tensor, v.dims) : v]));
    const fetches = Object.fromEntries(session.outputNames.map((name) => [name, written[name] ? view(written[name], into[name]!) : null]));
    try {
      return { out: await session.run(feeds, fetches as InferenceSession.FetchesType), written };
    } catch (e) {
      tf.dispose(Object.values(written));
      // A view made stale before the run started (its buffer detached by the heap's growth): again, on copies.
      const views = [...Object.values(feeds), ...Object.values(fetches)].filter((t) => t !== null);
      if (!views.some((t) => (t.data as Float32Array).buffer.byteLength === 0)) throw e;
    }
  }
  const feeds: Record<string, OrtTensor> = {};
  // `data()` copies out of the wasm heap; the cpu backend's shares its array (onnxruntime only reads it).
  for (const [name, v] of Object.entries(inputs)) feeds[name] = isHeap(v) ? new ort.Tensor('float32', (await v.tensor.data()) as Float32Array, [...v.dims]) : v;
  const out = await session.run(feeds);
  return { out, written: Object.fromEntries(Object.keys(into).map((name) => [name, tf.tensor(out[name]!.data as Float32Array, [...into[name]!])])) };
}
