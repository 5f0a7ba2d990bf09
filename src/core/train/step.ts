/**
 * One optimisation step of fine-tuning (PaddleVideo `paddlevideo/tasks/train.py`'s inner loop): forward in train
 * mode, label-smoothed cross entropy (mixed when the batch was mixed up), gradients accumulated over micro-batches
 * when the batch does not fit (BN then sees micro-batch statistics), BN running statistics committed, one Paddle
 * Momentum update.
 *
 * Stopping inside a step (`StepControl.signal`): checked after every micro-batch (with a macrotask turn, so a stop
 * message can land); an aborted step throws PPTSNError('aborted') having changed nothing: the gradients so far are
 * dropped and each micro-batch's BN statistics are held back (`takeBatchStats`) until the step completes, so the
 * model, the optimiser and the running statistics are exactly those before the step, and a checkpoint taken then
 * resumes bit-identically (the step is redone with the same seeded draws). `StepControl.interrupt` is polled at
 * every layer inside a micro-batch's pass, so a stop lands within one layer where the caller can read it without a
 * message (the worker: an Atomics flag); the pass is left, its tensors freed, and the step changes nothing either.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import type { PassEngine } from '../model/passEngine.js';
import type { StageBoundary } from '../model/resnetVd.js';
import type { BatchNormStats, TrainableRecognizer } from '../model/trainable.js';
import { settleTurn } from '../yieldTurn.js';
import { labelSmoothedLoss, smoothedTargets } from './labelSmoothing.js';
import { mixupAccuracy, type MixupDraw } from './mixup.js';
import type { PaddleMomentum } from './optimizer.js';

export interface StepContext {
  model: TrainableRecognizer;
  optimizer: PaddleMomentum;
  /** T: images per clip in the input. */
  segments: number;
  labelSmoothing: number;
  /** Clips per forward/backward pass (the whole batch with cached inputs). */
  microBatch: number;
  /** Where the input enters the network (the feature cache's boundary, or the image). */
  from: StageBoundary;
  /** Dropout seed of the micro-batch starting at clip `m0`. */
  dropoutSeed: (m0: number) => number;
  /**
   * Replaces the label-smoothed CE (e.g. distillation, train's `--teacher`): the loss of the micro-batch's
   * `logits` `[rows.length, K]` for batch rows `rows`, and optional extra terms to report (each averaged over the
   * batch like the loss, returned in the step's `extra`). Called inside `tf.variableGrads`: the extra terms are
   * read and disposed here.
   */
  loss?: (logits: tf.Tensor2D, rows: number[]) => { total: tf.Scalar; extra?: Record<string, tf.Scalar> };
  /**
   * Runs each micro-batch's pass on another runtime (the CLI: onnxruntime-node, src/node/train/ortPass.ts) instead
   * of `model.passGrads` on tfjs; same loss, gradients and batch statistics within float32 rounding. Its pass is not
   * split by layer: `StepControl.onPart`/`interrupt` are heard between micro-batches only.
   */
  engine?: PassEngine;
}

/** Optional control of one step: stop inside it, hear of each micro-batch. */
export interface StepControl {
  /** Checked after each micro-batch: when aborted, the step throws PPTSNError('aborted') and changes nothing. */
  signal?: AbortSignal;
  /** Called after each micro-batch with the clips done so far and the batch's clips. */
  onMicroBatch?: (clipsDone: number, clips: number) => void;
  /**
   * Called inside a micro-batch's forward and backward pass, PART_REPORTS times at most, with the clips done so far
   * including the running micro-batch's share (e.g. 0.5 halfway through the first one-clip micro-batch): a pass
   * can take tens of seconds on a CPU, and the worker must still say it is alive (issue 26). Synchronous: the
   * thread is inside the pass, so what it posts leaves at once but nothing it receives runs until the pass ends.
   */
  onPart?: (clipsDone: number, clips: number) => void;
  /**
   * Polled at every layer of a micro-batch's forward and backward pass (cheap and synchronous: e.g. an Atomics flag
   * the page sets, which a worker busy in the pass can still read): true leaves the pass where it is, and the step
   * throws PPTSNError('aborted') having changed nothing, as a stop between micro-batches does.
   */
  interrupt?: () => boolean;
}

