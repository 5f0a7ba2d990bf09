/**
 * The classification tail for one clip, shared by the worker, the CLI and evaluation: frames → (chunked)
 * preprocessing and backbone → features back in PaddleVideo's order → ppTSNHead → logits. Mirrors
 * `paddlevideo/modeling/framework/recognizers/recognizer2d.py` (`test_step`) + `heads/pptsn_head.py`.
 *
 * Inference runs in chunks of `chunkSize` images: each chunk is preprocessed, run through the backbone, and only its
 * pooled features ([n, F]) are kept, so the accurate preset's 250 images never need all their activations at once.
 * Between chunks the runner awaits the chunk's features (bounding queued GPU work) and yields a macrotask turn, so
 * a cancel message can run; `beforeChunk` may then throw to stop (abort, lost device).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FramePixels } from '../frames/pixels.js';
import { preprocessFrames } from '../preprocess/pipeline.js';
import type { PreprocessConfig } from '../preprocess/presets.js';
import { yieldTurn } from '../yieldTurn.js';

/**
 * What the tail runs: the backbone (`[n, H, W, 3]` NHWC images → `[n, F]` pooled features; the caller owns the
 * result, no other tensor may be left) and the ppTSN head (`[N, T·C, F]` → `[N, classes]`). `Recognizer` is one;
 * the CLI's onnxruntime-node runner (src/node/runtime.ts) is another, whose backbone is asynchronous. The tensor
 * path (tensorInput.ts) uses `nchwFeatures` where a network takes PaddleVideo's NCHW `[n, 3, H, W]` as it is
 * (onnxruntime), saving a transpose each way.
 */
export interface ClipNetwork {
  features(images: tf.Tensor4D): tf.Tensor2D | Promise<tf.Tensor2D>;
  nchwFeatures?(images: tf.Tensor4D): tf.Tensor2D | Promise<tf.Tensor2D>;
  head(features: tf.Tensor3D): tf.Tensor2D;
}

/** Progress after each chunk of a clip. */
export interface ClipProgress {
  /** Images (frame crops) through the backbone so far, and in all (T·C). */
  done: number;
  total: number;
  /**
   * Logits `[classes]` of the mean of the features computed so far (the head on a partial average): a running
   * answer. After the last chunk they equal the final logits. Present only when `runningLogits` is set.
   */
  logits?: Float32Array;
}

export interface ClipRunOptions {
  /** Images per backbone call (bounds peak memory; the backends' defaults live in the worker and the CLI). */
  chunkSize: number;
  /** Runs before every chunk; throw to stop (an aborted call, a lost device). */
  beforeChunk?: () => void;
  /** Called after every chunk. */
  onChunk?: (progress: ClipProgress) => void;
  /** Compute `ClipProgress.logits` (one extra head pass per chunk: a [classes×F] product, negligible). */
  runningLogits?: boolean;
}

/** Features of a clip and where the time went. */
export interface ClipFeatures {
  /** `[T·C, F]` pooled features in PaddleVideo's image order (image c·T + t = crop c of frame t). Caller owns it. */
  features: tf.Tensor2D;
  /** Milliseconds in preprocessing and in the backbone (wall time of this runner). */
  preprocessMs: number;
  inferenceMs: number;
}

export interface ClipLogits {
  /** Logits of the clip's averaged feature, `[classes]` (no softmax). */
  logits: Float32Array;
  preprocessMs: number;
  inferenceMs: number;
}

const now = () => performance.now();

/**
 * Runs the backbone over the T frames of a clip with `config`'s crops. Frames are grouped so a group's T'·C images
 * fit a chunk; with more crops per frame than a chunk holds (TenCrop on wasm) a group is run in several chunks.
 */
export async function clipFeatures(rec: ClipNetwork, frames: readonly FramePixels[], config: PreprocessConfig, options: ClipRunOptions): Promise<ClipFeatures> {
  const C = config.cropsPerFrame;
  const T = frames.length;
  const chunkSize = Math.max(1, Math.floor(options.chunkSize));
  const framesPerChunk = Math.max(1, Math.floor(chunkSize / C));
  // Each part holds crop-major [C·count, F]: row c·count + t is crop c of the group's frame t.
  const parts: { count: number; features: tf.Tensor2D }[] = [];
  let preprocessMs = 0;
  let inferenceMs = 0;
  let done = 0;
  try {
    for (let start = 0; start < T; start += framesPerChunk) {
      options.beforeChunk?.();
      const group = frames.slice(start, start + framesPerChunk);
      const t0 = now();
      const pre = preprocessFrames(group, config);
      preprocessMs += now() - t0;
      const n = pre.input.shape[0];
      const pieces: tf.Tensor2D[] = [];
      try {
        for (let i = 0; i < n; i += chunkSize) {
          if (i > 0) options.beforeChunk?.();
          const t1 = now();
          const size = Math.min(chunkSize, n - i);
          const input = size === n ? pre.input : tf.slice(pre.input, i, size);
          let piece: tf.Tensor2D;
          try {
            piece = await rec.features(input);
          } finally {
            if (input !== pre.input) input.dispose();
          }
          pieces.push(piece);
          // The sync point: bounds queued GPU work to one chunk and lets cancel messages run.
          await piece.data();
          await yieldTurn();
          inferenceMs += now() - t1;
          done += size;
          if (options.onChunk) {
            const progress: ClipProgress = { done, total: T * C };
            if (options.runningLogits) progress.logits = await headOn(rec, [...parts.map((p) => p.features), ...pieces]);
            options.onChunk(progress);
          }
        }
      } catch (e) {
        tf.dispose(pieces);
        throw e;
      } finally {
        pre.input.dispose();
      }
      const feats = pieces.length === 1 ? pieces[0]! : tf.concat(pieces, 0);
      if (pieces.length > 1) tf.dispose(pieces);
      parts.push({ count: group.length, features: feats });
    }
    options.beforeChunk?.();
    const features = tf.tidy(() => {
      // Reassemble [T·C, F] in PaddleVideo's order: image c·T + t.
      const perCrop: tf.Tensor2D[] = [];
      for (let c = 0; c < C; c++) for (const p of parts) perCrop.push(C === 1 ? p.features : tf.slice(p.features, [c * p.count, 0], [p.count, -1]));
      return perCrop.length === 1 ? tf.clone(perCrop[0]!) : tf.concat(perCrop, 0);
    });
    return { features, preprocessMs, inferenceMs };
  } finally {
    for (const p of parts) p.features.dispose();
  }
}

/** The head on any set of feature rows: the mean does not depend on their order. */
async function headOn(rec: ClipNetwork, rows: tf.Tensor2D[]): Promise<Float32Array> {
  const logits = tf.tidy(() => {
    const all = rows.length === 1 ? rows[0]! : tf.concat(rows, 0);
    return rec.head(tf.reshape(all, [1, all.shape[0], all.shape[1]]) as tf.Tensor3D);
  });
  try {
    return Float32Array.from((await logits.data()) as Float32Array);
  } finally {
    logits.dispose();
  }
}

/** `clipFeatures` + ppTSNHead: the clip's logits `[classes]`. */
export async function clipLogits(rec: ClipNetwork, frames: readonly FramePixels[], config: PreprocessConfig, options: ClipRunOptions): Promise<ClipLogits> {
  const run = await clipFeatures(rec, frames, config, options);
  const t0 = now();
  try {
    const logits = await headOn(rec, [run.features]);
    return { logits, preprocessMs: run.preprocessMs, inferenceMs: run.inferenceMs + now() - t0 };
  } finally {
    run.features.dispose();
  }
}
