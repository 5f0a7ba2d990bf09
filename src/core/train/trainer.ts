/**
 * The fine-tuning loop (isomorphic, tfjs-core only): PP-TSN's recipe (docs/contract.md §7) on a handful of clips.
 *
 * Data: each clip is a small pool of decoded frames; PaddleVideo's train sampler picks T of the pool per draw, and
 * the train transforms (keep-ratio Scale, MultiScaleCrop, RandomFlip, normalise) or the valid ones (centre crop)
 * make the input. Strategies: 'head' trains the FC on cached pooled features of V augmented views per clip,
 * 'last-stage' res5 + FC on cached res5 inputs (featureCache.ts), 'full' everything on images, accumulating
 * gradients over micro-batches (BN sees micro-batch statistics, like ghost batch norm). With cached inputs, mixup
 * mixes the cached tensors (exact for 'head', linear up to the dropout; an approximation for 'last-stage').
 *
 * Each step (step.ts): LR from CustomWarmupCosineDecay × the run's lrScale (lrScale.ts: a deliberate difference
 * for few clips), one mixup draw, label-smoothed loss, gradients, Paddle's Nesterov momentum with L2 and the FC
 * multipliers, BN running-statistics update. Each piece can be switched off (mixupAlpha 0, labelSmoothing 0,
 * weightDecay 0, warmupEpochs 0, schedule 'constant', lrMultipliers false, nesterov false, augment false,
 * dropout 0, preciseBN 0, adaptLearningRate false).
 *
 * Progress (progress.ts): phases `features`, `training`, `validating`, `saving` with one ETA from the current
 * phase's rate. Stopping: the signal is checked between feature views and between micro-batches; a stopped step
 * changes nothing, a checkpoint is taken at the step's start. Resuming: the checkpoint holds the trainable part
 * (running statistics included), the velocities and the position; every random draw is seeded from (seed,
 * iteration) or (seed, epoch), so a resumed run repeats the same batches bit-identically. Distillation
 * (clipTeacher.ts): a teacher's logits of the same views become targets; clips added `UNLABELLED` learn from them alone.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import { epochsForFit, extendedEpochs } from './fitEpochs.js';
import type { Recognizer } from '../model/recognizer.js';
import { TrainableRecognizer } from '../model/trainable.js';
import { hashSeed, mulberry32, permutation, randint, type Rng } from '../random.js';
import type { StateDict } from '../stateDict.js';
import { withNewHead } from './newHead.js';
import { PhaseClock, unitsLeft, type EpochInfo, type FitResult, type StepInfo, type TrainingPhase, type TrainingPosition, type TrainingProgress } from './progress.js';
import { optimisationStep, type StepControl } from './step.js';
import { divergenceWarning, lrScaleFor } from './lrScale.js';
import { isPPTSNError } from '../errors.js';
import { restoreCheckpoint, takeCheckpoint, type TrainerCheckpoint } from './checkpoint.js';
import { checkFitClips, splitClips, trainImages, validImages, type TrainingClip } from './clips.js';
import { scoreLogits, validLogits, type EvaluateResult } from './evaluation.js';
import { FeatureCache, fillCaches } from './featureCache.js';
import { drawMixup, mixBatch } from './mixup.js';
import { PaddleMomentum, paramGroups } from './optimizer.js';
import { preciseBN } from './preciseBn.js';
import { resolveSettings, type ResolvedSettings, type TrainerSettings } from './settings.js';
import { CustomWarmupCosineDecay } from './schedule.js';
import { settleTurn } from '../yieldTurn.js';
import { UNLABELLED, type ClipTeacher } from './clipTeacher.js';
import { itersPerEpoch, pageBatch } from './recipe.js';
import type { FitOptions } from './fitOptions.js';

// The run's data types live beside their concept; importers of trainer.ts keep finding them here.
export { resolveSettings, hashSeed };
export type { FitOptions, ResolvedSettings, TrainerSettings, TrainingClip, EvaluateResult, TrainerCheckpoint, TrainingPosition, StepInfo, EpochInfo, FitResult, TrainingPhase, TrainingProgress };

/**
 * Fine-tunes PP-TSN on clips. Create with the base model's state dict and (for 'head'/'last-stage') the inference
 * `Recognizer` of the same weights, which computes the frozen part's caches. Free with `dispose()`.
 */
