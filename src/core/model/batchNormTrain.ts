/**
 * Train-mode BatchNorm (+ ReLU) over (N, H, W) as one differentiable op with a hand-written backward pass, for
 * TrainableRecognizer. tfjs differentiates `tf.moments` + `tf.batchNorm` + `tf.relu` through its generic
 * gradients: ~35 small kernels a layer (Tile, Mean, Sum, Multiply chains) that cost 10–15 % of a wasm training
 * step. Here the backward pass is the closed form (m = N·H·W values per channel, x̂ = (x − μ)·r, r = 1/√(σ² + ε),
 * g = dz masked by z > 0 when `relu`):
 *   dβ = Σ g,  dγ = Σ g·x̂,  dx = γ·r·(g − dβ/m − x̂·dγ/m),
 * a handful of kernels; every per-channel sum is an average pool (`channelSums`). On tfjs-backend-wasm (C a
 * multiple of 4) the backward pass is instead two passes of our SIMD kernel, batchNormGradWasm.ts, and the forward
 * pass three passes of another, batchNormForwardWasm.ts; elsewhere the forward pass is tfjs ops ending in
 * FusedBatchNorm (+ Relu). The batch mean and biased variance (of the centred values, as tf.moments) are handed back
 * for the running statistics.
 * Paddle: `paddle.nn.BatchNorm` in training mode (`batch_norm` op, `BatchNormGradKernel`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedBatchNormGrad, useFusedBatchNormGrad } from './batchNormGradWasm.js';
import { fusedBatchNormTrain, useFusedBatchNormTrain, type BatchNormForward } from './batchNormForwardWasm.js';

export interface BatchNormTrainResult {
  /** `[N, H, W, C]` normalised, scaled, shifted (and ReLU'd). */
  y: tf.Tensor4D;
  /** Batch mean and biased variance `[C]`, outside any gradient (the caller owns them). */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/**
 * Per-channel sums `[1, C]` of `x2` `[n·H·W, C]`: an average pool over each image's H × W, times H·W, then a
 * `[1, n]` × `[n, C]` product. tfjs-backend-wasm reduces over leading axes by transposing the whole tensor first
 * (tf.sum / tf.mean over [0, 1, 2] are ~5–10× slower than XNNPACK); a `[1, M]` × `[M, C]` product is fast only
 * when its right operand repeats, since XNNPACK packs it on every new tensor: 4–8 ms for 16×7×7×2048 where the
 * pool takes 0.5–1 ms (one loaded run).
 */
function channelSums(x2: tf.Tensor2D, n: number, H: number, W: number): tf.Tensor2D {
  const C = x2.shape[1];
  const pooled = tf.reshape(tf.avgPool(tf.reshape(x2, [n, H, W, C]) as tf.Tensor4D, [H, W], 1, 'valid'), [n, C]) as tf.Tensor2D;
  return tf.mul(n === 1 ? pooled : tf.matMul(tf.ones([1, n]), pooled), H * W);
}

/**
 * The closed-form backward pass as tfjs ops (any backend): dx `[N, H, W, C]`, dγ `[C]`, dβ `[C]` from dy and y
 * `[N, H, W, C]`, x̂ `[m, C]`, γ `[C]`, r `[1, C]` (y read only when `relu`). Exported for the kernel's A/B
 * (bench/kernels/bn-grad-ab.ts).
 */
export function batchNormGradOps(dy: tf.Tensor4D, xhat: tf.Tensor2D, y: tf.Tensor4D, gamma: tf.Tensor1D, r: tf.Tensor2D, relu: boolean): [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D] {
  const [n, H, W, C] = dy.shape;
  const m = n * H * W;
  const gm = tf.reshape(relu ? tf.mul(dy, tf.step(y)) : dy, [m, C]) as tf.Tensor2D;
  const dBeta = channelSums(gm, n, H, W);
  const dGamma = channelSums(tf.mul(gm, xhat) as tf.Tensor2D, n, H, W);
  const dx = tf.mul(tf.sub(gm, tf.add(tf.div(dBeta, m), tf.mul(xhat, tf.div(dGamma, m)))), tf.mul(gamma, r));
  return [tf.reshape(dx, [n, H, W, C]), tf.reshape(dGamma, [C]), tf.reshape(dBeta, [C])];
}

/**
 * The forward pass as tfjs ops (any backend): y `[N, H, W, C]`, x̂ `[m, C]`, batch mean and biased variance `[C]`
 * (two-pass, as tf.moments), r = 1/√(σ² + ε) `[1, C]`. Exported for the kernel's A/B (bench/kernels/bn-forward-ab.ts).
 */
export function batchNormForwardOps(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, relu: boolean): BatchNormForward {
  const [n, H, W, C] = x.shape;
  const m = n * H * W;
  const x2 = tf.reshape(x, [m, C]) as tf.Tensor2D;
  const mean = tf.div(channelSums(x2, n, H, W), m);
  const centred = tf.sub(x2, mean);
  const variance = tf.div(channelSums(tf.square(centred) as tf.Tensor2D, n, H, W), m);
  const [mean1, variance1] = [tf.reshape(mean, [C]) as tf.Tensor1D, tf.reshape(variance, [C]) as tf.Tensor1D];
  const r = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor2D;
  const z = tf.batchNorm(x, mean1, variance1, beta, gamma, epsilon);
  return { y: relu ? tf.relu(z) : z, xhat: tf.mul(centred, r), mean: mean1, variance: variance1, r };
}

/**
 * Train-mode BN of `x` `[N, H, W, C]` with scale `gamma` and offset `beta` `[C]`, then ReLU when `relu`. `onGrad`
 * is called once this layer's BN gradients are computed, just before its conv's (progress and the stop check
 * inside a long backward pass, passGrads.ts).
 */
export function batchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, relu: boolean, onGrad?: () => void): BatchNormTrainResult {
  let stats: [tf.Tensor1D, tf.Tensor1D] | undefined;
  const C = x.shape[3];
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xs, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    // Our SIMD kernel on wasm (batchNormForwardWasm.ts), else the ops.
    const fused = useFusedBatchNormTrain(C, relu);
    const fwd = (fused ? fusedBatchNormTrain : batchNormForwardOps)(xs, g, b, epsilon, relu);
    stats = [tf.keep(fwd.mean), tf.keep(fwd.variance)];
    save([fwd.xhat, fwd.r, g, fwd.y]);
    return {
      value: fwd.y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xhat, rs, gs, ys] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor4D];
        // Our SIMD kernel on wasm (batchNormGradWasm.ts), else the ops.
        const fused = useFusedBatchNormGrad(C, relu);
        const grads = (fused ? fusedBatchNormGrad : batchNormGradOps)(dy as tf.Tensor4D, xhat, relu ? ys : (dy as tf.Tensor4D), gs, rs, relu);
        onGrad?.();
        return grads;
      },
    };
  });
  const y = op(x, gamma, beta) as tf.Tensor4D;
  const [mean, variance] = stats!;
  return { y, mean, variance };
}
