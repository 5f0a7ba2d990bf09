/**
 * Preprocessing presets (docs/contract.md §5) and the one resolver every entry point uses (CLI, worker, public API),
 * so a preset means the same thing everywhere.
 */
import { PPTSNError } from '../errors.js';
import type { ScaleMode, MultiScaleCropOptions } from './transforms.js';
import type { SamplingMode } from './sampler.js';

/** A built-in preprocessing preset: `accurate` = PaddleVideo test (25 segments, TenCrop); `fast` = valid (8, CenterCrop). */
export type PresetName = 'accurate' | 'fast';
/** Spatial crops per frame: `center` (CenterCrop, 1), `three` (GroupFullResSample, 3), `ten` (TenCrop, 10). */
export type CropMode = 'center' | 'three' | 'ten';

/** PaddleVideo's `Normalization` constants (ImageNet, RGB, on /255 values). */
export const MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** A fully specified inference preprocessing (what `resolvePreprocessOptions` returns). */
export interface PreprocessConfig {
  /** Which preset it came from; `custom` when any field was overridden away from the preset. */
  preset: PresetName | 'custom';
  /** T, the number of segments (= frames sampled). */
  segments: number;
  crops: CropMode;
  /** Crops per frame C (1, 3 or 10): the network sees T·C images. */
  cropsPerFrame: 1 | 3 | 10;
  scale: ScaleMode;
  /** `do_round` of keep-ratio Scale (ignored by fixed-ratio). */
  doRound: boolean;
  /** Frame index sampling: test/valid (`select_left`) or linspace. */
  sampling: Exclude<SamplingMode, 'train'>;
  /** Scale's short side (256). */
  shortSize: number;
  /** Crop size fed to the network (224). */
  cropSize: number;
}

/**
 * `accurate` = PaddleVideo's test / inference helper (T = 25, fixed-ratio Scale, TenCrop → 250 images; the
 * setting of the reference result 0.99986 on example.mp4). `fast` = the valid pipeline (T = 8, keep-ratio Scale with
 * do_round, CenterCrop → 8 images).
 */
export const PRESETS: Readonly<Record<PresetName, Readonly<PreprocessConfig>>> = {
  accurate: { preset: 'accurate', segments: 25, crops: 'ten', cropsPerFrame: 10, scale: 'fixed-ratio', doRound: false, sampling: 'valid', shortSize: 256, cropSize: 224 },
  fast: { preset: 'fast', segments: 8, crops: 'center', cropsPerFrame: 1, scale: 'keep-ratio', doRound: true, sampling: 'valid', shortSize: 256, cropSize: 224 },
};

/** The preset used when a caller gives no preprocessing options. */
export const DEFAULT_PRESET: PresetName = 'accurate';

/**
 * What callers may pass: a preset name, or an object that starts from `preset` (default `accurate`) and overrides
 * any of its fields, e.g. `{ preset: 'fast', segments: 3 }` or `{ segments: 16, crops: 'three', scale: 'keep-ratio' }`.
 */
export type PreprocessOptions =
  | PresetName
  | {
      preset?: PresetName;
      segments?: number;
      crops?: CropMode;
      scale?: ScaleMode;
      doRound?: boolean;
      sampling?: Exclude<SamplingMode, 'train'>;
    };

/** Crops per frame of a crop mode. */
export function cropsPerFrame(crops: CropMode): 1 | 3 | 10 {
  switch (crops) {
    case 'center':
      return 1;
    case 'three':
      return 3;
    case 'ten':
      return 10;
    default:
      throw new PPTSNError('invalid-argument', `Unknown crops ${String(crops)} (expected center, three or ten).`);
  }
}

/** Most segments accepted: beyond this the input tensor would not fit any device anyway. */
export const MAX_SEGMENTS = 512;

/** `segments` if it is an integer from 1 to MAX_SEGMENTS; else `invalid-argument`. */
export function checkSegments(segments: unknown): number {
  if (!(typeof segments === 'number' && Number.isInteger(segments) && segments >= 1 && segments <= MAX_SEGMENTS)) {
    throw new PPTSNError('invalid-argument', `segments must be an integer from 1 to ${MAX_SEGMENTS}, got ${String(segments)}.`);
  }
  return segments;
}

/** Called on every `resolvePreprocessOptions` (tests count resolutions per call: one per entry point). */
let resolutionWatcher: ((resolved: PreprocessConfig) => void) | undefined;

/**
 * Watches preset resolutions until the returned function is called (one watcher at a time): the test hook that
 * shows a classify call resolves its preset once, at its entry point.
 */
export function watchPresetResolution(watcher: (resolved: PreprocessConfig) => void): () => void {
  resolutionWatcher = watcher;
  return () => {
    if (resolutionWatcher === watcher) resolutionWatcher = undefined;
  };
}

/**
 * Resolves options to a full `PreprocessConfig`, validating every field (PPTSNError 'invalid-argument' with the
 * field and allowed values). Entry points only (the page's api/config.ts, the CLI through classify/defaults.ts,
 * `frameCropBoxes`): everything below them takes the resolved `PreprocessConfig` and never resolves again. Accepts an
 * already resolved config too (returned as a validated copy).
 */