export class ClipTrainer {
  readonly settings: ResolvedSettings;
  readonly model: TrainableRecognizer;
  private readonly optimizer: PaddleMomentum;
  private readonly cache: FeatureCache | null;
  /** Distillation's teacher (clipTeacher.ts), owned (freed by `dispose`). */
  private readonly teacher: ClipTeacher | null;
  private readonly clipMap = new Map<string, TrainingClip>();
  private state: TrainingPosition = { epoch: 0, stepInEpoch: 0, iteration: 0, history: [], preciseBNDone: false };
  private disposed = false;
  private busy = false;

  /**
   * `settings` are resolved once, by the caller's entry point (`resolveSettings`: the page's trainer in the worker,
   * worker/trainerEngine.ts, or a stored run's settings); the trainer keeps its own copy (`extendEpochs` raises it).
   */
  constructor(base: StateDict, settings: ResolvedSettings, recognizer?: Recognizer, opts: { chunkSize?: number; teacher?: ClipTeacher } = {}) {
    this.settings = { ...settings, classes: [...settings.classes] };
    this.teacher = opts.teacher ?? null;
    const s = this.settings;
    const sd = withNewHead(base, s.classes.length, hashSeed(s.seed, 'head'));
    this.model = TrainableRecognizer.fromStateDict(sd, { trainable: s.strategy, dropout: s.dropout });
    this.optimizer = new PaddleMomentum(paramGroups(this.model.parameters(), { weightDecay: s.weightDecay, lrMultipliers: s.lrMultipliers }), { momentum: s.momentum, nesterov: s.nesterov });
    if (s.strategy !== 'full' && !recognizer) {
      this.model.dispose();
      throw new PPTSNError('invalid-argument', `the '${s.strategy}' strategy needs the inference Recognizer for its feature cache`);
    }
    this.cache = s.strategy === 'full' ? null : new FeatureCache(s.strategy, recognizer!, opts.chunkSize ?? 8);
  }

  /** Raises the epoch count so `fit` trains further (never lowers it: the recipe of a run is otherwise fixed). */
  extendEpochs(epochs: number): void {
    (this.settings as { epochs: number }).epochs = extendedEpochs(this.settings.epochs, epochs);
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
    if (!(Number.isInteger(clip.label) && ((clip.label >= 0 && clip.label < this.settings.classes.length) || (clip.label === UNLABELLED && this.teacher)))) {
      throw new PPTSNError('invalid-argument', clip.label === UNLABELLED ? 'a clip without a label needs a teacher (createTrainer({ teacher }))' : `label ${clip.label} is not a class index (0..${this.settings.classes.length - 1})`);
    }
    if (clip.frames.length === 0) throw new PPTSNError('video-too-short', `clip ${clip.id} has no frames`);
    this.cache?.delete(clip.id);
    this.teacher?.delete(clip.id);
    this.clipMap.set(clip.id, clip);
  }

  removeClip(id: string): boolean {
    this.live();
    this.cache?.delete(id);
    this.teacher?.delete(id);
    return this.clipMap.delete(id);
  }

  clips(): TrainingClip[] {
    return [...this.clipMap.values()];
  }

  /** The seeded train/validation split of the clips (clips.ts), unlabelled ones under the teacher's top-1. */
  split(): { train: TrainingClip[]; valid: TrainingClip[] } {
    return splitClips(this.labelled(), this.settings);
  }

  /** The clips, each unlabelled one under the teacher's top-1 (left out until `prepare` computed it). */
  private labelled(): TrainingClip[] {
    return this.teacher ? this.teacher.labelled(this.clips()) : this.clips();
  }

