/**
 * PaddleVideo's `ppTSNHead`: the per-image pooled features of a clip are averaged over its T·C images (the segment
 * consensus), then Dropout (training only) and one Linear layer. Averaging features before the FC (not logits after
 * it) is the PP-TSN choice (docs/contract.md §1). Softmax is not part of the head: it is applied once, later, to the
 * averaged logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import { linear } from './linearGrad.js';

/** PaddleVideo's ppTSNHead dropout ratio (`drop_ratio: 0.4`), Paddle's default "upscale_in_train" mode. */
export const HEAD_DROPOUT = 0.4;

/**
 * Segment consensus + FC: features `[N, T·C, F]` → logits `[N, classes]`. `fcWeight` is Paddle's `[in, out]`
 * layout, so it multiplies as is. With `dropout > 0` the averaged features are dropped out (train mode) with
 * inverted scaling 1/(1 − p), as Paddle's default `upscale_in_train`.
 */
export function ppTSNHead(
  features: tf.Tensor3D,
  fcWeight: tf.Tensor2D,
  fcBias: tf.Tensor1D,
  dropout = 0,
  seed?: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    let avg = tf.mean(features, 1) as tf.Tensor2D;
    if (dropout > 0) avg = tf.dropout(avg, dropout, undefined, seed) as tf.Tensor2D;
    // tfjs's fused MatMul, with a fast gradient for training (linearGrad.ts).
    return linear(avg, fcWeight, fcBias);
  });
}
