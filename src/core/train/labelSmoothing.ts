/**
 * Label smoothing (PaddleVideo `CrossEntropyLoss` with `ls_eps`, i.e. `F.label_smooth` + soft-label cross
 * entropy): target = (1 − ε)·one_hot + ε/K, loss = −Σ_k target_k·log softmax(logits)_k, averaged over the batch.
 * ε = 0 is the plain cross entropy (the piece switched off).
 */
import * as tf from '@tensorflow/tfjs-core';

/** PP-TSN's ε. */
export const LABEL_SMOOTHING = 0.1;

/** Smoothed one-hot targets `[N, K]` for integer labels. */
export function smoothedTargets(labels: tf.Tensor1D, numClasses: number, epsilon: number): tf.Tensor2D {
  return tf.tidy(() => {
    const oneHot = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), numClasses), 'float32') as tf.Tensor2D;
    return epsilon > 0 ? (tf.add(tf.mul(oneHot, 1 - epsilon), epsilon / numClasses) as tf.Tensor2D) : oneHot;
  });
}

/** Per-sample soft-label cross entropy `[N]`: −Σ_k target_k·log_softmax(logits)_k. */
export function softCrossEntropyPerSample(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1)) as tf.Tensor1D);
}

/** Mean label-smoothed cross entropy of `logits` `[N, K]` against integer `labels` `[N]`. */
export function labelSmoothedLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, epsilon = LABEL_SMOOTHING): tf.Scalar {
  return tf.tidy(() => tf.mean(softCrossEntropyPerSample(logits, smoothedTargets(labels, logits.shape[1], epsilon))) as tf.Scalar);
}
