/**
 * Train-mode BatchNorm (+ ReLU) over (N, H, W) as one differentiable op with a hand-written backward pass, for
 * TrainableRecognizer. tfjs differentiates `tf.moments` + `tf.batchNorm` + `tf.relu` through its generic
 * gradients: ~35 small kernels a layer (Tile, Mean, Sum, Multiply chains) that cost 10–15 % of a wasm training
 * step. Here the backward pass is the closed form (m = N·H·W values per channel, x̂ = (x − μ)·r, r = 1/√(σ² + ε),
 * g = dz masked by z > 0 when `relu`):
 *   dβ = Σ g,  dγ = Σ g·x̂,  dx = γ·r·(g − dβ/m − x̂·dγ/m),
 * a handful of kernels. The forward pass is tfjs's own (tf.moments, FusedBatchNorm, Relu), so its values are
 * unchanged; the batch mean and biased variance are handed back for the running statistics.
 * Paddle: `paddle.nn.BatchNorm` in training mode (`batch_norm` op, `BatchNormGradKernel`).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface BatchNormTrainResult {
  /** `[N, H, W, C]` normalised, scaled, shifted (and ReLU'd). */
  y: tf.Tensor4D;
  /** Batch mean and biased variance `[C]`, outside any gradient (the caller owns them). */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** Train-mode BN of `x` `[N, H, W, C]` with scale `gamma` and offset `beta` `[C]`, then ReLU when `relu`. */
export function batchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, relu: boolean): BatchNormTrainResult {
  let stats: [tf.Tensor1D, tf.Tensor1D] | undefined;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xs, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const { mean, variance } = tf.moments(xs, [0, 1, 2]);
    stats = [tf.keep(mean as tf.Tensor1D), tf.keep(variance as tf.Tensor1D)];
    const r = tf.rsqrt(tf.add(variance, epsilon));
    const z = tf.batchNorm(xs, mean, variance, b, g, epsilon);
    const y = relu ? tf.relu(z) : z;
    save([tf.mul(tf.sub(xs, mean), r), r, g, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xhat, rs, gs, ys] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor4D];
        const m = xhat.size / xhat.shape[3];
        const gm = relu ? tf.mul(dy, tf.step(ys)) : dy;
        const dBeta = tf.sum(gm, [0, 1, 2]);
        const dGamma = tf.sum(tf.mul(gm, xhat), [0, 1, 2]);
        const centred = tf.sub(gm, tf.add(tf.div(dBeta, m), tf.mul(xhat, tf.div(dGamma, m))));
        return [tf.mul(centred, tf.mul(gs, rs)), dGamma, dBeta];
      },
    };
  });
  const y = op(x, gamma, beta) as tf.Tensor4D;
  const [mean, variance] = stats!;
  return { y, mean, variance };
}
