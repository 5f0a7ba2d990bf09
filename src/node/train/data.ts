/**
 * The network input of one list item for `pptsn-web train` (docs/contract.md §7): PaddleVideo's train pipeline (train
 * sampler over the item's L frames, keep-ratio Scale(256, do_round), MultiScaleCrop(224) + RandomFlip, normalise)
 * or its valid pipeline (valid sampler, Scale, CenterCrop), from a video or a rawframes folder as the list's format
 * says (src/node/frames.ts `readFrames`, the reader of `classify` and `eval`; L of a rawframes item from the list's
 * num_frames, as PaddleVideo's FrameDataset trusts it).
 * Every random draw comes from the `rng` given, so an item's input is a function of (item, seed).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ListFormat, ListItem } from '../../core/dataset/lists.js';
import { isPPTSNError, PPTSNError } from '../../core/errors.js';
import type { FramePixels } from '../../core/frames/pixels.js';
import { preprocessFrames, preprocessTrainFrames } from '../../core/preprocess/pipeline.js';
import { PRESETS, resolvePreprocessOptions } from '../../core/preprocess/presets.js';
import type { Rng } from '../../core/random.js';
import { readFrames, type DecoderChoice } from '../frames.js';

export interface ItemReader {
  format: ListFormat;
  segments: number;
  decoder?: DecoderChoice;
  signal?: AbortSignal;
}

/** The T frames of `item` the train sampler (with `rng`) or the valid sampler picks. */
export async function readItemFrames(item: ListItem, mode: 'train' | 'valid', r: ItemReader, rng?: Rng): Promise<FramePixels[]> {
  const config = resolvePreprocessOptions({ preset: 'fast', segments: r.segments });
  const sampling = mode === 'train' ? ('train' as const) : config.sampling;
  try {
    const clip = await readFrames(item.path, config, {
      format: r.format,
      ...(item.numFrames !== undefined ? { numFrames: item.numFrames } : {}),
      sampling,
      ...(rng ? { rng } : {}),
      ...(r.decoder ? { decoder: r.decoder } : {}),
      ...(r.signal ? { signal: r.signal } : {}),
    });
    return clip.frames;
  } catch (e) {
    if (isPPTSNError(e) && !e.message.includes(item.path)) throw new PPTSNError(e.code, `${item.path} (list line ${item.line}): ${e.message}`, { cause: e });
    throw e;
  }
}

/** Train-pipeline images `[T, 224, 224, 3]` of one draw (the same `rng` samples frames, then crops and flips). */
export async function trainInput(item: ListItem, r: ItemReader, rng: Rng): Promise<tf.Tensor4D> {
  const frames = await readItemFrames(item, 'train', r, rng);
  return preprocessTrainFrames(frames, rng).input;
}

/** Valid-pipeline images `[T, 224, 224, 3]` (PaddleVideo's valid: CenterCrop). */
export async function validInput(item: ListItem, r: ItemReader): Promise<tf.Tensor4D> {
  const frames = await readItemFrames(item, 'valid', r);
  return preprocessFrames(frames, PRESETS.fast).input;
}

/** One tensor `[ΣN, …]` of per-item inputs, the parts disposed. */
export function concatOwned(parts: tf.Tensor4D[]): tf.Tensor4D {
  if (parts.length === 1) return parts[0]!;
  const x = tf.concat(parts, 0);
  tf.dispose(parts);
  return x;
}