  /**
   * Computes the cache of every clip that has none yet (no-op for 'full'). Yields between views, so a stop lands
   * within one view's forward pass; a stopped clip keeps no partial cache. `onProgress(done, total, view, views)`.
   */
  async prepare(onProgress?: (done: number, total: number, view?: number, views?: number) => void, signal?: AbortSignal): Promise<void> {
    this.live();
    // Views 0..V−1 are train draws; view V is the valid (centre-crop) view ('full' caches nothing: V = 0).
    const V = this.cache ? this.settings.views : 0;
    const images = (clip: TrainingClip, v: number) => (v < V ? trainImages(clip, this.settings, mulberry32(hashSeed(this.settings.seed, clip.id, 'view', v))) : validImages(clip, this.settings));
    if (this.cache) await fillCaches(this.cache, this.clips(), V, images, onProgress, signal);
    // The teacher's logits of the same views (its input is the student's: clipTeacher.ts).
    if (this.teacher && !signal?.aborted) await this.teacher.fill(this.clips(), V, this.settings.segments, images, signal);
  }

  /** Where the batch input enters the network: the cache's boundary, which is where the trainable part starts. */
  private get from() { return this.model.trainableFrom; }

  /** The batch input `[B·T, …]` for training. */
  private batchInput(batch: TrainingClip[], rng: Rng, views: number[] = []): tf.Tensor4D {
    const parts = batch.map((c) => {
      if (this.cache) {
        const cached = this.cache.get(c.id)!;
        views.push(randint(rng, cached.views.length));
        return cached.views[views.at(-1)!]!;
      }
      return trainImages(c, this.settings, rng);
    });
    try {
      return parts.length === 1 ? tf.clone(parts[0]!) : tf.concat(parts, 0);
    } finally {
      if (!this.cache) tf.dispose(parts);
    }
  }

  /** One optimisation step on `batch` (step.ts); returns loss and accuracy. */
  private async step(batch: TrainingClip[], lr: number, rng: Rng, control: StepControl = {}): Promise<{ loss: number; accuracy: number; extra?: Record<string, number> }> {
    const s = this.settings;
    const B = batch.length;
    const draw = s.mixupAlpha > 0 && B >= 2 ? drawMixup(B, s.mixupAlpha, rng) : null;
    const views: number[] = []; // the cached view each clip drew
    const raw = this.batchInput(batch, rng, views);
    const x = draw ? mixBatch(raw, draw, s.segments) : raw;
    if (draw) raw.dispose();
    const iteration = this.state.iteration;
    // Distillation: the teacher's targets of the same (mixed) input; the hard labels as added (UNLABELLED kept).
    const t = this.teacher;
    const targets = t ? (this.cache ? t.cachedTargets(batch, views, draw) : t.logits(x, s.segments)) : null;
    try {
      return await optimisationStep(
        { model: this.model, optimizer: this.optimizer, segments: s.segments, labelSmoothing: s.labelSmoothing, microBatch: this.cache ? B : Math.min(B, s.microBatchSize), from: this.from, dropoutSeed: (m0) => hashSeed(s.seed, 'dropout', iteration, m0), ...(t && targets ? { loss: t.lossFn(targets, batch.map((c) => this.clipMap.get(c.id)!.label), draw) } : {}) },
        x,
        batch.map((c) => c.label),
        draw,
        lr,
        control,
      );
    } finally {
      targets?.dispose();
    }
  }

