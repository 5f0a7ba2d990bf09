/** What `ClipTrainer.fit` takes (trainer.ts): a stop, the callbacks a run reports through. */
import type { TrainerCheckpoint } from './checkpoint.js';
import type { EpochInfo, StepInfo, TrainingProgress } from './progress.js';

export interface FitOptions {
  signal?: AbortSignal;
  onStep?: (s: StepInfo) => void;
  onEpoch?: (e: EpochInfo) => void;
  /** Called with a checkpoint at each epoch end, when stopped, and after precise BN; awaited. */
  onCheckpoint?: (c: TrainerCheckpoint) => Promise<void> | void;
  /** What the run is doing, from its first second (progress.ts TrainingProgress): phases, counts, one ETA. */
  onProgress?: (p: TrainingProgress) => void;
  /**
   * A stop that can be read without a message (e.g. an Atomics flag set by the page): polled at every layer of a
   * `full`/`last-stage` pass (step.ts StepControl.interrupt) and wherever the signal is checked; true stops as the
   * signal does, within one layer instead of one micro-batch.
   */
  interrupt?: () => boolean;
}
