/**
 * Embeddings: the feature ppTSNHead averages before its FC, for retrieval (cosine similarity between clips) and
 * for custom heads (logits = embedding · W + b with `head.fc.weight` [F, classes], `head.fc.bias`). Mirrors
 * `paddlevideo/modeling/heads/pptsn_head.py`: avg-pooled backbone features `[N·T·C, F]`, reshaped to
 * `[N, T·C, F]` and averaged over the T·C images (F = 2048 for ResNet50+, 512 for ResNet18/34).
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import type { FramePixels } from '../frames/pixels.js';
import type { PreprocessConfig } from '../preprocess/presets.js';
import { clipFeatures, type ClipNetwork, type ClipRunOptions } from './clip.js';
import { tensorFeatures, type TensorRunOptions } from './tensorInput.js';

/** A clip's embedding. */
export interface ClipEmbedding {
  /** `[F]`: the mean of the clip's T·C image features, exactly what the head's FC is applied to. */
  embedding: Float32Array;
  /** With `perFrame`: `[T][F]`, frame t's features averaged over its C crops (their mean is `embedding`). */
  frames?: Float32Array[];
}

/**
 * Pools a clip's `[T·C, F]` features in PaddleVideo's order (row c·T + t = crop c of frame t; see clip.ts) into
 * its embedding and, with `perFrame`, one vector per frame. Reads back once; leaves `features` to the caller.
 */
export async function poolEmbedding(features: tf.Tensor2D, segments: number, perFrame: boolean): Promise<ClipEmbedding> {
  const [rows, F] = features.shape;
  if (!(Number.isInteger(segments) && segments >= 1 && rows % segments === 0)) {
    throw new PPTSNError('internal', `poolEmbedding: ${rows} feature rows do not split into ${segments} frames`);
  }
  const crops = rows / segments;
  const perFrameT = perFrame ? tf.tidy(() => tf.mean(tf.reshape(features, [crops, segments, F]), 0) as tf.Tensor2D) : null;
  const meanT = tf.tidy(() => tf.mean(features, 0) as tf.Tensor1D);
  try {
    const embedding = Float32Array.from((await meanT.data()) as Float32Array);
    if (!perFrameT) return { embedding };
    const all = (await perFrameT.data()) as Float32Array;
    return { embedding, frames: Array.from({ length: segments }, (_, t) => all.slice(t * F, (t + 1) * F)) };
  } finally {
    meanT.dispose();
    perFrameT?.dispose();
  }
}

/**
 * The embedding of one clip given as PaddleVideo's input (`[1, T·C, 3, H, W]` or `[T·C, 3, H, W]`; tensorInput.ts'
 * chunked path). With `perFrame`, `frames` has one row per image (T·C): a tensor does not say which images are
 * crops of one frame. Errors: `invalid-argument` for another shape or N > 1.
 */
export async function tensorEmbedding(network: ClipNetwork, x: tf.Tensor, options: TensorRunOptions & { perFrame?: boolean }): Promise<ClipEmbedding> {
  const features = await tensorFeatures(network, x, options);
  const [N, S, F] = features.shape;
  const clip = tf.tidy(() => tf.reshape(features, [N * S, F]) as tf.Tensor2D);
  features.dispose();
  try {
    if (N !== 1) throw new PPTSNError('invalid-argument', `tensorEmbedding takes one clip, got ${N}`);
    return await poolEmbedding(clip, S, options.perFrame === true);
  } finally {
    clip.dispose();
  }
}

/** A clip's embedding from its frames, with the time spent (the tail of clip.ts without the head). */
export async function clipEmbedding(
  rec: ClipNetwork,
  frames: readonly FramePixels[],
  config: PreprocessConfig,
  options: ClipRunOptions & { perFrame?: boolean },
): Promise<ClipEmbedding & { preprocessMs: number; inferenceMs: number }> {
  const run = await clipFeatures(rec, frames, config, options);
  try {
    return { ...(await poolEmbedding(run.features, frames.length, options.perFrame === true)), preprocessMs: run.preprocessMs, inferenceMs: run.inferenceMs };
  } finally {
    run.features.dispose();
  }
}
