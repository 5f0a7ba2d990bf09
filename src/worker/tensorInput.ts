/**
 * `classify` / `embed` of PaddleVideo's input tensor in the worker: no decoding or preprocessing, the backbone on
 * the `[T·C, 3, H, W]` images (chunked like video clips), then the head or the pooled embedding. Mirrors
 * `Recognizer2D.test_step` on one clip.
 */
import * as tf from '@tensorflow/tfjs-core';
import { poolEmbedding, tensorFeatures, type ClipEmbedding } from '../core/classify/embed.js';
import type { Recognizer } from '../core/model/recognizer.js';
import type { EngineTensor } from './protocol.js';

const now = () => performance.now();

async function withFeatures<T>(rec: Recognizer, input: EngineTensor, chunkSize: number, use: (features: tf.Tensor2D) => Promise<T>): Promise<T & { inferenceMs: number }> {
  const t0 = now();
  const x = tf.tensor(input.data, input.shape);
  let feats: tf.Tensor3D;
  try {
    feats = tensorFeatures(rec, x, chunkSize);
  } finally {
    x.dispose();
  }
  const clip = tf.tidy(() => tf.reshape(feats, [feats.shape[1], feats.shape[2]]) as tf.Tensor2D);
  feats.dispose();
  try {
    const out = await use(clip);
    return { ...out, inferenceMs: now() - t0 };
  } finally {
    clip.dispose();
  }
}

/** Logits `[classes]` of one clip given as `[1, T·C, 3, H, W]` / `[T·C, 3, H, W]`. */
export function tensorLogits(rec: Recognizer, input: EngineTensor, chunkSize: number): Promise<{ logits: Float32Array; inferenceMs: number }> {
  return withFeatures(rec, input, chunkSize, async (clip) => {
    const logits = tf.tidy(() => rec.head(tf.expandDims(clip, 0) as tf.Tensor3D));
    try {
      return { logits: Float32Array.from((await logits.data()) as Float32Array) };
    } finally {
      logits.dispose();
    }
  });
}

/** The embedding of one clip given as a tensor; `frames` (with `perFrame`) has one row per image (T·C). */
export function tensorEmbedding(rec: Recognizer, input: EngineTensor, chunkSize: number, perFrame: boolean): Promise<ClipEmbedding & { inferenceMs: number }> {
  return withFeatures(rec, input, chunkSize, (clip) => poolEmbedding(clip, clip.shape[0], perFrame));
}
