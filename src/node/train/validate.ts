/**
 * Validation during `pptsn-web train`, as PaddleVideo's `train.py` `evaluate`: the valid pipeline, the model in eval
 * mode, batches of `batchSize` items; per batch the plain cross entropy (ppTSNHead's loss in valid mode: no label
 * smoothing), top-1 and top-5; each reported as the mean of the per-batch values (AverageMeter updated with the
 * configured batch size, so the last partial batch weighs as much as a full one).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ListItem } from '../../core/dataset/lists.js';
import type { StageBoundary } from '../../core/model/resnetVd.js';
import type { TrainableRecognizer } from '../../core/model/trainable.js';
import type { DatasetRecipe } from '../../core/train/recipe.js';

export interface ValidResult {
  loss: number;
  /** Fractions 0–1. */
  top1: number;
  top5: number;
  /** Items validated. */
  count: number;
  /** The top-1 class of each item, in list order (train's distillation `agreement` with the teacher). */
  predicted: number[];
}

/** Top-k hits of one row of logits for `label` (ties broken towards the lower index, as a stable sort). */
export function topKHit(row: ArrayLike<number>, label: number, k: number): boolean {
  const v = row[label]!;
  let better = 0;
  for (let j = 0; j < row.length; j++) if (row[j]! > v || (row[j] === v && j < label)) better++;
  return better < k;
}

export async function validate(
  model: TrainableRecognizer,
  items: readonly ListItem[],
  r: Pick<DatasetRecipe, 'batchSize' | 'segments'>,
  input: (batch: { item: ListItem; position: number }[]) => Promise<tf.Tensor4D>,
  from: StageBoundary,
): Promise<ValidResult> {
  let loss = 0;
  let top1 = 0;
  let top5 = 0;
  let batches = 0;
  const predicted: number[] = [];
  for (let s = 0; s < items.length; s += r.batchSize) {
    const batch = items.slice(s, s + r.batchSize).map((item, i) => ({ item, position: s + i }));
    const x = await input(batch);
    const logits = tf.tidy(() => model.logits(x, r.segments, { training: false, from }));
    x.dispose();
    const K = logits.shape[1];
    const labels = batch.map((b) => b.item.label);
    const ce = tf.tidy(() => tf.mean(tf.neg(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), K), tf.logSoftmax(logits)), 1))));
    const [rows, l] = await Promise.all([logits.data(), ce.data()]);
    tf.dispose([logits, ce]);
    let h1 = 0;
    let h5 = 0;
    labels.forEach((y, i) => {
      const row = rows.subarray(i * K, (i + 1) * K);
      let best = 0;
      for (let k = 1; k < K; k++) if (row[k]! > row[best]!) best = k;
      predicted.push(best);
      if (topKHit(row, y, 1)) h1++;
      if (topKHit(row, y, Math.min(5, K))) h5++;
    });
    loss += l[0]!;
    top1 += h1 / labels.length;
    top5 += h5 / labels.length;
    batches++;
  }
  return { loss: loss / batches, top1: top1 / batches, top5: top5 / batches, count: items.length, predicted };
}
