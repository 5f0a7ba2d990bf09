/**
 * The fine-tuning loop (isomorphic, tfjs-core only): PP-TSN's recipe (SPEC §5) on a handful of the user's clips.
 *
 * Data: each clip is kept as a small pool of decoded frames (sampled evenly over the video at a capped
 * resolution); PaddleVideo's train sampler then picks T of the pool per draw (random segment sampling over the
 * pool, not over the whole video), and the train transforms (keep-ratio Scale, MultiScaleCrop, RandomFlip,
 * normalise) or the valid ones (centre crop) make the network input.
 *
 * Strategies: 'head' trains the FC on cached pooled features of V augmented views per clip, 'last-stage' trains
 * res5 + FC on cached res5 inputs (FeatureCache), 'full' trains everything on images, with gradient accumulation
 * over micro-batches when the batch does not fit (BN then sees micro-batch statistics, like ghost batch norm).
 * With cached inputs, mixup mixes the cached tensors rather than the images (exact for 'head', where the
 * head is linear up to the dropout; an approximation for 'last-stage').
 *
 * Each step: LR from CustomWarmupCosineDecay at the global iteration, one mixup draw, label-smoothed loss,
 * gradients, Paddle's Nesterov momentum with L2 on conv/FC weights and the FC multipliers, BN running-statistics
 * update. Each piece can be switched off (mixupAlpha 0, labelSmoothing 0, weightDecay 0, warmupEpochs 0,
 * schedule 'constant', lrMultipliers false, nesterov false, augment false, dropout 0, preciseBN 0).
 *
 * Resuming: a checkpoint holds the parameters of the trainable part (running statistics included), the optimiser's
 * velocities and the position (epoch, step within it, global iteration). Every random draw is seeded from
 * (seed, iteration) or (seed, epoch), so a resumed run repeats the same batches it would have seen.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import type { FramePixels } from '../frames.js';
import type { Recognizer } from '../model/recognizer.js';
import { HEAD_DROPOUT } from '../model/head.js';
import { TrainableRecognizer, type TrainableSubset } from '../model/trainable.js';
import { preprocessFrames, preprocessTrainFrames } from '../preprocess/pipeline.js';
import { mulberry32, randint, sampleTrainIndices, sampleValidIndices, type Rng } from '../preprocess/sampler.js';
import type { StateDict } from '../stateDict.js';
import { FeatureCache } from './featureCache.js';
import { LABEL_SMOOTHING, labelSmoothedLoss } from './labelSmoothing.js';
import { drawMixup, MIXUP_ALPHA, mixBatch, mixupAccuracy, permutation, sampleNormal, type MixupDraw } from './mixup.js';
import { MOMENTUM, PaddleMomentum, paramGroups, WEIGHT_DECAY } from './optimizer.js';
import { readFloat32 } from '../readBack.js';
import { preciseBN } from './preciseBn.js';
import { CustomWarmupCosineDecay } from './schedule.js';
import { yieldTurn } from '../yieldTurn.js';

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
  /** Clips per forward/backward pass for 'full' (gradient accumulation up to batchSize); default 2. */
  microBatchSize?: number;
  /** T; default 8. */
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
}

/** Settings with every default filled in. */
export type ResolvedSettings = Required<Omit<TrainerSettings, 'preciseBN'>> & { preciseBN: number };

/** One training clip: a pool of decoded frames (one size) and its class index. */
export interface TrainingClip {
  id: string;
  label: number;
  frames: FramePixels[];
}

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

/** The result of `evaluate`. */
export interface EvaluateResult {
  accuracy: number;
  /** Plain cross entropy (no smoothing). */
  loss: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  /** Which clips: the validation split, or every clip when there is none. */
  split: 'validation' | 'all';
  clips: number;
}

/** The result of `fit`. */
export interface FitResult {
  /** True when the signal stopped it (at a step boundary; a checkpoint was taken). */
  stopped: boolean;
  epoch: number;
  iteration: number;
  history: EpochInfo[];
}

