/**
 * The tensor-input path: PaddleVideo's own network input `x` (`[N, T·C, 3, H, W]` or `[T·C, 3, H, W]`, NCHW,
 * normalised; core/model/paddleInput.ts) through any `ClipNetwork`, with no decoding or preprocessing. One chunked
 * loop for the page's worker (`classify`/`embed` of `{ data, shape }`), the CLI's `--tensor` (tfjs and
 * onnxruntime-node runners) and `embed`. Mirrors `Recognizer2D.test_step`: the backbone per image, then
 * ppTSNHead's mean over the T·C images and its FC.
 */
import * as tf from '@tensorflow/tfjs-core';
import { paddleInputShape } from '../model/paddleInput.js';
import { yieldTurn } from '../yieldTurn.js';
import type { ClipNetwork, ClipRunOptions } from './clip.js';

/** Options of the tensor path: the clip runner's, less its running logits (the head runs once, at the end). */
export type TensorRunOptions = Omit<ClipRunOptions, 'runningLogits'>;

/**
 * Per-image features `[N, T·C, F]` of `x`, `chunkSize` images per backbone call: each chunk is sliced from the
 * NCHW input and given to `network.nchwFeatures` when the network takes NCHW (onnxruntime), else transposed to
 * NHWC for `network.features`. Between chunks the features are awaited and a macrotask turn is yielded (cancel
 * messages run; `beforeChunk` may throw to stop); `onChunk` reports images done. `x` is the caller's; the result
 * is the caller's to dispose. Errors: `invalid-argument` for a shape that is not PaddleVideo's input.
 */
export async function tensorFeatures(network: ClipNetwork, x: tf.Tensor, options: TensorRunOptions): Promise<tf.Tensor3D> {
  const { N, S, H, W } = paddleInputShape(x.shape, 'the tensor input');
  const n = N * S;
  const chunkSize = Math.max(1, Math.floor(options.chunkSize));
  const images = tf.reshape(x, [n, 3, H, W]) as tf.Tensor4D;
  const parts: tf.Tensor2D[] = [];
  try {
    for (let start = 0; start < n; start += chunkSize) {
      options.beforeChunk?.();
      const size = Math.min(chunkSize, n - start);
      const nchw = size === n ? images : tf.slice(images, start, size);
      let part: tf.Tensor2D;
      try {
        if (network.nchwFeatures) part = await network.nchwFeatures(nchw);
        else {
          const nhwc = tf.transpose(nchw, [0, 2, 3, 1]);
          try {
            part = await network.features(nhwc);
          } finally {
            nhwc.dispose();
          }
        }
      } finally {
        if (nchw !== images) nchw.dispose();
      }
      parts.push(part);
      // The sync point, as the clip runner's: bounds queued GPU work to one chunk and lets cancel messages run.
      await part.data();
      await yieldTurn();
      options.onChunk?.({ done: start + size, total: n });
    }
    options.beforeChunk?.();
    return tf.tidy(() => {
      const all = parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
      return tf.reshape(all, [N, S, all.shape[1]]) as tf.Tensor3D;
    });
  } finally {
    images.dispose();
    tf.dispose(parts);
  }
}

/** Logits `[N, classes]` of `x` (no softmax): `tensorFeatures`, then the head. The caller owns the result. */
export async function tensorLogits(network: ClipNetwork, x: tf.Tensor, options: TensorRunOptions): Promise<tf.Tensor2D> {
  const features = await tensorFeatures(network, x, options);
  try {
    return tf.tidy(() => network.head(features));
  } finally {
    features.dispose();
  }
}
