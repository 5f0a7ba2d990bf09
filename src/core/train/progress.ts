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
  /** With a teacher: the distillation term of the step (unweighted, as the CLI's `kd`). */
  kd?: number;
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
  /** With a teacher: the share of validation clips where the student's top-1 is the teacher's. */
  agreement?: number;
  lr: number;
  ms: number;
  etaMs: number;
  /** Set when the loss diverges (see TrainingProgress.warning). */
  warning?: string;
}

/** The result of `fit`. */
export interface FitResult {
  /** True when the signal stopped it (at a step boundary; a checkpoint was taken). */
  stopped: boolean;
  /**
   * Set when the stop landed inside a step, between its micro-batches: the clips of the step done when it landed
   * and the step's clips (nothing of that step was applied; the checkpoint is at its start).
   */
  stoppedInStep?: { clipsDone: number; clips: number };
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
  /**
   * The factor on the schedule's learning rate decided at the run's first step (lrScale.ts), kept so a resumed run
   * trains at the same rates; absent in runs that predate it (1).
   */
  lrScale?: number;
}

/**
 * What a run is doing (issue 26: progress from the first second, not only per step):
 * - `decoding`: a clip's frames are being read (the page's addClip; done/total clips of that call);
 * - `features`: the frozen part's cache ('head', 'last-stage'): done/total clips, and views within the clip;
 * - `training`: epoch/step, and micro-batches (`done`/`total` over this fit's remaining micro-batches; `done` grows by
 *   fractions inside a micro-batch's forward and backward pass, reported from its layers by the worker itself);
 * - `validating`: the trainer's own validation split at an epoch's end (done/total clips);
 * - `saving`: a checkpoint is being written; `stopping`: a stop was asked for and lands at the next micro-batch.
 */
export type TrainingPhase = 'decoding' | 'features' | 'training' | 'validating' | 'saving' | 'stopping';

/** One progress event (plain data). */
export interface TrainingProgress {
  phase: TrainingPhase;
  /** Units of the phase done and in all (clips, or micro-batches for `training`); total 0 = unknown. */
  done: number;
  total: number;
  /** Estimated ms left in the run, from the measured rate of the current phase (null until it can be measured). */
  etaMs: number | null;
  /** 1-based epoch and step of `training` and `validating`. */
  epoch?: number;
  epochs?: number;
  step?: number;
  steps?: number;
  /** `features`: views of the current clip done and in all. */
  view?: number;
  views?: number;
  /** Set when the training loss diverges (rises far above where it started, or is not finite): what to change. */
  warning?: string;
}

/**
 * Measures the rate of the current phase and turns it into one ETA: time per unit so far in this phase × units
 * left. `validating` and `saving` inside `training` do not restart the clock and carry the training ETA: their
 * time is part of what training costs per step, so the rate includes it (a head run spends most of its epochs there).
 */
export class PhaseClock {
  private phase: TrainingPhase | null = null;
  private started = 0;
  private startDone = 0;
  private done = 0;
  private total = 0;

  constructor(
    private readonly emit: ((p: TrainingProgress) => void) | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reports `p`, restarting the clock when the phase changes. */
  report(p: Omit<TrainingProgress, 'etaMs'>): void {
    const inside = (p.phase === 'validating' || p.phase === 'saving') && this.phase === 'training';
    if (!inside) {
      if (p.phase !== this.phase) {
        this.phase = p.phase;
        this.started = this.now();
        this.startDone = p.done;
      }
      this.done = p.done;
      this.total = p.total;
    }
    const rate = this.rate(this.done);
    const etaMs = rate !== null && this.total > 0 ? rate * Math.max(0, this.total - this.done) : null;
    this.emit?.({ ...p, etaMs });
  }

  /** Ms per unit measured in the current phase (null before the first unit). */
  rate(done: number): number | null {
    const did = done - this.startDone;
    return did > 0 ? (this.now() - this.started) / did : null;
  }
}

/** Units (micro-batches) left from `at` to the end of `epochs`, with `perStep(k)` units in step k of `steps`. */
export function unitsLeft(perStep: (k: number) => number, steps: number, epochs: number, at: { epoch: number; stepInEpoch: number }): number {
  let perEpoch = 0;
  for (let k = 0; k < steps; k++) perEpoch += perStep(k);
  let n = Math.max(0, epochs - at.epoch - 1) * perEpoch;
  if (at.epoch < epochs) for (let k = at.stepInEpoch; k < steps; k++) n += perStep(k);
  return n;
}
