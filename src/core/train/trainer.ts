/**
 * The fine-tuning loop (isomorphic, tfjs-core only): PP-TSN's recipe (docs/contract.md §7) on a handful of the
 * user's clips.
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
 * Files: settings.ts (defaults, validation), clips.ts (data, split, the input of one draw), newHead.ts, step.ts
 * (one optimisation step), progress.ts (what the loop reports), evaluation.ts, checkpoint.ts; this file is the loop.
 *
 * Resuming: a checkpoint holds the parameters of the trainable part (running statistics included), the optimiser's
 * velocities and the position (epoch, step within it, global iteration). Every random draw is seeded from
 * (seed, iteration) or (seed, epoch), so a resumed run repeats the same batches it would have seen.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import { epochsForFit } from './fitEpochs.js';
import type { Recognizer } from '../model/recognizer.js';
import { TrainableRecognizer } from '../model/trainable.js';
import { mulberry32, randint, type Rng } from '../preprocess/sampler.js';
import type { StateDict } from '../stateDict.js';
import { withNewHead } from './newHead.js';
import type { EpochInfo, FitResult, StepInfo, TrainingPosition } from './progress.js';
import { optimisationStep } from './step.js';
import { restoreCheckpoint, takeCheckpoint, type TrainerCheckpoint } from './checkpoint.js';
import { hashSeed, splitClips, trainImages, validImages, type TrainingClip } from './clips.js';
import { scoreLogits, type EvaluateResult } from './evaluation.js';
import { FeatureCache } from './featureCache.js';
import { drawMixup, mixBatch, permutation } from './mixup.js';
import { PaddleMomentum, paramGroups } from './optimizer.js';
import { preciseBN } from './preciseBn.js';
import { resolveSettings, type ResolvedSettings, type TrainerSettings } from './settings.js';
import { CustomWarmupCosineDecay } from './schedule.js';
import { yieldTurn } from '../yieldTurn.js';

// The run's data types live beside their concept; importers of trainer.ts keep finding them here.
export { resolveSettings, hashSeed };
export type { ResolvedSettings, TrainerSettings, TrainingClip, EvaluateResult, TrainerCheckpoint, TrainingPosition, StepInfo, EpochInfo, FitResult };

export interface FitOptions {
  signal?: AbortSignal;
  onStep?: (s: StepInfo) => void;
  onEpoch?: (e: EpochInfo) => void;
  /** Called with a checkpoint at each epoch end, when stopped, and after precise BN; awaited. */
  onCheckpoint?: (c: TrainerCheckpoint) => Promise<void> | void;
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
  private state: TrainingPosition = {
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

  /** The epoch count `fit({ epochs })` asks for (see fitEpochs.ts: any before the first step, then only more). */
  fitEpochs(epochs: number): void {
    (this.settings as { epochs: number }).epochs = epochsForFit(this.settings.epochs, epochs, this.state);
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

  /** The seeded train/validation split of the clips (clips.ts). */
  split(): { train: TrainingClip[]; valid: TrainingClip[] } {
    return splitClips(this.clips(), this.settings);
  }

  /** Train-pipeline images `[T, 224, 224, 3]` for one draw. */
  trainImages(clip: TrainingClip, rng: Rng): tf.Tensor4D {
    return trainImages(clip, this.settings, rng);
  }

  /** Valid-pipeline images (valid sampling over the pool, keep-ratio Scale, centre crop). */
  validImages(clip: TrainingClip): tf.Tensor4D {
    return validImages(clip, this.settings);
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

  /** One optimisation step on `batch` (step.ts); returns loss and accuracy. */
  private async step(batch: TrainingClip[], lr: number, rng: Rng): Promise<{ loss: number; accuracy: number }> {
    const s = this.settings;
    const B = batch.length;
    const draw = s.mixupAlpha > 0 && B >= 2 ? drawMixup(B, s.mixupAlpha, rng) : null;
    const raw = this.batchInput(batch, rng);
    const x = draw ? mixBatch(raw, draw, s.segments) : raw;
    if (draw) raw.dispose();
    const iteration = this.state.iteration;
    return optimisationStep(
      { model: this.model, optimizer: this.optimizer, segments: s.segments, labelSmoothing: s.labelSmoothing, microBatch: this.cache ? B : Math.min(B, s.microBatchSize), from: this.from, dropoutSeed: (m0) => hashSeed(s.seed, 'dropout', iteration, m0) },
      x,
      batch.map((c) => c.label),
      draw,
      lr,
    );
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
    // A class without a clip would train a head that never saw it (and report a perfect accuracy on the rest).
    const empty = s.classes.filter((_, k) => !this.clips().some((c) => c.label === k));
    if (empty.length > 0) throw new PPTSNError('invalid-argument', `no clips for ${empty.map((c) => JSON.stringify(c)).join(', ')}: add at least one clip to every class (addClip(source, label)) before fit`);
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
    return scoreLogits(await this.logitsOf(clips), clips, this.settings.classes.length, split);
  }

  /** A checkpoint of the current state (checkpoint.ts). */
  async checkpoint(): Promise<TrainerCheckpoint> {
    this.live();
    return takeCheckpoint(this.model, this.optimizer, this.state);
  }

  /** Restores a checkpoint taken by `checkpoint()` of a trainer with the same settings. */
  restore(c: TrainerCheckpoint): void {
    this.live();
    this.state = restoreCheckpoint(this.model, this.optimizer, c);
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