/** Thrown from a layer callback to leave a pass; turned into PPTSNError('aborted') once its tensors are freed. */
class Interrupted extends Error {}

/**
 * Frees what a pass left on tfjs's gradient tape when it was left by an exception: the tensors each recorded kernel
 * kept for its gradient (tfjs frees them only at the end of a completed `gradients` call). Only the outermost
 * gradient scope owns the tape.
 */
function dropGradientTape(): void {
  const state = tf.engine().state as unknown as { gradientDepth: number; activeTape: { saved?: tf.Tensor[] }[] | null };
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}

/**
 * Progress reports inside one micro-batch's forward and backward pass, at most (evenly spaced over its layers): one
 * per layer and direction up to ResNet50 (46 a pass for ResNet18). Fewer (16) left 4 s gaps in the stem's backward
 * on a loaded 2-core machine; an event is a small postMessage.
 */
export const PART_REPORTS = 128;

function lossOf(logits: tf.Tensor2D, labels: number[], draw: MixupDraw | null, rows: number[], eps: number): tf.Scalar {
  return tf.tidy(() => {
    const ya = tf.tensor1d(rows.map((r) => labels[r]!), 'int32');
    const la = labelSmoothedLoss(logits, ya, eps);
    if (!draw) return la;
    const yb = tf.tensor1d(rows.map((r) => labels[draw.perm[r]!]!), 'int32');
    return tf.add(tf.mul(la, draw.lambda), tf.mul(labelSmoothedLoss(logits, yb, eps), 1 - draw.lambda)) as tf.Scalar;
  });
}

/**
 * `lossOf`'s pass on an engine that runs the head and the loss itself (`PassEngine.passCrossEntropy`): the targets
 * are the smoothed one-hots, mixed by `draw` as `lossOf` mixes the two losses (the cross entropy is linear in them).
 * Null when the engine declines.
 */
async function crossEntropyPass(engine: PassEngine, model: TrainableRecognizer, x: tf.Tensor4D, segments: number, labels: number[], draw: MixupDraw | null, rows: number[], eps: number, opts: { from: StageBoundary; seed: number }): Promise<{ value: tf.Scalar; grads: tf.NamedTensorMap; pred: tf.Tensor } | null> {
  const K = model.arch.numClasses;
  const targets = tf.tidy(() => {
    const ta = smoothedTargets(tf.tensor1d(rows.map((r) => labels[r]!), 'int32'), K, eps);
    if (!draw) return ta;
    return tf.add(tf.mul(ta, draw.lambda), tf.mul(smoothedTargets(tf.tensor1d(rows.map((r) => labels[draw.perm[r]!]!), 'int32'), K, eps), 1 - draw.lambda)) as tf.Tensor2D;
  });
  try {
    const r = await engine.passCrossEntropy!(model, x, segments, targets, opts);
    if (!r) return null;
    const pred = tf.argMax(r.logits, 1);
    r.logits.dispose();
    return { value: r.value, grads: r.grads, pred };
  } finally {
    targets.dispose();
  }
}

/**
 * Trains on `x` (`[B·T, …]` at `ctx.from`, already mixed by `draw` if any; disposed here) with class `labels[b]`
 * for clip b, at learning rate `lr`. Returns the batch loss and the (mixup-weighted) accuracy.
 */
