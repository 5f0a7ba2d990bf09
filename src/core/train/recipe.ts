/**
 * PP-TSN's training recipe for datasets (docs/contract.md §7; `configs/recognition/pptsn/pptsn_k400_frames.yaml`,
 * `paddlevideo/tasks/train.py`), as `pptsn-web train` runs it on list files: the defaults, one validator, and the
 * fields that make two runs the same run (a run directory refuses another recipe).
 *
 * PaddleVideo's K400 recipe is 8 GPUs × 32 clips a step at base LR 0.01; here the base LR is 0.01 per 256 clips,
 * scaled to the batch (`learningRate` unset), and the warm-up starts at half of it (0.005 for 0.01), as the config.
 * The page's fine-tuning (settings.ts) shares the same constants, with defaults suited to a handful of clips.
 */
import { PPTSNError } from '../errors.js';
import { checkPositiveInts, checkRanges, checkStrategy } from './checkFields.js';
import { HEAD_DROPOUT } from '../model/head.js';
import type { TrainableSubset } from '../model/trainable.js';
import { LABEL_SMOOTHING } from './labelSmoothing.js';
import { MIXUP_ALPHA } from './mixup.js';
import { MOMENTUM, WEIGHT_DECAY } from './optimizer.js';

/** PP-TSN's base LR for 256 clips a step (8 × 32). */
export const BASE_LR_PER_256 = 0.01;
/** PP-TSN K400: warm-up 10 of 100 epochs, from half the base LR. */
export const WARMUP_FRACTION = 0.1;
export const WARMUP_START_RATIO = 0.5;
/** PP-TSN trains and validates with 3 segments (`num_seg: 3`). */
export const TRAIN_SEGMENTS = 3;
/** PP-TSN's `epochs: 100`, `save_interval: 20`, per-card `batch_size: 32`. */
export const EPOCHS = 100;
export const SAVE_INTERVAL = 20;
export const BATCH_SIZE = 32;

/** The recipe's loss and optimiser terms a caller may set, as both the CLI's recipe and the page's settings have them. */
export interface RecipeTerms {
  mixupAlpha?: number;
  labelSmoothing?: number;
  weightDecay?: number;
  nesterov?: boolean;
  lrMultipliers?: boolean;
  dropout?: number;
}

/** What a caller may set; unset fields take PP-TSN's values. */
export interface DatasetRecipeOptions extends RecipeTerms {
  strategy?: TrainableSubset;
  segments?: number;
  epochs?: number;
  batchSize?: number;
  /** Base LR of the cosine (PaddleVideo `base_lr`); default 0.01 × batchSize / 256. */
  learningRate?: number;
  /** Default learningRate / 2. */
  warmupStartLr?: number;
  /** Default epochs / 10; 0 = a plain cosine. */
  warmupEpochs?: number;
  /** Precise-BN batches before each validation; 0 (default) = off, as PP-TSN's configs. */
  preciseBN?: number;
  saveInterval?: number;
  validInterval?: number;
  /** Augmented views cached per clip for 'head' (and a cached 'last-stage'). */
  views?: number;
  seed?: number;
}

export type DatasetRecipe = Required<DatasetRecipeOptions>;

/** PP-TSN's values for the terms left unset (mixup 0.2, label smoothing 0.1, L2 1e-4, Nesterov, FC ×5/×10, dropout 0.4). */
export function recipeTerms(o: RecipeTerms): Required<RecipeTerms> {
  return {
    mixupAlpha: o.mixupAlpha ?? MIXUP_ALPHA,
    labelSmoothing: o.labelSmoothing ?? LABEL_SMOOTHING,
    weightDecay: o.weightDecay ?? WEIGHT_DECAY,
    nesterov: o.nesterov ?? true,
    lrMultipliers: o.lrMultipliers ?? true,
    dropout: o.dropout ?? HEAD_DROPOUT,
  };
}

/** Fills PP-TSN's defaults in and validates once (PPTSNError 'invalid-argument' naming the field). */
export function resolveDatasetRecipe(o: DatasetRecipeOptions = {}): DatasetRecipe {
  const epochs = o.epochs ?? EPOCHS;
  const batchSize = o.batchSize ?? BATCH_SIZE;
  const learningRate = o.learningRate ?? (BASE_LR_PER_256 * batchSize) / 256;
  const r: DatasetRecipe = {
    strategy: o.strategy ?? 'full',
    segments: o.segments ?? TRAIN_SEGMENTS,
    epochs,
    batchSize,
    learningRate,
    warmupStartLr: o.warmupStartLr ?? learningRate * WARMUP_START_RATIO,
    warmupEpochs: o.warmupEpochs ?? epochs * WARMUP_FRACTION,
    ...recipeTerms(o),
    preciseBN: o.preciseBN ?? 0,
    saveInterval: o.saveInterval ?? SAVE_INTERVAL,
    validInterval: o.validInterval ?? 1,
    views: o.views ?? 4,
    seed: o.seed ?? 1,
  };
  checkStrategy(r.strategy);
  checkPositiveInts({ segments: r.segments, epochs: r.epochs, batchSize: r.batchSize, saveInterval: r.saveInterval, validInterval: r.validInterval, views: r.views });
  checkRanges([
    ['learningRate', r.learningRate, 0, 10],
    ['warmupStartLr', r.warmupStartLr, 0, 10],
    ['warmupEpochs', r.warmupEpochs, 0, r.epochs],
    ['mixupAlpha', r.mixupAlpha, 0, 100],
    ['labelSmoothing', r.labelSmoothing, 0, 0.999],
    ['weightDecay', r.weightDecay, 0, 1],
    ['dropout', r.dropout, 0, 0.999],
    ['preciseBN', r.preciseBN, 0, 100000],
  ]);
  if (!Number.isInteger(r.preciseBN)) throw new PPTSNError('invalid-argument', `preciseBN must be a whole number of batches, got ${r.preciseBN}`);
  return r;
}

/** Iterations per epoch: ⌊N / B⌋, as PaddleVideo's `DistributedBatchSampler(shuffle=True, drop_last=True)`. */
export function itersPerEpoch(trainCount: number, batchSize: number): number {
  return Math.floor(trainCount / batchSize);
}

/**
 * The batch a page run uses: `batchSize`, clamped to the train clips when there are fewer (a handful of clips is
 * the page's case; the CLI's `train` refuses N < B instead, src/node/train/datasetTrainer.ts).
 */
export function pageBatch(trainCount: number, batchSize: number): number {
  return Math.max(1, Math.min(batchSize, trainCount));
}

/** PaddleVideo saves `{name}_epoch_{e+1:05d}` when `e % save_interval == 0` or at the last epoch (e 0-based). */
export function savesEpoch(epoch0: number, r: Pick<DatasetRecipe, 'saveInterval' | 'epochs'>): boolean {
  return epoch0 % r.saveInterval === 0 || epoch0 === r.epochs - 1;
}

/** PaddleVideo validates when `e % val_interval == 0` or at the last epoch (e 0-based). */
export function validatesEpoch(epoch0: number, r: Pick<DatasetRecipe, 'validInterval' | 'epochs'>): boolean {
  return epoch0 % r.validInterval === 0 || epoch0 === r.epochs - 1;
}
