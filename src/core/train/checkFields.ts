/**
 * The checks both training configurations run once when they are resolved (settings.ts for the page's fine-tuning,
 * recipe.ts for `pptsn-web train`): each failure is PPTSNError('invalid-argument') naming the field and the value.
 */
import { PPTSNError } from '../errors.js';
import type { TrainableSubset } from '../model/trainable.js';

const STRATEGIES: readonly TrainableSubset[] = ['head', 'last-stage', 'full'];

export function checkStrategy(v: unknown): void {
  if (!STRATEGIES.includes(v as TrainableSubset)) throw new PPTSNError('invalid-argument', `strategy must be 'head', 'last-stage' or 'full', got ${String(v)}`);
}

/** Every field must be an integer ≥ 1. */
export function checkPositiveInts(fields: Record<string, number>): void {
  for (const [name, v] of Object.entries(fields)) {
    if (!(Number.isInteger(v) && v >= 1)) throw new PPTSNError('invalid-argument', `${name} must be a positive integer, got ${String(v)}`);
  }
}

/** Every row `[name, value, lo, hi]` must hold a number in [lo, hi] (NaN never does). */
export function checkRanges(rows: readonly (readonly [string, number, number, number])[]): void {
  for (const [name, v, lo, hi] of rows) {
    if (!(typeof v === 'number' && !Number.isNaN(v) && v >= lo && v <= hi)) throw new PPTSNError('invalid-argument', `${name} must be in [${lo}, ${hi}], got ${String(v)}`);
  }
}
