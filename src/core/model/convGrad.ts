/**
 * conv2d for training with a filter gradient computed by matrix products instead of tfjs's
 * Conv2DBackpropFilter kernel: the wasm backend has no such kernel at all, and the cpu backend's is a naive
 * loop nest (≈ 37 s for the filter gradients of ResNet18-vd on two 32×32 images). The forward pass and the input
 * gradient (Conv2DBackpropInput, present on every backend) are tfjs's own.
 *
 * For each tap (kh, kw): dW[kh, kw] = X_tapᵀ · dY, where X_tap `[n·Ho·Wo, I]` is the padded input sampled with
 * the conv's stride at that tap and dY is `[n·Ho·Wo, O]`: k² products, no k²-times-larger im2col buffer.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * `tf.conv2d(x, filter, stride, pad)` (NHWC, square stride, symmetric numeric padding) with a matMul filter gradient.
 * `onGrad` is called once this conv's gradients are computed (progress inside a long backward pass).
 */
export function conv2dTrainable(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pad: number, onGrad?: () => void): tf.Tensor4D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xs, fs, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xs, fs]);
    return {
      value: tf.conv2d(xs, fs, stride, pad),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xv, fv] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dy4 = dy as tf.Tensor4D;
        const dx = tf.conv2dTranspose(dy4, fv, xv.shape, stride, pad);
        const df = filterGrad(xv, dy4, fv.shape, stride, pad);
        // tfjs frees a pass's output gradients and saved inputs only when the whole backward pass ends, so they pile
        // up to twice the forward's activations; this conv's are used by no one else now (its output's gradient is
        // complete before it runs, and data shared with other tensors is reference-counted).
        tf.dispose([dy, xv]);
        onGrad?.();
        return [dx, df];
      },
    };
  });
  return op(x, filter) as tf.Tensor4D;
}

function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, fShape: [number, number, number, number], stride: number, pad: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [K, , I, O] = fShape;
    const [n, Ho, Wo] = dy.shape;
    const xp = pad > 0 ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
    const dy2 = tf.reshape(dy, [n * Ho * Wo, O]) as tf.Tensor2D;
    const taps: tf.Tensor2D[] = [];
    for (let kh = 0; kh < K; kh++) {
      for (let kw = 0; kw < K; kw++) {
        const end = [n, kh + (Ho - 1) * stride + 1, kw + (Wo - 1) * stride + 1, I];
        const tap = stride === 1 && K === 1 && pad === 0 ? xp : tf.stridedSlice(xp, [0, kh, kw, 0], end, [1, stride, stride, 1]);
        const flat = tf.reshape(tap, [n * Ho * Wo, I]) as tf.Tensor2D;
        taps.push(tf.matMul(flat, dy2, true, false));
        // One input-sized slice alive at a time, not k² of them until the tidy ends.
        if (tap !== xp) tf.dispose([flat, tap]);
      }
    }
    return tf.reshape(tf.stack(taps), [K, K, I, O]) as tf.Tensor4D;
  });
}