/** Everything needed to resume. Plain data (structured-clone friendly, for IndexedDB). */
export interface TrainerCheckpoint {
  epoch: number;
  stepInEpoch: number;
  iteration: number;
  /** Trainable part's parameters and running statistics, keyed by PaddleVideo key, in the variables' layouts. */
  params: Record<string, Float32Array>;
  velocity: Record<string, Float32Array>;
  history: EpochInfo[];
  preciseBNDone: boolean;
}

export interface FitOptions {
  signal?: AbortSignal;
  onStep?: (s: StepInfo) => void;
  onEpoch?: (e: EpochInfo) => void;
  /** Called with a checkpoint at each epoch end, when stopped, and after precise BN; awaited. */
  onCheckpoint?: (c: TrainerCheckpoint) => Promise<void> | void;
}

/** Resolves the settings and checks them. */
export function resolveSettings(s: TrainerSettings): ResolvedSettings {
  if (!Array.isArray(s.classes) || s.classes.length < 2 || s.classes.some((c) => typeof c !== 'string' || !c)) {
    throw new PPTSNError('invalid-argument', 'classes must be at least two non-empty names');
  }
  if (new Set(s.classes).size !== s.classes.length) throw new PPTSNError('invalid-argument', 'class names must be unique');
  const epochs = s.epochs ?? 10;
  const batchSize = s.batchSize ?? 8;
  // PP-TSN's base LR 0.01 is for 8 GPUs × 32 clips per step; scale it linearly with the batch (SPEC §5). Without
  // this, a batch of 8 steps 32× too far and the head diverges.
  const lr = s.learningRate ?? (0.01 * batchSize) / 256;
  const augment = s.augment ?? true;
  const pbn = s.preciseBN === undefined || s.preciseBN === true ? 20 : s.preciseBN === false ? 0 : s.preciseBN;
  const r: ResolvedSettings = {
    classes: [...s.classes],
    strategy: s.strategy ?? 'head',
    epochs,
    batchSize,
    microBatchSize: s.microBatchSize ?? 2,
    segments: s.segments ?? 8,
    learningRate: lr,
    warmupStartLr: s.warmupStartLr ?? lr / 2,
    warmupEpochs: s.warmupEpochs ?? epochs / 10,
    schedule: s.schedule ?? 'cosine',
    mixupAlpha: s.mixupAlpha ?? MIXUP_ALPHA,
    labelSmoothing: s.labelSmoothing ?? LABEL_SMOOTHING,
    weightDecay: s.weightDecay ?? WEIGHT_DECAY,
    momentum: s.momentum ?? MOMENTUM,
    nesterov: s.nesterov ?? true,
    lrMultipliers: s.lrMultipliers ?? true,
    dropout: s.dropout ?? HEAD_DROPOUT,
    augment,
    preciseBN: pbn,
    validationSplit: s.validationSplit ?? 0.2,
    views: s.views ?? (augment ? 4 : 1),
    seed: s.seed ?? 1,
  };
  const posInt = (v: number, n: string) => {
    if (!(Number.isInteger(v) && v >= 1)) throw new PPTSNError('invalid-argument', `${n} must be a positive integer, got ${String(v)}`);
  };
  posInt(r.epochs, 'epochs');
  posInt(r.batchSize, 'batchSize');
  posInt(r.microBatchSize, 'microBatchSize');
  posInt(r.segments, 'segments');
  posInt(r.views, 'views');
  if (!['head', 'last-stage', 'full'].includes(r.strategy)) throw new PPTSNError('invalid-argument', `strategy must be 'head', 'last-stage' or 'full', got ${String(r.strategy)}`);
  for (const [n, v, lo, hi] of [
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
  ] as const) {
    if (!(typeof v === 'number' && v >= lo && v <= hi)) throw new PPTSNError('invalid-argument', `${n} must be in [${lo}, ${hi}], got ${String(v)}`);
  }
  return r;
}

/** FNV-1a of a string, for per-clip/per-iteration seeds. */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * A new FC for `numClasses` on top of the base model's backbone: ppTSNHead's init, weight ~ Normal(0, 0.01)
 * (seeded), bias 0. Returns a state dict sharing the base's backbone arrays.
 */
