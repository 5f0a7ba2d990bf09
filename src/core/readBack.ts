/**
 * Reading tensors back to JavaScript without a synchronous read: `dataSync` on WebGPU goes through a canvas and, in
 * Chromium with SwiftShader, loses the device ("A valid external Instance reference no longer exists"); on any GPU
 * it stalls the pipeline. All reads are issued at once, so a checkpoint costs one round trip, not one per tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';

/** Float32 copies of the tensors' values, in order (a copy: the cpu backend's `data()` may share its storage). */
export async function readFloat32(tensors: readonly Tensor[]): Promise<Float32Array[]> {
  const data = await Promise.all(tensors.map((t) => t.data()));
  return data.map((d) => Float32Array.from(d as Float32Array));
}

/** What this file reads of tfjs-backend-wasm's BackendWasm: a float32 view of a tensor's data in its heap. */
interface HeapBackend {
  typedArrayFromHeap(t: { shape: number[]; dtype: string; dataId: object }): Float32Array;
}

/**
 * Copies each float32 tensor's values into its `into` array (`t.size` long, the caller's, reused from step to step):
 * straight from tfjs-backend-wasm's heap there, through `data()` elsewhere. Why: a fresh array as large as ResNet50's
 * res5 filters (60 MB) costs ~20 ms of page faults on first write, every training step (the CLI's onnxruntime pass
 * reads the filters each step: src/node/train/ortPass.ts), where copying into a warm array takes ~3 ms.
 */
export async function readInto(tensors: readonly Tensor[], into: readonly Float32Array[]): Promise<void> {
  const backend = tf.backend() as unknown as Partial<HeapBackend>;
  const onHeap = tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function';
  await Promise.all(
    tensors.map(async (t, i) => {
      if (t.dtype !== 'float32' || t.size !== into[i]!.length) throw new Error(`readInto: a ${t.dtype} tensor of ${t.size} values into ${into[i]!.length}`);
      into[i]!.set(onHeap ? backend.typedArrayFromHeap!(t) : ((await t.data()) as Float32Array));
    }),
  );
}