export function resolvePreprocessOptions(options?: PreprocessOptions | PreprocessConfig | null): PreprocessConfig {
  const resolved = resolve(options);
  resolutionWatcher?.(resolved);
  return resolved;
}

function resolve(options?: PreprocessOptions | PreprocessConfig | null): PreprocessConfig {
  if (options === undefined || options === null) return { ...PRESETS[DEFAULT_PRESET] };
  if (typeof options === 'string') {
    if (!(options in PRESETS)) throw new PPTSNError('invalid-argument', `Unknown preset "${options}" (expected accurate or fast).`);
    return { ...PRESETS[options as PresetName] };
  }
  if (typeof options !== 'object') throw new PPTSNError('invalid-argument', `Preprocess options must be a preset name or an object.`);
  const presetName = options.preset === 'custom' || options.preset === undefined ? DEFAULT_PRESET : options.preset;
  if (!(presetName in PRESETS)) throw new PPTSNError('invalid-argument', `Unknown preset "${String(options.preset)}" (expected accurate or fast).`);
  const base = PRESETS[presetName as PresetName];
  const segments = checkSegments(options.segments ?? base.segments);
  const crops = options.crops ?? base.crops;
  const c = cropsPerFrame(crops);
  const scale = options.scale ?? base.scale;
  if (scale !== 'fixed-ratio' && scale !== 'keep-ratio') throw new PPTSNError('invalid-argument', `Unknown scale ${String(scale)} (expected fixed-ratio or keep-ratio).`);
  // fixed-ratio never rounds; keep-ratio rounds by default (the PP-TSN configs' do_round: True).
  const doRound = scale === 'fixed-ratio' ? false : (options.doRound ?? (base.scale === 'keep-ratio' ? base.doRound : true));
  const sampling = options.sampling ?? base.sampling;
  if (sampling !== 'valid' && sampling !== 'linspace') throw new PPTSNError('invalid-argument', `Unknown sampling ${String(sampling)} (expected valid or linspace).`);
  const shortSize = 'shortSize' in options && typeof options.shortSize === 'number' ? options.shortSize : base.shortSize;
  const cropSize = 'cropSize' in options && typeof options.cropSize === 'number' ? options.cropSize : base.cropSize;
  if (!Number.isInteger(cropSize) || cropSize < 32 || !Number.isInteger(shortSize) || shortSize < cropSize) {
    throw new PPTSNError('invalid-argument', `cropSize must be an integer ≥ 32 and shortSize ≥ cropSize (got ${cropSize}, ${shortSize}).`);
  }
  const resolved: PreprocessConfig = { preset: presetName as PresetName, segments, crops, cropsPerFrame: c, scale, doRound, sampling, shortSize, cropSize };
  const same = (Object.keys(base) as (keyof PreprocessConfig)[]).every((k) => k === 'preset' || base[k] === resolved[k]);
  if (!same) resolved.preset = 'custom';
  return resolved;
}

/** The training transform settings (pptsn_k400_frames.yaml / _videos.yaml train pipeline). */
export interface TrainPreprocessConfig {
  segments: number;
  shortSize: number;
  /** keep-ratio Scale `do_round`. */
  doRound: boolean;
  multiScaleCrop: Required<MultiScaleCropOptions>;
  /** RandomFlip p. */
  flipProbability: number;
}

/** PP-TSN's train pipeline: T = 3 train sampler, keep-ratio Scale(256, do_round), MultiScaleCrop(224, …), RandomFlip(0.5). */
export const TRAIN_PRESET: Readonly<TrainPreprocessConfig> = {
  segments: 3,
  shortSize: 256,
  doRound: true,
  multiScaleCrop: { target: 224, scales: [1, 0.875, 0.75, 0.66], maxDistort: 1, fixCrop: true, allowDuplication: true, moreFixCrop: true },
  flipProbability: 0.5,
};

/** Fills a partial training config from `TRAIN_PRESET`, validating it. */
export function resolveTrainPreprocessOptions(options: Partial<Omit<TrainPreprocessConfig, 'multiScaleCrop'>> & { multiScaleCrop?: MultiScaleCropOptions } = {}): TrainPreprocessConfig {
  const segments = checkSegments(options.segments ?? TRAIN_PRESET.segments);
  const flipProbability = options.flipProbability ?? TRAIN_PRESET.flipProbability;
  if (!(flipProbability >= 0 && flipProbability <= 1)) throw new PPTSNError('invalid-argument', `flipProbability must be in [0, 1], got ${flipProbability}.`);
  return {
    segments,
    shortSize: options.shortSize ?? TRAIN_PRESET.shortSize,
    doRound: options.doRound ?? TRAIN_PRESET.doRound,
    multiScaleCrop: { ...TRAIN_PRESET.multiScaleCrop, ...(options.multiScaleCrop ?? {}) },
    flipProbability,
  };
}