export function withNewHead(base: StateDict, numClasses: number, seed: number): StateDict {
  const w = base.get('head.fc.weight');
  if (!w) throw new PPTSNError('model-invalid', 'the model has no head.fc.weight');
  const F = w.shape[0]!;
  const rng = mulberry32(seed);
  const data = new Float32Array(F * numClasses);
  for (let i = 0; i < data.length; i++) data[i] = 0.01 * sampleNormal(rng);
  const out: StateDict = new Map(base);
  out.set('head.fc.weight', { shape: [F, numClasses], data });
  out.set('head.fc.bias', { shape: [numClasses], data: new Float32Array(numClasses) });
  return out;
}


/**
 * Fine-tunes PP-TSN on clips. Create with the base model's state dict and (for 'head'/'last-stage') the inference
 * `Recognizer` of the same weights, which computes the frozen part's caches. Free with `dispose()`.
 */
export class ClipTrainer {
  readonly settings: ResolvedSettings;
  readonly model: TrainableRecognizer;
  private readonly optimizer: PaddleMomentum;
  private readonly cache: FeatureCache | null;
  private readonly clipMap = new Map<string, TrainingClip>();
  private state: { epoch: number; stepInEpoch: number; iteration: number; history: EpochInfo[]; preciseBNDone: boolean } = {
    epoch: 0,
    stepInEpoch: 0,
    iteration: 0,
    history: [],
    preciseBNDone: false,
  };
  private disposed = false;
  private busy = false;

  constructor(base: StateDict, settings: TrainerSettings, recognizer?: Recognizer, opts: { chunkSize?: number } = {}) {
    this.settings = resolveSettings(settings);
    const s = this.settings;
    const sd = withNewHead(base, s.classes.length, hashSeed(s.seed, 'head'));
    this.model = TrainableRecognizer.fromStateDict(sd, { trainable: s.strategy, dropout: s.dropout });
    this.optimizer = new PaddleMomentum(paramGroups(this.model.parameters(), { weightDecay: s.weightDecay, lrMultipliers: s.lrMultipliers }), { momentum: s.momentum, nesterov: s.nesterov });
    if (s.strategy === 'full') {
      this.cache = null;
    } else {
      if (!recognizer) {
        this.model.dispose();
        throw new PPTSNError('invalid-argument', `the '${s.strategy}' strategy needs the inference Recognizer for its feature cache`);
      }
      this.cache = new FeatureCache(s.strategy, recognizer, opts.chunkSize ?? 8);
    }
  }

  /** Raises the epoch count so `fit` trains further (never lowers it: the recipe of a run is otherwise fixed). */
  extendEpochs(epochs: number): void {
    if (!(Number.isInteger(epochs) && epochs >= 1)) throw new PPTSNError('invalid-argument', `epochs must be a positive integer, got ${String(epochs)}`);
    if (epochs > this.settings.epochs) (this.settings as { epochs: number }).epochs = epochs;
  }

  private live(): void {
    if (this.disposed) throw new PPTSNError('invalid-argument', 'this trainer was disposed');
  }

  /** The position: epochs done, step within the current epoch, global iteration, epoch history. */
  get progress(): { epoch: number; stepInEpoch: number; iteration: number; history: EpochInfo[] } {
    return { ...this.state, history: [...this.state.history] };
  }

  /** Adds (or replaces) a clip. Its frames are kept by reference. */
  addClip(clip: TrainingClip): void {
    this.live();
    if (!(Number.isInteger(clip.label) && clip.label >= 0 && clip.label < this.settings.classes.length)) {
      throw new PPTSNError('invalid-argument', `label ${clip.label} is not a class index (0..${this.settings.classes.length - 1})`);
    }
    if (clip.frames.length === 0) throw new PPTSNError('video-too-short', `clip ${clip.id} has no frames`);
    this.cache?.delete(clip.id);
    this.clipMap.set(clip.id, clip);
  }

  removeClip(id: string): boolean {
    this.live();
    this.cache?.delete(id);
    return this.clipMap.delete(id);
  }

  clips(): TrainingClip[] {
    return [...this.clipMap.values()];
  }

