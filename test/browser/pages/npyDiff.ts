/**
 * A tensor against a reference .npy served at `npyUrl` (PaddleVideo's own pipeline), compared in the page so large
 * TenCrop inputs never cross into the test: the mean and the 99th percentile of |Δ|.
 */
import { decodeNpy } from '../../../src/core/npy.js';

export async function diffAgainstNpy(tensor: { shape: number[]; data: Float32Array }, npyUrl: string): Promise<{ mean: number; p99: number }> {
  const ref = decodeNpy(new Uint8Array(await (await fetch(npyUrl)).arrayBuffer()));
  if (ref.data.length !== tensor.data.length) throw new Error(`shape [${tensor.shape}] vs reference [${ref.shape}]`);
  const diffs = new Float32Array(ref.data.length);
  let sum = 0;
  for (let i = 0; i < diffs.length; i++) sum += diffs[i] = Math.abs(tensor.data[i]! - ref.data[i]!);
  diffs.sort();
  return { mean: sum / diffs.length, p99: diffs[Math.floor(0.99 * (diffs.length - 1))]! };
}
