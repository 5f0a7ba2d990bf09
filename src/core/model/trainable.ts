/**
 * PP-TSN in training form: the same network as `Recognizer`, but with unfolded parameters held in tf.Variables
 * (conv weights, BN scale/offset, FC) and BatchNorm computed explicitly, so it can be fine-tuned.
 *
 * Modes, as Paddle's `model.train()` / `model.eval()`, restricted to the part being trained:
 * - eval (`training: false`): every BN normalises with its running statistics; no dropout. Logits equal the
 *   inference `Recognizer`'s (same parameters, BN unfolded) up to float rounding.
 * - train (`training: true`): the BN layers of the trainable part normalise with the batch statistics over
 *   (N, H, W) (biased variance, as Paddle), the head applies Dropout(0.4); frozen parts stay in eval mode, as
 *   a frozen pretrained backbone should. The batch statistics of each train-mode forward are recorded, and
 *   `commitBatchStats()` folds them into the running statistics after the optimiser step:
 *   running = momentum·running + (1 − momentum)·batch with Paddle's momentum 0.9. Paddle's CPU kernel (and its
 *   documented formula) stores the biased batch variance; cuDNN-trained checkpoints carry the unbiased one,
 *   a factor m/(m − 1) (m = N·H·W values per channel) that is below 0.1 % for PP-TSN's batch shapes.
 *
 * Trainable subsets ('head' | 'last-stage' | 'full') set which variables are trainable. With 'last-stage' the
 * feature map at stage boundary 4 (input of res5, `bb_3_*`) can be computed once by the inference
 * `Recognizer.runStages(images, 0, 4)` and fed here with `from: 4`.
 *
 * Precise BN (PaddleVideo `do_preciseBN`): `batchStatistics(x)` runs a train-mode forward and returns each
 * trainable BN layer's batch mean/variance (what momentum 0 would store) without touching the running
 * statistics; average them over K batches and `setRunningStats(avg)`.
 *
 * Gradients: tfjs-core registers its gradient functions only via the side-effect module
 * `@tensorflow/tfjs-core/dist/register_all_gradients.js` (ESM; a browser/worker bundle imports it) or, in Node,
 * by importing the `@tensorflow/tfjs` package once (the tests do, test/helpers/nodeGradients.ts). Convolutions,
 * train-mode BN + ReLU and the head's FC carry their own gradients (`convGrad.ts`, `batchNormTrain.ts`, `linearGrad.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import { readFloat32 } from '../readBack.js';
import type { StateDict } from '../stateDict.js';
import { convBNLayers, type ArchSpec, type ConvBNSpec } from './arch.js';
import { batchNormTrain } from './batchNormTrain.js';
import { conv2dTrainable } from './convGrad.js';
import { transposeHWIOtoOIHW, transposeOIHWtoHWIO } from './filterLayout.js';
import { passGrads, type PassGrads } from './passGrads.js';
import { BN_MOMENTUM, type BatchNormStats, type ForwardOptions, type NamedVariable, type TrainableOptions, type TrainableSubset } from './trainableTypes.js';
import { HEAD_DROPOUT, ppTSNHead } from './head.js';
import { BN_EPSILON, Recognizer } from './recognizer.js';
import { convPadding, FEATURE_MAP_BOUNDARY, globalAvgPool, IMAGE_BOUNDARY, LAST_STAGE_BOUNDARY, runBackbone, vdAvgPoolTrainable, type ConvBNRunner, type StageBoundary } from './resnetVd.js';
import { resolveArch } from './validate.js';

// The training form's option and data types (trainableTypes.ts), where passGrads.ts can import them too.
export { BN_MOMENTUM } from './trainableTypes.js';
export type { TrainableSubset, TrainableOptions, ForwardOptions, BatchNormStats, NamedVariable } from './trainableTypes.js';

interface ConvBNVars {
  filter: tf.Variable<tf.Rank.R4>;
  gamma: tf.Variable<tf.Rank.R1>;
  beta: tf.Variable<tf.Rank.R1>;
  mean: tf.Variable<tf.Rank.R1>;
  variance: tf.Variable<tf.Rank.R1>;
}

const SUBSET_FROM: Record<TrainableSubset, StageBoundary> = { full: IMAGE_BOUNDARY, 'last-stage': LAST_STAGE_BOUNDARY, head: FEATURE_MAP_BOUNDARY };

/** PP-TSN with trainable variables. Create with `TrainableRecognizer.fromStateDict`; free with `dispose()`. */
export class TrainableRecognizer {
  readonly arch: ArchSpec;
  /** Dropout ratio of the head in train mode. */
  readonly dropout: number;
  /** BN running-statistics momentum. */
  readonly momentum: number;
  private readonly convs = new Map<string, ConvBNVars>();
  /** Stage boundary at which each ConvBN's part starts (stem 0, res2..res5 1..4). */
  private readonly layerPart = new Map<string, number>();
  private readonly fcWeight: tf.Variable<tf.Rank.R2>;
  private readonly fcBias: tf.Variable<tf.Rank.R1>;
  private subset: TrainableSubset = 'full';
  private pending = new Map<string, BatchNormStats>();
  private disposed = false;