  /**
   * The split: per class, round(split·n) clips (at least one when the class has two or more and split > 0) are
   * held out, chosen by a seeded shuffle of the clip ids, so the split is stable across reloads.
   */
  split(): { train: TrainingClip[]; valid: TrainingClip[] } {
    const s = this.settings;
    const train: TrainingClip[] = [];
    const valid: TrainingClip[] = [];
    for (let c = 0; c < s.classes.length; c++) {
      const mine = this.clips()
        .filter((k) => k.label === c)
        .sort((a, b) => hashSeed(s.seed, a.id) - hashSeed(s.seed, b.id) || (a.id < b.id ? -1 : 1));
      let k = Math.round(s.validationSplit * mine.length);
      if (s.validationSplit > 0 && mine.length >= 2) k = Math.max(1, k);
      k = Math.min(k, mine.length - 1);
      valid.push(...mine.slice(0, Math.max(0, k)));
      train.push(...mine.slice(Math.max(0, k)));
    }
    const byId = (a: TrainingClip, b: TrainingClip) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    return { train: train.sort(byId), valid: valid.sort(byId) };
  }

  /** Train-pipeline images `[T, 224, 224, 3]` for one draw. */
  trainImages(clip: TrainingClip, rng: Rng): tf.Tensor4D {
    const T = this.settings.segments;
    const frames = sampleTrainIndices(clip.frames.length, T, rng).map((i) => clip.frames[i]!);
    if (this.settings.augment) return preprocessTrainFrames(frames, rng).input;
    return preprocessFrames(frames, { preset: 'fast', segments: T }).input;
  }

  /** Valid-pipeline images (valid sampling over the pool, keep-ratio Scale, centre crop). */
  validImages(clip: TrainingClip): tf.Tensor4D {
    const T = this.settings.segments;
    const frames = sampleValidIndices(clip.frames.length, T).map((i) => clip.frames[i]!);
    return preprocessFrames(frames, { preset: 'fast', segments: T }).input;
  }

