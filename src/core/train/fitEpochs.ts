/**
 * What `trainer.fit({ epochs })` does to a run's epoch count. The page API documents it as "trains up to
 * `epochs`", so on a fresh run any count is taken, lower than the run's too (`fit({ epochs: 1 })` on a default
 * 10-epoch run trains one epoch; it used to train ten, the lower count silently ignored). Once training has
 * started, the warm-up + cosine schedule (PaddleVideo's CustomWarmupCosineDecay, schedule.ts) is planned for the
 * run's count, so it can be raised (resuming trains on) but not lowered: that is `invalid-argument`, saying what to
 * do instead.
 */
import { PPTSNError } from '../errors.js';

/** The run's new epoch count for `fit({ epochs })`, given its planned count and how far it has trained. */
export function epochsForFit(planned: number, epochs: number, done: { epoch: number; iteration: number }): number {
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new PPTSNError('invalid-argument', `epochs must be a positive integer, got ${String(epochs)}`);
  if (epochs >= planned || done.iteration === 0) return epochs;
  throw new PPTSNError(
    'invalid-argument',
    `fit({ epochs: ${epochs} }): this run's learning-rate schedule is planned for ${planned} epochs and it has trained ${done.epoch} (${done.iteration} steps); ` +
      `a started run can be extended, not shortened. Call fit() to finish its ${planned} epochs, stop() it where it is, or start a new run (createTrainer with another name) with epochs: ${epochs}`,
  );
}

/** The run's epoch count when a stored run is reopened with `epochs`: raised to it, never lowered. */
export function extendedEpochs(planned: number, epochs: number): number {
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new PPTSNError('invalid-argument', `epochs must be a positive integer, got ${String(epochs)}`);
  return Math.max(planned, epochs);
}
