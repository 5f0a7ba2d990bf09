/**
 * `classify` / `embed` of PaddleVideo's input tensor in the worker: the page checked the shape (one clip,
 * core/model/paddleInput.ts) and transferred the buffer; this wraps it as a tensor for the core's one tensor path
 * (core/classify/tensorInput.ts, chunked like video clips) and times it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ClipNetwork } from '../core/classify/clip.js';
import { tensorEmbedding as clipTensorEmbedding, type ClipEmbedding } from '../core/classify/embed.js';
import { tensorLogits as clipTensorLogits, type TensorRunOptions } from '../core/classify/tensorInput.js';
import type { EngineTensor } from './protocol.js';

const now = () => performance.now();

async function onTensor<T>(input: EngineTensor, use: (x: tf.Tensor) => Promise<T>): Promise<T & { inferenceMs: number }> {
  const t0 = now();
  const x = tf.tensor(input.data, input.shape);
  try {
    return { ...(await use(x)), inferenceMs: now() - t0 };
  } finally {
    x.dispose();
  }
}

/** Logits `[classes]` of one clip given as `[1, T·C, 3, H, W]` / `[T·C, 3, H, W]`. */
export function tensorLogits(network: ClipNetwork, input: EngineTensor, options: TensorRunOptions): Promise<{ logits: Float32Array; inferenceMs: number }> {
  return onTensor(input, async (x) => {
    const logits = await clipTensorLogits(network, x, options);
    try {
      return { logits: Float32Array.from((await logits.data()) as Float32Array) };
    } finally {
      logits.dispose();
    }
  });
}

/** The embedding of one clip given as a tensor; `frames` (with `perFrame`) has one row per image (T·C). */
export function tensorEmbedding(network: ClipNetwork, input: EngineTensor, options: TensorRunOptions & { perFrame: boolean }): Promise<ClipEmbedding & { inferenceMs: number }> {
  return onTensor(input, (x) => clipTensorEmbedding(network, x, options));
}
