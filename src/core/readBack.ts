/**
 * Reading tensors back to JavaScript without a synchronous read: `dataSync` on WebGPU goes through a canvas and, in
 * Chromium with SwiftShader, loses the device ("A valid external Instance reference no longer exists"); on any GPU
 * it stalls the pipeline. All reads are issued at once, so a checkpoint costs one round trip, not one per tensor.
 */
import type { Tensor } from '@tensorflow/tfjs-core';

/** Float32 copies of the tensors' values, in order (a copy: the cpu backend's `data()` may share its storage). */
export async function readFloat32(tensors: readonly Tensor[]): Promise<Float32Array[]> {
  const data = await Promise.all(tensors.map((t) => t.data()));
  return data.map((d) => Float32Array.from(d as Float32Array));
}
