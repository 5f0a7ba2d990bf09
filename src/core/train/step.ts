/**
 * One optimisation step of fine-tuning (PaddleVideo `paddlevideo/tasks/train.py`'s inner loop): forward in train
 * mode, label-smoothed cross entropy (mixed when the batch was mixed up), gradients accumulated over micro-batches
 * when the batch does not fit (BN then sees micro-batch statistics), BN running statistics committed, one Paddle
 * Momentum update.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StageBoundary } from '../model/resnetVd.js';
import type { TrainableRecognizer } from '../model/trainable.js';
import { labelSmoothedLoss } from './labelSmoothing.js';
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
}

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
 * Trains on `x` (`[B·T, …]` at `ctx.from`, already mixed by `draw` if any; disposed here) with class `labels[b]`
 * for clip b, at learning rate `lr`. Returns the batch loss and the (mixup-weighted) accuracy.
 */
export async function optimisationStep(ctx: StepContext, x: tf.Tensor4D, labels: number[], draw: MixupDraw | null, lr: number): Promise<{ loss: number; accuracy: number; extra?: Record<string, number> }> {
  const T = ctx.segments;
  const B = labels.length;
  const micro = ctx.microBatch;
  const groups = ctx.optimizer.groups;
  const varList = groups.map((g) => g.variable);
  const keyOfName = new Map(groups.map((g) => [g.variable.name, g.key]));
  const acc = new Map<string, tf.Tensor>();
  const predicted: number[] = [];
  let loss = 0;
  const extra: Record<string, number> = {};
  try {
    for (let m0 = 0; m0 < B; m0 += micro) {
      const mn = Math.min(micro, B - m0);
      const rows = Array.from({ length: mn }, (_, i) => m0 + i);
      const xm = mn === B ? x : tf.slice(x, m0 * T, mn * T);
      let pred: tf.Tensor | null = null;
      let terms: Record<string, tf.Scalar> = {};
      try {
        const { value, grads } = tf.variableGrads(() => {
          const logits = ctx.model.logits(xm, T, { training: true, from: ctx.from, seed: ctx.dropoutSeed(m0) });
          pred = tf.keep(tf.argMax(logits, 1));
          if (!ctx.loss) return lossOf(logits, labels, draw, rows, ctx.labelSmoothing);
          const custom = ctx.loss(logits, rows);
          terms = Object.fromEntries(Object.entries(custom.extra ?? {}).map(([k, t]) => [k, tf.keep(t)]));
          return custom.total;
        }, varList);
        ctx.model.commitBatchStats();
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
    }
    ctx.optimizer.applyGradients(acc, lr);
  } finally {
    x.dispose();
    tf.dispose([...acc.values()]);
  }
  return { loss, accuracy: mixupAccuracy(predicted, labels, draw), ...(ctx.loss ? { extra } : {}) };
}
