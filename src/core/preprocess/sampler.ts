/**
 * Which frames a TSN clip looks at: PaddleVideo's `Sampler` (paddlevideo/loader/pipelines/sample.py) as pure
 * functions of the decoded frame count L and the segment count T (docs/contract.md §4). Indices are 0-based over the
 * decoded frames (L = frames presented after the edit list, see framePlan.ts). No I/O, no tensors: these are the
 * easiest pieces to check against PaddleVideo's formulas, so they are kept free of everything else.
 */
import { PPTSNError } from '../errors.js';
import { randint, type Rng } from '../random.js';

/** How frames are picked: PaddleVideo's test/valid (`valid_mode`, `select_left`), train, or `linspace_sample`. */
export type SamplingMode = 'valid' | 'train' | 'linspace';

function checkArgs(frameCount: number, segments: number): void {
  if (!Number.isInteger(frameCount) || frameCount < 1) {
    throw new PPTSNError('video-too-short', `The video has no decodable frames (frame count ${frameCount}).`);
  }
  if (!Number.isInteger(segments) || segments < 1) {
    throw new PPTSNError('invalid-argument', `segments must be a positive integer, got ${segments}.`);
  }
}

/**
 * Test/valid sampling (`valid_mode=True, select_left=True`): the middle frame of each of T equal segments.
 * If L > T: avg = L / T (float) and index_x = ⌊avg/2 + avg·x⌋; otherwise every index is 0 (PaddleVideo repeats
 * frame 0 rather than cycling, so a 5-frame video with T = 8 gives eight zeros).
 * Example: L = 131, T = 25 → 2, 7, 13, 18, 23, 28, 34, …, 123, 128.
 */
export function sampleValidIndices(frameCount: number, segments: number): number[] {
  checkArgs(frameCount, segments);
  const out = new Array<number>(segments).fill(0);
  if (frameCount > segments) {
    // Same double arithmetic as Python's `int(average_dur_float / 2.0 + average_dur_float * x)`.
    const avg = frameCount / segments;
    for (let x = 0; x < segments; x++) out[x] = Math.floor(avg / 2.0 + avg * x) % frameCount;
  }
  return out;
}

/**
 * Train sampling (`valid_mode=False, select_left=True`): if ⌊L/T⌋ > 0, x·⌊L/T⌋ + randint(⌊L/T⌋);
 * elif L > T (cannot happen together with ⌊L/T⌋ = 0, kept for fidelity): sorted randint(L, size T); else zeros.
 */
export function sampleTrainIndices(frameCount: number, segments: number, rng: Rng = Math.random): number[] {
  checkArgs(frameCount, segments);
  const averageDur = Math.floor(frameCount / segments);
  if (averageDur > 0) {
    const out: number[] = [];
    for (let x = 0; x < segments; x++) out.push((x * averageDur + randint(rng, averageDur)) % frameCount);
    return out;
  }
  if (frameCount > segments) {
    const out: number[] = [];
    for (let x = 0; x < segments; x++) out.push(randint(rng, frameCount));
    return out.sort((a, b) => a - b);
  }
  return new Array<number>(segments).fill(0);
}

/**
 * `linspace_sample=True`: ⌊linspace(0, L−1, T)⌋ (numpy's linspace, then `astype(int64)` truncation).
 * numpy computes linspace as start + k·step with step = (stop − start)/(num − 1) and sets the last element to
 * `stop` exactly; T = 1 gives [0].
 */
export function sampleLinspaceIndices(frameCount: number, segments: number): number[] {
  checkArgs(frameCount, segments);
  if (segments === 1) return [0];
  const stop = frameCount - 1;
  const step = stop / (segments - 1);
  const out: number[] = [];
  for (let k = 0; k < segments; k++) {
    const v = k === segments - 1 ? stop : k * step;
    out.push(Math.min(stop, Math.max(0, Math.trunc(v))));
  }
  return out;
}

/** Dispatches on the mode; `rng` is used only by `train`. */
export function sampleIndices(mode: SamplingMode, frameCount: number, segments: number, rng: Rng = Math.random): number[] {
  switch (mode) {
    case 'valid':
      return sampleValidIndices(frameCount, segments);
    case 'train':
      return sampleTrainIndices(frameCount, segments, rng);
    case 'linspace':
      return sampleLinspaceIndices(frameCount, segments);
    default:
      throw new PPTSNError('invalid-argument', `Unknown sampling mode ${String(mode)} (expected valid, train or linspace).`);
  }
}