  private constructor(arch: ArchSpec, sd: StateDict, opts: TrainableOptions) {
    this.arch = arch;
    this.dropout = opts.dropout ?? HEAD_DROPOUT;
    this.momentum = opts.momentum ?? BN_MOMENTUM;
    if (!(this.dropout >= 0 && this.dropout < 1)) throw new PPTSNError('invalid-argument', `dropout must be in [0, 1), got ${this.dropout}`);
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new PPTSNError('invalid-argument', `momentum must be in [0, 1], got ${this.momentum}`);
    for (const l of arch.stem) this.layerPart.set(l.key, 0);
    for (const b of arch.blocks) for (const l of [...b.branch, ...(b.short ? [b.short] : [])]) this.layerPart.set(l.key, b.stage + 1);
    const get = (k: string) => sd.get(k)!.data;
    // Variables are unnamed: tfjs registers variable names globally, and two models must be able to coexist.
    // A variable shares its initial tensor's data, so the initial tensor can be freed right away.
    const variable = <R extends tf.Rank>(t: tf.Tensor<R>, trainable = true): tf.Variable<R> => {
      const v = tf.variable(t, trainable);
      t.dispose();
      return v;
    };
    for (const l of convBNLayers(arch)) {
      const K = l.kernel;
      this.convs.set(l.key, {
        filter: variable(tf.tensor4d(transposeOIHWtoHWIO(get(`${l.key}._conv.weight`), l.outChannels, l.inChannels, K), [K, K, l.inChannels, l.outChannels])),
        gamma: variable(tf.tensor1d(get(`${l.key}._batch_norm.weight`))),
        beta: variable(tf.tensor1d(get(`${l.key}._batch_norm.bias`))),
        mean: variable(tf.tensor1d(get(`${l.key}._batch_norm._mean`)), false),
        variance: variable(tf.tensor1d(get(`${l.key}._batch_norm._variance`)), false),
      });
    }
    this.fcWeight = variable(tf.tensor2d(get('head.fc.weight'), [arch.featureDim, arch.numClasses]));
    this.fcBias = variable(tf.tensor1d(get('head.fc.bias')));
    this.setTrainable(opts.trainable ?? 'full');
  }

  /**
   * Builds the training form from a PaddleVideo state dict (checked as `Recognizer.fromStateDict` does). The
   * arrays are copied into variables; `sd` is not kept.
   */
  static fromStateDict(sd: StateDict, opts: TrainableOptions = {}): TrainableRecognizer {
    // Fail early and clearly rather than at the first gradient: tfjs-core's gradient functions are registered
    // by a side-effect import the platform layer makes (see the module doc).
    for (const k of ['Conv2D', 'FusedBatchNorm', 'AvgPool', 'MaxPool', 'BatchMatMul']) {
      if (!tf.getGradient(k)) {
        throw new PPTSNError('internal', `tfjs gradients are not registered (none for ${k}): import '@tensorflow/tfjs-core/dist/register_all_gradients.js' in a browser bundle, or import '@tensorflow/tfjs' once in Node (its Node build registers them all)`);
      }
    }
    return new TrainableRecognizer(resolveArch(sd, opts), sd, opts);
  }

  private live(): void {
    if (this.disposed) throw new PPTSNError('invalid-argument', 'this TrainableRecognizer was disposed');
  }

  /** The current trainable subset. */
  get trainable(): TrainableSubset {
    return this.subset;
  }

  /** First stage boundary of the trainable part: 0 ('full'), 4 ('last-stage'), 5 ('head'). */
  get trainableFrom(): StageBoundary {
    return SUBSET_FROM[this.subset];
  }

