/**
 * Precise BN (PaddleVideo `do_preciseBN`): with the weights frozen, run K train-mode forward passes and set
 * every trainable BN layer's running mean/variance to the plain average of the K per-batch statistics (what
 * momentum 0 would store each time, averaged), instead of the exponential average training leaves behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TrainableRecognizer } from '../model/trainable.js';
import type { StageBoundary } from '../model/resnetVd.js';
import { settleTurn } from '../yieldTurn.js';

/**
 * Averages `model.batchStatistics` over the batches `next(k)` returns (k = 0..K−1; each is disposed here) and
 * sets the running statistics. Returns the number of batches used (0: nothing to do, e.g. no trainable BN).
 */
export async function preciseBN(model: TrainableRecognizer, batches: number, next: (k: number) => tf.Tensor4D | Promise<tf.Tensor4D>, from: StageBoundary = 0): Promise<number> {
  const sums = new Map<string, { mean: tf.Tensor1D; variance: tf.Tensor1D }>();
  let used = 0;
  try {
    for (let k = 0; k < batches; k++) {
      const x = await next(k);
      let stats;
      try {
        stats = model.batchStatistics(x, { from });
      } finally {
        x.dispose();
      }
      if (stats.size === 0) return 0;
      for (const [key, s] of stats) {
        const prev = sums.get(key);
        if (prev) {
          sums.set(key, { mean: tf.add(prev.mean, s.mean), variance: tf.add(prev.variance, s.variance) });
          tf.dispose([prev.mean, prev.variance, s.mean, s.variance]);
        } else {
          sums.set(key, s);
        }
      }
      used++;
      // Lets other work (a stop message) in between the passes: a macrotask turn, not a microtask (yieldTurn.ts).
      await settleTurn();
    }
    if (used === 0) return 0;
    const avg = new Map<string, { mean: tf.Tensor1D; variance: tf.Tensor1D }>();
    for (const [key, s] of sums) avg.set(key, { mean: tf.div(s.mean, used), variance: tf.div(s.variance, used) });
    try {
      model.setRunningStats(avg);
    } finally {
      for (const s of avg.values()) tf.dispose([s.mean, s.variance]);
    }
    return used;
  } finally {
    for (const s of sums.values()) tf.dispose([s.mean, s.variance]);
  }
}