  /** Clips per forward/backward pass of a step. */
  private get microBatch(): number { return this.cache ? this.settings.batchSize : Math.min(this.settings.batchSize, this.settings.microBatchSize); }

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
    const clock = new PhaseClock(opts.onProgress);
    const stopped = () => opts.signal?.aborted === true || opts.interrupt?.() === true;
    const result = (st: boolean, inStep?: FitResult['stoppedInStep']): FitResult => ({ stopped: st, epoch: this.state.epoch, iteration: this.state.iteration, history: [...this.state.history], ...(inStep ? { stoppedInStep: inStep } : {}) });
    const save = async () => {
      if (!opts.onCheckpoint) return;
      clock.report({ phase: 'saving', done: 0, total: 1, epoch: this.state.epoch, epochs: s.epochs });
      await opts.onCheckpoint(await this.checkpoint());
    };
    const stop = async (inStep?: FitResult['stoppedInStep']) => {
      await save();
      return result(true, inStep);
    };
    const features = (done: number, total: number, view?: number, views?: number) => clock.report({ phase: 'features', done, total, ...(view !== undefined ? { view, views } : {}) });
    // With a teacher the split needs its labels of the unlabelled clips (caches first), and no class needs a clip.
    if (this.teacher) await this.prepare(features, opts.signal);
    const { train, valid } = this.split();
    checkFitClips(train, this.clips(), this.teacher ? [] : s.classes);
    await this.prepare(features, opts.signal);
    if (stopped()) return stop();
    // PaddleVideo's sampler drops the last partial batch: ⌊N/B⌋ iterations an epoch (recipe.ts itersPerEpoch, as
    // the CLI's `train`). A handful of clips is the page's case, where N < B would leave no iteration at all: the
    // batch is then clamped to the train clips (one step an epoch on all of them), as PaddleVideo would with B = N.
    const B = pageBatch(train.length, s.batchSize);
    const steps = itersPerEpoch(train.length, B);
    const schedule = new CustomWarmupCosineDecay({ baseLr: s.learningRate, warmupStartLr: s.warmupStartLr, warmupEpochs: s.warmupEpochs, maxEpoch: s.epochs, cosine: s.schedule === 'cosine' }, steps);
    if (this.state.lrScale === undefined && this.state.iteration === 0) {
      this.state.lrScale = await lrScaleFor(s, train.length, this.cache ? train.flatMap((c) => this.cache!.get(c.id)!.views) : []);
    }
    const lrScale = this.state.lrScale ?? 1;
    // Progress of `training` counts micro-batches over this fit's remaining steps (one per step with cached inputs).
    const micro = this.microBatch;
    const perStep = (_k: number) => Math.ceil(B / micro);
    const units = unitsLeft(perStep, steps, s.epochs, this.state);
    let unitsDone = 0;
    const report = (e: number, k: number) => clock.report({ phase: 'training', done: unitsDone, total: units, epoch: e + 1, epochs: s.epochs, step: Math.min(k + 1, steps), steps });
    const eta = () => (clock.rate(unitsDone) ?? 0) * (units - unitsDone);
    report(this.state.epoch, this.state.stepInEpoch);
    while (this.state.epoch < s.epochs) {
      const e = this.state.epoch;
      const tEpoch = Date.now();
      // A resumed epoch repeats the same order: the shuffle depends on (seed, epoch) only.
      const order = permutation(train.length, mulberry32(hashSeed(s.seed, 'epoch', e))).map((i) => train[i]!);
      let sumLoss = 0;
      let sumAcc = 0;
      let counted = 0;
      let lr = schedule.lrAt(this.state.iteration) * lrScale;
      for (let k = this.state.stepInEpoch; k < steps; k++) {
        if (stopped()) return stop();
        lr = schedule.lrAt(this.state.iteration) * lrScale;
        const batch = order.slice(k * B, (k + 1) * B);
        const before = unitsDone;
        let clipsDone = 0;
        let r: Awaited<ReturnType<ClipTrainer['step']>>;
        try {
          r = await this.step(batch, lr, mulberry32(hashSeed(s.seed, 'iter', this.state.iteration)), {
            ...(opts.signal ? { signal: opts.signal } : {}),
            ...(opts.interrupt ? { interrupt: opts.interrupt } : {}),
            onMicroBatch: (c) => {
              clipsDone = c;
              unitsDone = before + Math.ceil(c / micro);
              if (c < batch.length) report(e, k);
            },
            // Inside a micro-batch's pass: `done` grows by fractions of a micro-batch.
            onPart: (c) => {
              unitsDone = before + c / micro;
              report(e, k);
            },
          });
        } catch (err) {
          // Stopped inside the step: nothing of it was applied, the position is the step's start.
          if (isPPTSNError(err) && err.code === 'aborted' && stopped()) return stop({ clipsDone, clips: batch.length });
          throw err;
        }
        sumLoss += r.loss;
        sumAcc += r.accuracy;
        counted++;
        unitsDone = before + perStep(k);
        this.state.iteration++;
        this.state.stepInEpoch = k + 1;
        opts.onStep?.({ epoch: e + 1, epochs: s.epochs, step: k + 1, steps, iteration: this.state.iteration, loss: r.loss, accuracy: r.accuracy, lr, etaMs: eta(), ...(r.extra?.['kd'] !== undefined ? { kd: r.extra['kd'] } : {}) });
        report(e, k + 1 < steps ? k + 1 : k);
        await settleTurn();
      }
      const info: EpochInfo = { epoch: e + 1, epochs: s.epochs, loss: counted ? sumLoss / counted : NaN, accuracy: counted ? sumAcc / counted : NaN, lr, ms: Date.now() - tEpoch, etaMs: 0 };
      if (valid.length > 0) {
        const v = await this.evaluateOn(valid, 'validation', (done) => clock.report({ phase: 'validating', done, total: valid.length, epoch: e + 1, epochs: s.epochs }));
        info.valLoss = v.loss;
        info.valAccuracy = v.accuracy;
        if (v.agreement !== undefined) info.agreement = v.agreement;
      }
      const first = this.state.history[0]?.loss ?? info.loss;
      const warning = divergenceWarning(first, info.loss, e + 1);
      if (warning) info.warning = warning;
      this.state.epoch = e + 1;
      this.state.stepInEpoch = 0;
      info.etaMs = eta();
      this.state.history.push(info);
      opts.onEpoch?.(info);
      if (warning) clock.report({ phase: 'training', done: unitsDone, total: units, epoch: e + 1, epochs: s.epochs, step: steps, steps, warning });
      await save();
    }
    if (!this.state.preciseBNDone && s.preciseBN > 0 && s.strategy !== 'head' && !stopped()) {
      try {
        await this.runPreciseBN(train, opts.signal);
      } catch (err) {
        if (isPPTSNError(err) && err.code === 'aborted' && stopped()) return stop();
        throw err;
      }
      this.state.preciseBNDone = true;
      await save();
    }
    return result(false);
  }

  /** Precise BN over `settings.preciseBN` train batches (micro-batch sized for 'full'), no mixup. */
  private async runPreciseBN(train: TrainingClip[], signal?: AbortSignal): Promise<number> {
    const s = this.settings;
    return preciseBN(this.model, s.preciseBN, (k) => {
      if (signal?.aborted) throw new PPTSNError('aborted', 'stopped during precise BN');
      const rng = mulberry32(hashSeed(s.seed, 'preciseBN', k));
      return this.batchInput(permutation(train.length, rng).slice(0, this.microBatch).map((i) => train[i]!), rng);
    }, this.from);
  }

  /** Accuracy, loss and confusion on the validation split (every clip when there is none), eval mode. */
  async evaluate(): Promise<EvaluateResult> {
    this.live();
    if (this.teacher) await this.prepare();
    const { valid } = this.split();
    if (valid.length > 0) return this.evaluateOn(valid, 'validation');
    const all = this.labelled();
    if (all.length === 0) throw new PPTSNError('invalid-argument', 'no clips to evaluate');
    return this.evaluateOn(all, 'all');
  }

  /** Eval-mode logits `[n, K]` of clips (valid view; evaluation.ts). */
  async logitsOf(clips: TrainingClip[], onClip?: (done: number) => void): Promise<Float32Array> {
    this.live();
    await this.prepare();
    const cache = this.cache;
    const input = (c: TrainingClip) => (cache ? cache.get(c.id)!.valid : validImages(c, this.settings));
    return validLogits(this.model, clips, input, { segments: this.settings.segments, from: this.from, per: cache ? this.settings.batchSize : 1 }, onClip);
  }

  private async evaluateOn(clips: TrainingClip[], split: EvaluateResult['split'], onClip?: (done: number) => void): Promise<EvaluateResult> {
    const logits = await this.logitsOf(clips, onClip);
    const r = scoreLogits(logits, clips, this.settings.classes.length, split);
    // Agreement: the share of clips where the student's top-1 is the teacher's (the CLI's `agreement`).
    if (this.teacher) r.agreement = this.teacher.agreement(logits, clips);
    return r;
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
    this.teacher?.dispose();
    this.optimizer.dispose();
    this.model.dispose();
  }
}