  /** Selects the trainable subset: sets `variable.trainable` on every parameter (running statistics never). */
  setTrainable(subset: TrainableSubset): void {
    this.live();
    if (!(subset in SUBSET_FROM)) throw new PPTSNError('invalid-argument', `trainable subset must be 'head', 'last-stage' or 'full', got ${String(subset)}`);
    this.subset = subset;
    for (const [key, v] of this.convs) {
      const on = this.layerPart.get(key)! >= SUBSET_FROM[subset];
      v.filter.trainable = on;
      v.gamma.trainable = on;
      v.beta.trainable = on;
    }
    this.fcWeight.trainable = true;
    this.fcBias.trainable = true;
  }

  /** Every parameter in PaddleVideo's state-dict order, with its structured key and kind. */
  parameters(): NamedVariable[] {
    this.live();
    const out: NamedVariable[] = [];
    for (const [key, v] of this.convs) {
      out.push({ key: `${key}._conv.weight`, kind: 'conv', variable: v.filter });
      out.push({ key: `${key}._batch_norm.weight`, kind: 'bn_weight', variable: v.gamma });
      out.push({ key: `${key}._batch_norm.bias`, kind: 'bn_bias', variable: v.beta });
      out.push({ key: `${key}._batch_norm._mean`, kind: 'bn_mean', variable: v.mean });
      out.push({ key: `${key}._batch_norm._variance`, kind: 'bn_variance', variable: v.variance });
    }
    out.push({ key: 'head.fc.weight', kind: 'fc_weight', variable: this.fcWeight });
    out.push({ key: 'head.fc.bias', kind: 'fc_bias', variable: this.fcBias });
    return out;
  }

  /** The variables of the current trainable subset (pass as `varList` to tf.variableGrads / optimizer.minimize). */
  trainableVariables(): tf.Variable[] {
    return this.parameters()
      .filter((p) => p.variable.trainable)
      .map((p) => p.variable);
  }

  /** ConvBN layers from stage boundary `from` on: a train-mode pass calls `onLayer` twice for each. */
  trainableLayers(from: StageBoundary): number {
    return convBNLayers(this.arch).filter((l) => this.layerPart.get(l.key)! >= from).length;
  }

  private runner(training: boolean, record: Map<string, BatchNormStats> | undefined, onLayer?: (backward: boolean) => void): ConvBNRunner {
    return this.trainRunner(training, record, training && onLayer ? () => onLayer(false) : undefined, training && onLayer ? () => onLayer(true) : undefined);
  }

  /**
   * The ConvBN runner (train mode: batch statistics in the trainable part, recorded into `record` when given), with
   * `onForward` after each layer's forward and `onBackward` after each train-mode BN's gradients, just before its
   * conv's (passGrads.ts uses both).
   */
  trainRunner(training: boolean, record: Map<string, BatchNormStats> | undefined, onForward?: () => void, onBackward?: () => void): ConvBNRunner {
    const backward = onBackward;
    return (layer: ConvBNSpec, x: tf.Tensor4D): tf.Tensor4D => {
      const v = this.convs.get(layer.key)!;
      const input = layer.avgPoolFirst ? vdAvgPoolTrainable(x) : x;
      const y = conv2dTrainable(input, v.filter, layer.stride, convPadding(layer.kernel));
      if (training && this.layerPart.get(layer.key)! >= this.trainableFrom) {
        // BN (+ ReLU) with its closed-form backward pass (batchNormTrain.ts). The statistics are kept: they
        // outlive the per-block tidy and the gradient scope, until committed or discarded.
        const bn = batchNormTrain(y, v.gamma, v.beta, BN_EPSILON, layer.act, backward);
        if (record) record.set(layer.key, { mean: bn.mean, variance: bn.variance });
        else tf.dispose([bn.mean, bn.variance]);
        onForward?.();
        return bn.y;
      }
      const z = tf.batchNorm(y, v.mean, v.variance, v.beta, v.gamma, BN_EPSILON) as tf.Tensor4D;
      onForward?.();
      return layer.act ? tf.relu(z) : z;
    };
  }

  private checkInput(x: tf.Tensor, from: number, segments?: number): void {
    if (x.rank !== 4) throw new PPTSNError('invalid-argument', `expected an NHWC tensor [n, H, W, C], got [${x.shape.join(', ')}]`);
    if (from === IMAGE_BOUNDARY && x.shape[3] !== 3) throw new PPTSNError('invalid-argument', `images must have 3 channels, got [${x.shape.join(', ')}]`);
    if (segments !== undefined && (!Number.isInteger(segments) || segments < 1 || x.shape[0] % segments !== 0)) {
      throw new PPTSNError('invalid-argument', `${x.shape[0]} images do not split into clips of ${segments} segments`);
    }
  }

  private replacePending(next: Map<string, BatchNormStats>): void {
    this.discardBatchStats();
    this.pending = next;
  }

