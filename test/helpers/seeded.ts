/**
 * Bit-exact regeneration of the golden seeded weights and inputs (shared fixtures README): mulberry32 streams,
 * weights drawn tensor by tensor in state-dict order, inputs as 4u − 2 in row-major NCHW order.
 */
import { archSpec, paramSpecs, type Depth } from '../../src/core/model/arch.js';
import type { StateDict } from '../../src/core/stateDict.js';


/** u = (r >>> 8) / 2^24 as the fixtures README defines it. */
export function seededUniform(seed: number): () => number {
  let i = 0;
  return () => {
    i++;
    const state = (seed + Math.imul(i, 0x6d2b79f5)) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = (t ^ (t >>> 14)) >>> 0;
    return (r >>> 8) / 16777216;
  };
}

export function seededStateDict(depth: Depth, numClasses: number, seed: number): StateDict {
  const u = seededUniform(seed);
  const sd: StateDict = new Map();
  for (const p of paramSpecs(archSpec(depth, numClasses))) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const fan = p.kind === 'conv' ? p.shape[1]! * p.shape[2]! * p.shape[3]! : 0;
    for (let i = 0; i < n; i++) {
      const x = u();
      switch (p.kind) {
        case 'conv': data[i] = (2 * x - 1) * Math.sqrt(6 / fan); break;
        case 'bn_weight': data[i] = 0.5 + 0.5 * x; break;
        case 'bn_bias': case 'bn_mean': case 'fc_bias': data[i] = 0.2 * x - 0.1; break;
        case 'bn_variance': data[i] = 0.5 + x; break;
        case 'fc_weight': data[i] = (2 * x - 1) * 0.05; break;
      }
    }
    sd.set(p.key, { shape: p.shape, data });
  }
  return sd;
}

export function seededInput(shape: readonly number[], seed: number): Float32Array {
  const u = seededUniform(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 4 * u() - 2;
  return out;
}