  /** Computes the cache of every clip that has none yet (no-op for 'full'). Yields between clips. */
  async prepare(onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<void> {
    this.live();
    const cache = this.cache;
    if (!cache) return;
    const todo = this.clips().filter((c) => !cache.has(c.id));
    for (let i = 0; i < todo.length; i++) {
      if (signal?.aborted) return;
      const clip = todo[i]!;
      const views: tf.Tensor4D[] = [];
      try {
        for (let v = 0; v < this.settings.views; v++) {
          const x = this.trainImages(clip, mulberry32(hashSeed(this.settings.seed, clip.id, 'view', v)));
          try {
            views.push(cache.encode(x));
          } finally {
            x.dispose();
          }
          await views.at(-1)!.data();
        }
        const vx = this.validImages(clip);
        let valid: tf.Tensor4D;
        try {
          valid = cache.encode(vx);
        } finally {
          vx.dispose();
        }
        cache.set(clip.id, { views, valid });
      } catch (e) {
        tf.dispose(views);
        throw e;
      }
      onProgress?.(i + 1, todo.length);
      await yieldTurn();
    }
  }

  /** Where the batch input enters the network: the cache's boundary, which is where the trainable part starts. */
  private get from() {
    return this.model.trainableFrom;
  }

  /** The batch input `[B·T, …]` for training. */
  private batchInput(batch: TrainingClip[], rng: Rng): tf.Tensor4D {
    const parts = batch.map((c) => {
      if (this.cache) {
        const cached = this.cache.get(c.id)!;
        return cached.views[randint(rng, cached.views.length)]!;
      }
      return this.trainImages(c, rng);
    });
    try {
      return parts.length === 1 ? tf.clone(parts[0]!) : tf.concat(parts, 0);
    } finally {
      if (!this.cache) tf.dispose(parts);
    }
  }

  private lossFn(logits: tf.Tensor2D, labels: number[], draw: MixupDraw | null, rows: number[]): tf.Scalar {
    const eps = this.settings.labelSmoothing;
    return tf.tidy(() => {
      const ya = tf.tensor1d(rows.map((r) => labels[r]!), 'int32');
      const la = labelSmoothedLoss(logits, ya, eps);
      if (!draw) return la;
      const yb = tf.tensor1d(rows.map((r) => labels[draw.perm[r]!]!), 'int32');
      return tf.add(tf.mul(la, draw.lambda), tf.mul(labelSmoothedLoss(logits, yb, eps), 1 - draw.lambda)) as tf.Scalar;
    });
  }

  /** One optimisation step on `batch`; returns loss and accuracy. */
  private async step(batch: TrainingClip[], lr: number, rng: Rng): Promise<{ loss: number; accuracy: number }> {
    const s = this.settings;
    const T = s.segments;
    const B = batch.length;
    const labels = batch.map((c) => c.label);
    const draw = s.mixupAlpha > 0 && B >= 2 ? drawMixup(B, s.mixupAlpha, rng) : null;
    const raw = this.batchInput(batch, rng);
    const x = draw ? mixBatch(raw, draw, T) : raw;
    if (draw) raw.dispose();
    const micro = this.cache ? B : Math.min(B, s.microBatchSize);
    const groups = this.optimizer.groups;
    const varList = groups.map((g) => g.variable);
    const keyOfName = new Map(groups.map((g) => [g.variable.name, g.key]));
    const acc = new Map<string, tf.Tensor>();
    const predicted: number[] = [];
    let loss = 0;
    try {
      for (let m0 = 0; m0 < B; m0 += micro) {
        const mn = Math.min(micro, B - m0);
        const rows = Array.from({ length: mn }, (_, i) => m0 + i);
        const xm = mn === B ? x : tf.slice(x, m0 * T, mn * T);
        let pred: tf.Tensor | null = null;
        try {
          const { value, grads } = tf.variableGrads(() => {
            const logits = this.model.logits(xm, T, { training: true, from: this.from, seed: hashSeed(s.seed, 'dropout', this.state.iteration, m0) });
            pred = tf.keep(tf.argMax(logits, 1));
            return this.lossFn(logits, labels, draw, rows);
          }, varList);
          this.model.commitBatchStats();
          // Asynchronous reads: a synchronous one stalls a GPU backend (and exhausted SwiftShader's WebGPU).
          loss += (await value.data())[0]! * (mn / B);
          value.dispose();
          for (const [name, g] of Object.entries(grads)) {
            const key = keyOfName.get(name)!;
            const scaled = mn === B ? g : tf.mul(g, mn / B);
            if (scaled !== g) g.dispose();
            const prev = acc.get(key);
            if (prev) {
              acc.set(key, tf.add(prev, scaled));
              tf.dispose([prev, scaled]);
            } else {
              acc.set(key, scaled);
            }
          }
          predicted.push(...(await (pred! as tf.Tensor).data()));
        } finally {
          if (pred) (pred as tf.Tensor).dispose();
          if (xm !== x) xm.dispose();
          this.model.discardBatchStats();
        }
      }
      this.optimizer.applyGradients(acc, lr);
    } finally {
      x.dispose();
      tf.dispose([...acc.values()]);
    }
    return { loss, accuracy: mixupAccuracy(predicted, labels, draw) };
  }

  private schedule(itersPerEpoch: number): CustomWarmupCosineDecay {
    const s = this.settings;
    return new CustomWarmupCosineDecay({ baseLr: s.learningRate, warmupStartLr: s.warmupStartLr, warmupEpochs: s.warmupEpochs, maxEpoch: s.epochs, cosine: s.schedule === 'cosine' }, itersPerEpoch);
  }

  /**
   * Trains from the current position to `settings.epochs`. Stops cleanly at a step boundary when `signal` fires
   * (a checkpoint is taken), and resumes from the position on the next call.
   */
  async fit(opts: FitOptions = {}): Promise<FitResult> {
    this.live();
    if (this.busy) throw new PPTSNError('invalid-argument', 'this trainer is already busy (fit or evaluate in progress)');
    this.busy = true;
    try {
      return await this.fitInner(opts);
    } finally {
      this.busy = false;
    }
  }

  private async fitInner(opts: FitOptions): Promise<FitResult> {
    const s = this.settings;
    const { train, valid } = this.split();
    if (train.length === 0) throw new PPTSNError('invalid-argument', 'no training clips: add clips with addClip first');
    await this.prepare(undefined, opts.signal);
    const steps = Math.max(1, Math.ceil(train.length / s.batchSize));
    const schedule = this.schedule(steps);
    const t0 = Date.now();
    const total = (s.epochs - this.state.epoch) * steps - this.state.stepInEpoch;
    let done = 0;
    const eta = () => (done > 0 ? ((Date.now() - t0) / done) * Math.max(0, total - done) : 0);
    const stopped = () => opts.signal?.aborted === true;
    const result = (st: boolean): FitResult => ({ stopped: st, epoch: this.state.epoch, iteration: this.state.iteration, history: [...this.state.history] });
    while (this.state.epoch < s.epochs) {
      const e = this.state.epoch;
      const tEpoch = Date.now();
      // A resumed epoch repeats the same order: the shuffle depends on (seed, epoch) only.
      const order = permutation(train.length, mulberry32(hashSeed(s.seed, 'epoch', e))).map((i) => train[i]!);
      let sumLoss = 0;
      let sumAcc = 0;
      let counted = 0;
      let lr = schedule.lrAt(this.state.iteration);
      for (let k = this.state.stepInEpoch; k < steps; k++) {
        if (stopped()) {
          await opts.onCheckpoint?.(await this.checkpoint());
          return result(true);
        }
        lr = schedule.lrAt(this.state.iteration);
        const batch = order.slice(k * s.batchSize, (k + 1) * s.batchSize);
        const r = await this.step(batch, lr, mulberry32(hashSeed(s.seed, 'iter', this.state.iteration)));
        sumLoss += r.loss;
        sumAcc += r.accuracy;
        counted++;
        done++;
        this.state.iteration++;
        this.state.stepInEpoch = k + 1;
        opts.onStep?.({ epoch: e + 1, epochs: s.epochs, step: k + 1, steps, iteration: this.state.iteration, loss: r.loss, accuracy: r.accuracy, lr, etaMs: eta() });
        await yieldTurn();
      }
      const info: EpochInfo = { epoch: e + 1, epochs: s.epochs, loss: counted ? sumLoss / counted : NaN, accuracy: counted ? sumAcc / counted : NaN, lr, ms: Date.now() - tEpoch, etaMs: 0 };
      if (valid.length > 0) {
        const v = await this.evaluateOn(valid, 'validation');
        info.valLoss = v.loss;
        info.valAccuracy = v.accuracy;
      }
      this.state.epoch = e + 1;
      this.state.stepInEpoch = 0;
      info.etaMs = eta();
      this.state.history.push(info);
      opts.onEpoch?.(info);
      await opts.onCheckpoint?.(await this.checkpoint());
    }
    if (!this.state.preciseBNDone && s.preciseBN > 0 && s.strategy !== 'head' && !stopped()) {
      await this.runPreciseBN(train);
      this.state.preciseBNDone = true;
      await opts.onCheckpoint?.(await this.checkpoint());
    }
    return result(false);
  }

  /** Precise BN over `settings.preciseBN` train batches (micro-batch sized for 'full'), no mixup. */
  private async runPreciseBN(train: TrainingClip[]): Promise<number> {
    const s = this.settings;
    const size = this.cache ? s.batchSize : Math.min(s.batchSize, s.microBatchSize);
    return preciseBN(
      this.model,
      s.preciseBN,
      (k) => {
        const rng = mulberry32(hashSeed(s.seed, 'preciseBN', k));
        const order = permutation(train.length, rng).map((i) => train[i]!);
        return this.batchInput(order.slice(0, size), rng);
      },
      this.from,
    );
  }

  /** Accuracy, loss and confusion on the validation split (every clip when there is none), eval mode. */
  async evaluate(): Promise<EvaluateResult> {
    this.live();
    const { valid } = this.split();
    if (valid.length > 0) return this.evaluateOn(valid, 'validation');
    const all = this.clips();
    if (all.length === 0) throw new PPTSNError('invalid-argument', 'no clips to evaluate');
    return this.evaluateOn(all, 'all');
  }

  /** Eval-mode logits `[n, K]` of clips (valid view). */
  async logitsOf(clips: TrainingClip[]): Promise<Float32Array> {
    this.live();
    await this.prepare();
    const T = this.settings.segments;
    const out: number[] = [];
    const per = this.cache ? this.settings.batchSize : 1;
    for (let i = 0; i < clips.length; i += per) {
      const part = clips.slice(i, i + per);
      const logits = tf.tidy(() => {
        const xs = part.map((c) => (this.cache ? this.cache.get(c.id)!.valid : this.validImages(c)));
        const x = xs.length === 1 ? xs[0]! : tf.concat(xs, 0);
        return this.model.logits(x, T, { training: false, from: this.from });
      });
      out.push(...((await logits.data()) as Float32Array));
      logits.dispose();
      await yieldTurn();
    }
    return Float32Array.from(out);
  }

  private async evaluateOn(clips: TrainingClip[], split: EvaluateResult['split']): Promise<EvaluateResult> {
    const K = this.settings.classes.length;
    const logits = await this.logitsOf(clips);
    const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
    let correct = 0;
    let loss = 0;
    clips.forEach((c, i) => {
      const row = logits.subarray(i * K, (i + 1) * K);
      let best = 0;
      let max = -Infinity;
      for (let k = 0; k < K; k++) if (row[k]! > max) [max, best] = [row[k]!, k];
      let z = 0;
      for (let k = 0; k < K; k++) z += Math.exp(row[k]! - max);
      loss += -(row[c.label]! - max - Math.log(z));
      confusion[c.label]![best]!++;
      if (best === c.label) correct++;
    });
    return { accuracy: correct / clips.length, loss: loss / clips.length, confusion, split, clips: clips.length };
  }

  /** Keys of the parameters a checkpoint holds: the trainable ones plus the running statistics of trainable BNs. */
  private checkpointKeys(): Set<string> {
    const params = this.model.parameters();
    const keys = new Set<string>();
    for (const p of params) if (p.variable.trainable) keys.add(p.key);
    for (const p of params) {
      if (p.kind === 'bn_mean' || p.kind === 'bn_variance') {
        const layer = p.key.replace(/\._batch_norm\._(mean|variance)$/, '');
        if (keys.has(`${layer}._batch_norm.weight`)) keys.add(p.key);
      }
    }
    return keys;
  }

  /** A checkpoint of the current state (parameters and velocities read back asynchronously, `readBack.ts`). */
  async checkpoint(): Promise<TrainerCheckpoint> {
    this.live();
    const state = { ...this.state, history: [...this.state.history] };
    const keys = this.checkpointKeys();
    const saved = this.model.parameters().filter((p) => keys.has(p.key));
    const [data, velocity] = await Promise.all([readFloat32(saved.map((p) => p.variable)), this.optimizer.getState()]);
    return { ...state, params: Object.fromEntries(saved.map((p, i) => [p.key, data[i]!])), velocity: Object.fromEntries(velocity) };
  }

  /** Restores a checkpoint taken by `checkpoint()` of a trainer with the same settings. */
  restore(c: TrainerCheckpoint): void {
    this.live();
    const byKey = new Map(this.model.parameters().map((p) => [p.key, p.variable]));
    for (const [k, data] of Object.entries(c.params)) {
      const v = byKey.get(k);
      if (!v || v.size !== data.length) throw new PPTSNError('invalid-argument', `checkpoint parameter ${k} does not fit this trainer`);
    }
    tf.tidy(() => {
      for (const [k, data] of Object.entries(c.params)) {
        const v = byKey.get(k)!;
        v.assign(tf.tensor(data, v.shape));
      }
    });
    this.optimizer.setState(new Map(Object.entries(c.velocity)));
    this.state = { epoch: c.epoch, stepInEpoch: c.stepInEpoch, iteration: c.iteration, history: [...c.history], preciseBNDone: c.preciseBNDone };
  }

  /** The trained model as a PaddleVideo state dict (new class count, Paddle layouts). */
  async toStateDict(): Promise<StateDict> {
    this.live();
    return this.model.toStateDict();
  }

  /** Frees the model, the optimiser state and the caches. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cache?.dispose();
    this.optimizer.dispose();
    this.model.dispose();
  }
}