  /**
   * Logits `[N, classes]` for `x` = N clips × `segments` images (NHWC), or feature maps at `opts.from` (e.g. the
   * cached input of res5). A train-mode call records its batch statistics for `commitBatchStats()`, replacing any
   * uncommitted ones.
   */
  logits(x: tf.Tensor4D, segments: number, opts: ForwardOptions): tf.Tensor2D {
    this.live();
    const from = opts.from ?? IMAGE_BOUNDARY;
    this.checkInput(x, from, segments);
    const record = opts.training ? new Map<string, BatchNormStats>() : undefined;
    try {
      const map = runBackbone(this.arch, x, this.runner(opts.training, record, opts.onLayer), from, FEATURE_MAP_BOUNDARY);
      try {
        return this.head(map, segments, opts);
      } finally {
        map.dispose();
      }
    } finally {
      if (record) this.replacePending(record);
    }
  }

  /** The head on the last feature map `[N·T, h, w, F]`: pooled, averaged over the T segments, dropout (train), FC. */
  head(map: tf.Tensor4D, segments: number, opts: Pick<ForwardOptions, 'training' | 'seed'>): tf.Tensor2D {
    return tf.tidy(() => {
      const feats = tf.reshape(globalAvgPool(map), [map.shape[0] / segments, segments, this.arch.featureDim]) as tf.Tensor3D;
      return ppTSNHead(feats, this.fcWeight, this.fcBias, opts.training ? this.dropout : 0, opts.seed);
    });
  }

  /** The trainable variables of `layers` (filter, BN scale and offset of each), in order; with `head`, the FC's. */
  variablesOf(layers: readonly ConvBNSpec[], head = false): tf.Variable[] {
    const vs = layers.flatMap((l) => { const v = this.convs.get(l.key)!; return [v.filter, v.gamma, v.beta]; });
    return [...vs, ...(head ? [this.fcWeight, this.fcBias] : [])].filter((v) => v.trainable);
  }

  /** Makes `record` the recorded batch statistics (as a train-mode `logits` call does). */
  recordBatchStats(record: Map<string, BatchNormStats>): void {
    this.replacePending(record);
  }

  /**
   * The loss of a train-mode pass on `x` and the gradients of the trainable variables (by variable name, as
   * `tf.variableGrads`), computed unit by unit with each unit's forward recomputed (passGrads.ts): the peak memory
   * of one unit's pass instead of the whole network's. Records the batch statistics as `logits` does.
   */
  passGrads(x: tf.Tensor4D, segments: number, loss: (logits: tf.Tensor2D) => tf.Scalar, opts: Omit<ForwardOptions, 'training'> = {}): PassGrads {
    this.live();
    const from = opts.from ?? IMAGE_BOUNDARY;
    this.checkInput(x, from, segments);
    return passGrads(this, x, segments, loss, { ...opts, from });
  }

  /**
   * A closure for `tf.variableGrads(f, model.trainableVariables())` or
   * `optimizer.minimize(f, true, model.trainableVariables())`: a train-mode forward on `x`, then `loss(logits)`.
   * Call `commitBatchStats()` after the optimiser step.
   */
  objective(x: tf.Tensor4D, segments: number, loss: (logits: tf.Tensor2D) => tf.Scalar, opts: Omit<ForwardOptions, 'training'> = {}): () => tf.Scalar {
    return () => loss(this.logits(x, segments, { ...opts, training: true }));
  }

  /**
   * Hands over the recorded batch statistics (the caller owns them: commit them later with `commitBatchStats(stats)`
   * or dispose them). A step over several micro-batches keeps each one's statistics this way and commits them only
   * once the whole step succeeded, so a stop in the middle of a step leaves the running statistics untouched.
   */
  takeBatchStats(): Map<string, BatchNormStats> {
    const taken = this.pending;
    this.pending = new Map();
    return taken;
  }

  /**
   * Applies the recorded batch statistics (or `stats`, taken earlier with `takeBatchStats`, which are then
   * disposed): running = momentum·running + (1 − momentum)·batch, then forgets them.
   */
  commitBatchStats(stats?: Map<string, BatchNormStats>): void {
    this.live();
    if (stats) this.replacePending(stats);
    const m = this.momentum;
    tf.tidy(() => {
      for (const [key, s] of this.pending) {
        const v = this.convs.get(key)!;
        v.mean.assign(tf.add(tf.mul(v.mean, m), tf.mul(s.mean, 1 - m)));
        v.variance.assign(tf.add(tf.mul(v.variance, m), tf.mul(s.variance, 1 - m)));
      }
    });
    this.discardBatchStats();
  }

