/**
 * The network input of one list item for `pptsn-web train` (docs/contract.md §7): PaddleVideo's train pipeline (train
 * sampler over the item's L frames, keep-ratio Scale(256, do_round), MultiScaleCrop(224) + RandomFlip, normalise)
 * or its valid pipeline (valid sampler, Scale, CenterCrop), from a video (src/node/ffmpeg.ts `readClip`) or a
 * rawframes folder (src/node/rawframes.ts, L from the list's num_frames as PaddleVideo's FrameDataset trusts it).
 * Every random draw comes from the `rng` given, so an item's input is a function of (item, seed).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ListFormat, ListItem } from '../../core/dataset/lists.js';
import { isPPTSNError, PPTSNError } from '../../core/errors.js';
import type { FramePixels } from '../../core/frames.js';
import { preprocessFrames, preprocessTrainFrames } from '../../core/preprocess/pipeline.js';
import { PRESETS, resolvePreprocessOptions } from '../../core/preprocess/presets.js';
import type { Rng } from '../../core/preprocess/sampler.js';
import { readClip, type DecoderChoice } from '../ffmpeg.js';
import { readRawframesDir } from '../rawframes.js';

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
    if (r.format === 'rawframes') {
      const clip = await readRawframesDir(item.path, config, { ...(item.numFrames !== undefined ? { numFrames: item.numFrames } : {}), sampling, ...(rng ? { rng } : {}) });
      return clip.frames;
    }
    const clip = await readClip(item.path, config, { sampling, ...(rng ? { rng } : {}), ...(r.decoder ? { decoder: r.decoder } : {}), ...(r.signal ? { signal: r.signal } : {}) });
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
