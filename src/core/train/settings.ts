/**
 * Fine-tuning settings: what a caller may set, PP-TSN's defaults (paddlevideo configs
 * `configs/recognition/pptsn/pptsn_k400_frames.yaml`: mixup 0.2, label smoothing 0.1, L2 1e-4, momentum 0.9,
 * warm-up + cosine; adapted to a few clips, docs/contract.md §7), and `resolveSettings`, which fills the defaults in
 * and validates once. The worker validates here; the page only forwards.
 */
import { PPTSNError } from '../errors.js';
import { checkPositiveInts, checkRanges, checkStrategy } from './checkFields.js';
import type { TrainableSubset } from '../model/trainable.js';
import { MOMENTUM } from './optimizer.js';
import { recipeTerms } from './recipe.js';

/** Fine-tuning settings; every field but `classes` has PP-TSN's default (or one suited to a few clips). */
export interface TrainerSettings {
  /** Names of the new classes (the FC gets one output per class). */
  classes: string[];
  /** Default 'head'. */
  strategy?: TrainableSubset;
  /** Default 10. */
  epochs?: number;
  /** Clips per step; default 8. */
  batchSize?: number;
  /**
   * Clips per forward/backward pass for 'full' (gradient accumulation up to batchSize); default 1: one clip of T
   * images at a time keeps a ResNet50 step within a browser tab's memory and lets a stop land within seconds.
   */
  microBatchSize?: number;
  /**
   * T, frames per clip in training; default 3, PP-TSN's training recipe (`pptsn_k400_frames.yaml`: the released
   * ppTSN_k400 was trained with 3 segments, docs/contract.md §7; inference uses its own T). It was 8, which made a `full` step
   * 2.7× the recipe's work.
   */
  segments?: number;
  /** Base LR of the cosine; default 0.01 × batchSize / 256 (PP-TSN uses 0.01 for 8×32 clips); the FC learns at ×5/×10 of it. */
  learningRate?: number;
  /** LR at epoch 0 of the warm-up; default learningRate / 2 (PP-TSN: 0.005 for 0.01). */
  warmupStartLr?: number;
  /** Warm-up epochs; default 10 % of the epochs (PP-TSN: 10 of 100); 0 = off. */
  warmupEpochs?: number;
  /** 'cosine' (CustomWarmupCosineDecay, default) or 'constant'. */
  schedule?: 'cosine' | 'constant';
  /** Mixup α; default 0.2; 0 = off. */
  mixupAlpha?: number;
  /** Label smoothing ε; default 0.1; 0 = off. */
  labelSmoothing?: number;
  /** L2 on conv and FC weights; default 1e-4; 0 = off. */
  weightDecay?: number;
  /** Momentum μ; default 0.9. */
  momentum?: number;
  /** Paddle's Nesterov update; default true. */
  nesterov?: boolean;
  /** FC LR multipliers ×5 weight, ×10 bias; default true. */
  lrMultipliers?: boolean;
  /** Head dropout; default 0.4. */
  dropout?: number;
  /** MultiScaleCrop + RandomFlip (else the centre crop); default true. */
  augment?: boolean;
  /** Precise-BN batches after training (not used by 'head', which trains no BN); true = 20, false/0 = off; default true. */
  preciseBN?: boolean | number;
  /** Fraction of each class's clips held out for validation; default 0.2 (a class with one clip keeps it). */
  validationSplit?: number;
  /** Augmented views cached per clip ('head', 'last-stage'); default 4 (1 without augmentation). */
  views?: number;
  /** Seed of every random draw; default 1. */
  seed?: number;
  /**
   * Adapts the LR to the run (lrScale.ts: linear scaling by the clips a step really has; for 'head', a cap from the
   * cached features' scale). Default: true when `learningRate` is not given, false when it is.
   */
  adaptLearningRate?: boolean;
}

/** Settings with every default filled in. */
export type ResolvedSettings = Required<Omit<TrainerSettings, 'preciseBN'>> & { preciseBN: number };

/** Resolves the settings and checks them. */
export function resolveSettings(s: TrainerSettings): ResolvedSettings {
  if (!Array.isArray(s.classes) || s.classes.length < 2 || s.classes.some((c) => typeof c !== 'string' || !c)) {
    throw new PPTSNError('invalid-argument', 'classes must be at least two non-empty names');
  }
  if (new Set(s.classes).size !== s.classes.length) throw new PPTSNError('invalid-argument', 'class names must be unique');
  const epochs = s.epochs ?? 10;
  const batchSize = s.batchSize ?? 8;
  // PP-TSN's base LR 0.01 is for 8 GPUs × 32 clips per step; scale it linearly with the batch (docs/contract.md §7).
  // Without this, a batch of 8 steps 32× too far and the head diverges.
  const lr = s.learningRate ?? (0.01 * batchSize) / 256;
  const augment = s.augment ?? true;
  const pbn = s.preciseBN === undefined || s.preciseBN === true ? 20 : s.preciseBN === false ? 0 : s.preciseBN;
  const r: ResolvedSettings = {
    classes: [...s.classes],
    strategy: s.strategy ?? 'head',
    epochs,
    batchSize,
    microBatchSize: s.microBatchSize ?? 1,
    segments: s.segments ?? 3,
    learningRate: lr,
    warmupStartLr: s.warmupStartLr ?? lr / 2,
    warmupEpochs: s.warmupEpochs ?? epochs / 10,
    schedule: s.schedule ?? 'cosine',
    ...recipeTerms(s),
    momentum: s.momentum ?? MOMENTUM,
    augment,
    preciseBN: pbn,
    validationSplit: s.validationSplit ?? 0.2,
    views: s.views ?? (augment ? 4 : 1),
    seed: s.seed ?? 1,
    adaptLearningRate: s.adaptLearningRate ?? s.learningRate === undefined,
  };
  checkPositiveInts({ epochs: r.epochs, batchSize: r.batchSize, microBatchSize: r.microBatchSize, segments: r.segments, views: r.views });
  checkStrategy(r.strategy);
  checkRanges([
    ['learningRate', r.learningRate, 0, Infinity],
    ['warmupStartLr', r.warmupStartLr, 0, Infinity],
    ['warmupEpochs', r.warmupEpochs, 0, r.epochs],
    ['mixupAlpha', r.mixupAlpha, 0, Infinity],
    ['labelSmoothing', r.labelSmoothing, 0, 0.999],
    ['weightDecay', r.weightDecay, 0, 1],
    ['momentum', r.momentum, 0, 0.9999],
    ['dropout', r.dropout, 0, 0.999],
    ['validationSplit', r.validationSplit, 0, 0.9],
    ['preciseBN', r.preciseBN, 0, 10000],
  ]);
  return r;
}