  /** Drops recorded batch statistics without applying them (e.g. after a forward that was not a step). */
  discardBatchStats(): void {
    for (const s of this.pending.values()) tf.dispose([s.mean, s.variance]);
    this.pending = new Map();
  }

  /**
   * Precise-BN hook: a train-mode backbone forward (no head, no dropout) on `x` (starting at `opts.from`), and the
   * batch mean/variance of every BN layer of the trainable part, keyed by ConvBN key (`backbone.bb_3_0.conv1`).
   * Running statistics are not changed; the caller owns (and disposes) the returned tensors.
   */
  batchStatistics(x: tf.Tensor4D, opts: { from?: StageBoundary } = {}): Map<string, BatchNormStats> {
    this.live();
    const from = opts.from ?? IMAGE_BOUNDARY;
    this.checkInput(x, from);
    const record = new Map<string, BatchNormStats>();
    runBackbone(this.arch, x, this.runner(true, record), from, FEATURE_MAP_BOUNDARY).dispose();
    return record;
  }

  /** Sets running statistics (e.g. precise-BN averages) for the given ConvBN keys. */
  setRunningStats(stats: Map<string, { mean: tf.Tensor1D | Float32Array; variance: tf.Tensor1D | Float32Array }>): void {
    this.live();
    for (const [key, s] of stats) {
      const v = this.convs.get(key);
      if (!v) throw new PPTSNError('invalid-argument', `setRunningStats: no BatchNorm layer "${key}"`);
      const C = v.mean.shape[0];
      for (const [name, val] of [['mean', s.mean], ['variance', s.variance]] as const) {
        const n = val instanceof Float32Array ? val.length : val.size;
        if (n !== C) throw new PPTSNError('invalid-argument', `setRunningStats: ${key} ${name} has ${n} values, expected ${C}`);
      }
    }
    tf.tidy(() => {
      for (const [key, s] of stats) {
        const v = this.convs.get(key)!;
        v.mean.assign(s.mean instanceof Float32Array ? tf.tensor1d(s.mean) : tf.reshape(s.mean, [v.mean.shape[0]]));
        v.variance.assign(s.variance instanceof Float32Array ? tf.tensor1d(s.variance) : tf.reshape(s.variance, [v.variance.shape[0]]));
      }
    });
  }

  /** Current parameters (running statistics included) as a PaddleVideo state dict in Paddle layouts (read back asynchronously, `readBack.ts`). */
  async toStateDict(): Promise<StateDict> {
    this.live();
    const entries: { key: string; shape: number[]; tensor: tf.Tensor; conv?: ConvBNSpec }[] = [];
    for (const l of convBNLayers(this.arch)) {
      const v = this.convs.get(l.key)!;
      const O = l.outChannels;
      entries.push(
        { key: `${l.key}._conv.weight`, shape: [O, l.inChannels, l.kernel, l.kernel], tensor: v.filter, conv: l },
        { key: `${l.key}._batch_norm.weight`, shape: [O], tensor: v.gamma },
        { key: `${l.key}._batch_norm.bias`, shape: [O], tensor: v.beta },
        { key: `${l.key}._batch_norm._mean`, shape: [O], tensor: v.mean },
        { key: `${l.key}._batch_norm._variance`, shape: [O], tensor: v.variance },
      );
    }
    entries.push(
      { key: 'head.fc.weight', shape: [this.arch.featureDim, this.arch.numClasses], tensor: this.fcWeight },
      { key: 'head.fc.bias', shape: [this.arch.numClasses], tensor: this.fcBias },
    );
    const data = await readFloat32(entries.map((e) => e.tensor));
    const out: StateDict = new Map();
    entries.forEach(({ key, shape, conv: l }, i) => {
      out.set(key, { shape, data: l ? transposeHWIOtoOIHW(data[i]!, l.outChannels, l.inChannels, l.kernel) : data[i]! });
    });
    return out;
  }

  /** An inference `Recognizer` (BN folded) with the current parameters. */
  async toRecognizer(): Promise<Recognizer> {
    return Recognizer.fromStateDict(await this.toStateDict(), { depth: this.arch.depth, numClasses: this.arch.numClasses });
  }

  /** Frees every variable and any recorded statistics. */
  dispose(): void {
    if (this.disposed) return;
    this.discardBatchStats();
    this.disposed = true;
    for (const v of this.convs.values()) tf.dispose([v.filter, v.gamma, v.beta, v.mean, v.variance]);
    tf.dispose([this.fcWeight, this.fcBias]);
  }
}