export async function optimisationStep(ctx: StepContext, x: tf.Tensor4D, labels: number[], draw: MixupDraw | null, lr: number, control: StepControl = {}): Promise<{ loss: number; accuracy: number; extra?: Record<string, number> }> {
  const T = ctx.segments;
  const B = labels.length;
  const micro = ctx.microBatch;
  const groups = ctx.optimizer.groups;
  const keyOfName = new Map(groups.map((g) => [g.variable.name, g.key]));
  const acc = new Map<string, tf.Tensor>();
  const predicted: number[] = [];
  /** Each micro-batch's BN statistics, committed in order once the step is complete. */
  const stats: Map<string, BatchNormStats>[] = [];
  let loss = 0;
  const extra: Record<string, number> = {};
  // Layer callbacks of a pass: 2 per ConvBN layer (forward, backward), reported every `every`.
  const ticks = 2 * ctx.model.trainableLayers(ctx.from);
  const every = Math.max(1, Math.ceil(ticks / PART_REPORTS));
  try {
    for (let m0 = 0; m0 < B; m0 += micro) {
      const mn = Math.min(micro, B - m0);
      let tick = 0;
      const onLayer = control.onPart || control.interrupt
        ? () => {
            if (control.interrupt?.()) throw new Interrupted();
            tick++;
            if (control.onPart && tick % every === 0 && tick < ticks) control.onPart(m0 + (mn * tick) / ticks, B);
          }
        : undefined;
      const rows = Array.from({ length: mn }, (_, i) => m0 + i);
      const xm = mn === B ? x : tf.slice(x, m0 * T, mn * T);
      let pred: tf.Tensor | null = null;
      let terms: Record<string, tf.Scalar> = {};
      try {
        let value: tf.Scalar;
        let grads: tf.NamedTensorMap;
        try {
          // In a tidy: a pass left by an exception frees its intermediates (the loss included) here.
          // Unit by unit (passGrads.ts): one unit's tape alive at a time instead of the whole network's.
          const lossFn = (logits: tf.Tensor2D): tf.Scalar => {
            pred = tf.keep(tf.argMax(logits, 1));
            if (!ctx.loss) return lossOf(logits, labels, draw, rows, ctx.labelSmoothing);
            const custom = ctx.loss(logits, rows);
            terms = Object.fromEntries(Object.entries(custom.extra ?? {}).map(([k, t]) => [k, tf.keep(t)]));
            return custom.total;
          };
          const fused = ctx.engine?.passCrossEntropy && !ctx.loss ? await crossEntropyPass(ctx.engine, ctx.model, xm, T, labels, draw, rows, ctx.labelSmoothing, { from: ctx.from, seed: ctx.dropoutSeed(m0) }) : null;
          if (fused) pred = fused.pred;
          ({ value, grads } = fused ?? (ctx.engine
            ? await ctx.engine.passGrads(ctx.model, xm, T, lossFn, { from: ctx.from, seed: ctx.dropoutSeed(m0) })
            : tf.tidy(() => ctx.model.passGrads(xm, T, lossFn, { from: ctx.from, seed: ctx.dropoutSeed(m0), ...(onLayer ? { onLayer } : {}) }) as unknown as tf.TensorContainerObject) as unknown as { value: tf.Scalar; grads: tf.NamedTensorMap }));
        } catch (e) {
          dropGradientTape();
          if (!(e instanceof Interrupted)) throw e;
          throw new PPTSNError('aborted', `the step was stopped inside the pass of ${mn === 1 ? `clip ${m0 + 1}` : `clips ${m0 + 1}–${m0 + mn}`} of ${B}; nothing of it was applied`);
        }
        stats.push(ctx.model.takeBatchStats());
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
        for (const [k, t] of Object.entries(terms)) extra[k] = (extra[k] ?? 0) + (await t.data())[0]! * (mn / B);
      } finally {
        if (pred) (pred as tf.Tensor).dispose();
        tf.dispose(Object.values(terms));
        if (xm !== x) xm.dispose();
        ctx.model.discardBatchStats();
      }
      control.onMicroBatch?.(m0 + mn, B);
      if ((control.signal || control.interrupt) && m0 + mn < B) {
        await settleTurn();
        if (control.signal?.aborted || control.interrupt?.()) throw new PPTSNError('aborted', `the step was stopped after ${m0 + mn} of ${B} clips; nothing of it was applied`);
      }
    }
    ctx.optimizer.applyGradients(acc, lr);
    // Sequential commits equal the per-micro-batch ones: a train-mode forward never reads the running statistics.
    while (stats.length > 0) ctx.model.commitBatchStats(stats.shift()!);
  } finally {
    x.dispose();
    tf.dispose([...acc.values()]);
    for (const m of stats) for (const s of m.values()) tf.dispose([s.mean, s.variance]);
  }
  return { loss, accuracy: mixupAccuracy(predicted, labels, draw), ...(ctx.loss ? { extra } : {}) };
}
