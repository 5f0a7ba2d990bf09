/**
 * The caller's score filter (`classify(…, { scoreThreshold, classes })`) checked and turned into scores.ts'
 * TopKOptions. `classes` may name classes by label or by 0-based index; labels resolve against the model's list,
 * so the page can pass names without knowing the indices. Runs where the labels are (the worker, the CLI).
 */
import { PPTSNError } from '../errors.js';
import type { TopKOptions } from './scores.js';

/** Which classes a caller wants listed in `top`. Plain data: it crosses the worker boundary. */
export interface ScoreFilter {
  /** Leave out classes whose probability is below this (0–1). Default 0. */
  scoreThreshold?: number;
  /** Only these classes are candidates for `top`, by label or 0-based index; the probabilities are unchanged. */
  classes?: readonly (string | number)[];
}

/** Validates `filter` against a model with `labels` (one per class); throws `invalid-argument` naming the culprit. */
export function resolveScoreFilter(filter: ScoreFilter | undefined, labels: readonly string[]): TopKOptions {
  if (!filter) return {};
  const out: { scoreThreshold?: number; allow?: number[] } = {};
  const t = filter.scoreThreshold;
  if (t !== undefined) {
    if (typeof t !== 'number' || !(t >= 0 && t <= 1)) throw new PPTSNError('invalid-argument', `scoreThreshold must be a number between 0 and 1, got ${String(t)}`);
    out.scoreThreshold = t;
  }
  if (filter.classes !== undefined) {
    if (!Array.isArray(filter.classes)) throw new PPTSNError('invalid-argument', 'classes must be an array of class labels or indices');
    const byLabel = new Map(labels.map((l, i) => [l, i] as const));
    out.allow = filter.classes.map((c) => {
      if (typeof c === 'number') {
        if (Number.isInteger(c) && c >= 0 && c < labels.length) return c;
        throw new PPTSNError('invalid-argument', `classes: ${c} is not a class index of this model (0–${labels.length - 1})`);
      }
      const i = byLabel.get(c);
      if (i === undefined) throw new PPTSNError('invalid-argument', `classes: "${c}" is not a label of this model (see model.labels)`);
      return i;
    });
  }
  return out;
}
