/**
 * The clips a fine-tuning run learns from: each a pool of decoded frames and a label; the seeded train/validation
 * split; and the network input of one draw (PaddleVideo's train sampler + train transforms, or the valid ones).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import type { FramePixels } from '../frames/pixels.js';
import { preprocessFrames, preprocessTrainFrames } from '../preprocess/pipeline.js';
import { PRESETS } from '../preprocess/presets.js';
import { sampleTrainIndices, sampleValidIndices } from '../preprocess/sampler.js';
import { hashSeed, type Rng } from '../random.js';
import type { ResolvedSettings } from './settings.js';

/** One training clip: a pool of decoded frames (one size) and its class index. */
export interface TrainingClip {
  id: string;
  label: number;
  frames: FramePixels[];
}

/**
 * The split: per class, round(split·n) clips (at least one when the class has two or more and split > 0) are
 * held out, chosen by a seeded shuffle of the clip ids, so the split is stable across reloads.
 */
export function splitClips(clips: readonly TrainingClip[], s: Pick<ResolvedSettings, 'classes' | 'seed' | 'validationSplit'>): { train: TrainingClip[]; valid: TrainingClip[] } {
  const train: TrainingClip[] = [];
  const valid: TrainingClip[] = [];
  for (let c = 0; c < s.classes.length; c++) {
    const mine = clips
      .filter((k) => k.label === c)
      .sort((a, b) => hashSeed(s.seed, a.id) - hashSeed(s.seed, b.id) || (a.id < b.id ? -1 : 1));
    let k = Math.round(s.validationSplit * mine.length);
    if (s.validationSplit > 0 && mine.length >= 2) k = Math.max(1, k);
    k = Math.min(k, mine.length - 1);
    valid.push(...mine.slice(0, Math.max(0, k)));
    train.push(...mine.slice(Math.max(0, k)));
  }
  const byId = (a: TrainingClip, b: TrainingClip) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return { train: train.sort(byId), valid: valid.sort(byId) };
}

/** Train-pipeline images `[T, 224, 224, 3]` for one draw (T = `segments`; augmented unless `augment` is off). */
export function trainImages(clip: TrainingClip, s: Pick<ResolvedSettings, 'segments' | 'augment'>, rng: Rng): tf.Tensor4D {
  const T = s.segments;
  const frames = sampleTrainIndices(clip.frames.length, T, rng).map((i) => clip.frames[i]!);
  if (s.augment) return preprocessTrainFrames(frames, rng).input;
  return preprocessFrames(frames, PRESETS.fast).input;
}

/** Valid-pipeline images (valid sampling over the pool, keep-ratio Scale, centre crop). */
export function validImages(clip: TrainingClip, s: Pick<ResolvedSettings, 'segments'>): tf.Tensor4D {
  const T = s.segments;
  const frames = sampleValidIndices(clip.frames.length, T).map((i) => clip.frames[i]!);
  return preprocessFrames(frames, PRESETS.fast).input;
}

/** Refuses a fit without training clips, or with a class that has no clip (its head would never see it). */
export function checkFitClips(train: readonly TrainingClip[], all: readonly TrainingClip[], classes: readonly string[]): void {
  if (train.length === 0) throw new PPTSNError('invalid-argument', 'no training clips: add clips with addClip first');
  const empty = classes.filter((_, k) => !all.some((c) => c.label === k));
  if (empty.length > 0) throw new PPTSNError('invalid-argument', `no clips for ${empty.map((c) => JSON.stringify(c)).join(', ')}: add at least one clip to every class (addClip(source, label)) before fit`);
}
