/** What a fine-tuning run reports as it goes (plain data: it crosses to the page) and where it stands. */

/** What `onStep` reports. Epochs and steps are 1-based. */
export interface StepInfo {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** Global iteration (1-based count of steps done). */
  iteration: number;
  loss: number;
  /** Batch accuracy, mixup-weighted. */
  accuracy: number;
  lr: number;
  /** Estimated time left in this fit, ms. */
  etaMs: number;
}

/** What `onEpoch` reports. */
export interface EpochInfo {
  epoch: number;
  epochs: number;
  /** Mean training loss of the epoch. */
  loss: number;
  /** Mean training accuracy (mixup-weighted). */
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  lr: number;
  ms: number;
  etaMs: number;
}

/** The result of `fit`. */
export interface FitResult {
  /** True when the signal stopped it (at a step boundary; a checkpoint was taken). */
  stopped: boolean;
  epoch: number;
  iteration: number;
  history: EpochInfo[];
}

/** Where a run stands: epochs done, step within the current epoch, global iteration, history. */
export interface TrainingPosition {
  epoch: number;
  stepInEpoch: number;
  iteration: number;
  history: EpochInfo[];
  preciseBNDone: boolean;
}
