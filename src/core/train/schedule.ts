/**
 * PaddleVideo's `CustomWarmupCosineDecay` (paddlevideo/solver/custom_lr.py) as used by PP-TSN: stepped every
 * iteration with the epoch as a float e = iter / iters_per_epoch, a linear warm-up from `warmupStartLr` to the
 * cosine curve's value at the end of the warm-up, then the half cosine from `baseLr` (e = 0) to 0 (e = maxEpoch).
 */
import { PPTSNError } from '../errors.js';

/** The schedule's constants (PaddleVideo config names in brackets). */
export interface WarmupCosineOptions {
  /** Peak learning rate of the cosine [base_lr]. */
  baseLr: number;
  /** Learning rate at e = 0 [warmup_start_lr]; PP-TSN K400: half the base. */
  warmupStartLr: number;
  /** Warm-up length in epochs [warmup_epochs]; 0 turns the warm-up off. */
  warmupEpochs: number;
  /** Cosine period in epochs [max_epoch]. */
  maxEpoch: number;
  /** false: a constant `baseLr` (the schedule switched off). Default true. */
  cosine?: boolean;
}

/** cos(e) = base·(cos(π·e/max_epoch) + 1)/2 (PaddleVideo `lr_func_cosine`). */
export function cosineLr(epoch: number, baseLr: number, maxEpoch: number): number {
  return (baseLr * (Math.cos((Math.PI * epoch) / maxEpoch) + 1.0)) / 2.0;
}

/** The learning rate at a (fractional) epoch. */
export function warmupCosineLr(epoch: number, o: WarmupCosineOptions): number {
  if (o.cosine === false) {
    if (o.warmupEpochs > 0 && epoch < o.warmupEpochs) return o.warmupStartLr + (epoch * (o.baseLr - o.warmupStartLr)) / o.warmupEpochs;
    return o.baseLr;
  }
  const lr = cosineLr(epoch, o.baseLr, o.maxEpoch);
  if (o.warmupEpochs > 0 && epoch < o.warmupEpochs) {
    const lrEnd = cosineLr(o.warmupEpochs, o.baseLr, o.maxEpoch);
    const alpha = (lrEnd - o.warmupStartLr) / o.warmupEpochs;
    return epoch * alpha + o.warmupStartLr;
  }
  return lr;
}

/**
 * The per-iteration form: iteration i (0-based, counted over the whole run) uses e = i / itersPerEpoch, as
 * PaddleVideo's `step()` adds 1/num_iters to `last_epoch` after every iteration.
 */
export class CustomWarmupCosineDecay {
  constructor(
    readonly options: WarmupCosineOptions,
    readonly itersPerEpoch: number,
  ) {
    if (!(Number.isInteger(itersPerEpoch) && itersPerEpoch >= 1)) throw new PPTSNError('invalid-argument', `itersPerEpoch must be a positive integer, got ${itersPerEpoch}`);
    if (!(options.maxEpoch > 0)) throw new PPTSNError('invalid-argument', `maxEpoch must be positive, got ${options.maxEpoch}`);
  }

  /** The learning rate of global iteration `iter`. */
  lrAt(iter: number): number {
    return warmupCosineLr(iter / this.itersPerEpoch, this.options);
  }
}
