/**
 * The page API's call defaults in one place (as tfjs-models pose-detection's `constants.ts`), and one validate
 * function per kind of call that merges a caller's options over them and checks every field (`invalid-argument`
 * naming the field). `PPTSN` runs them once, on the page, before anything is sent: the worker gets the resolved
 * config (worker/protocol.ts) and uses it as it comes. The preprocessing presets themselves (PaddleVideo's
 * pptsn_k400_frames/videos configs) are `core/preprocess/presets.ts`.
 */
import { resolveScoreFilter, type ScoreFilter } from '../core/classify/filter.js';
import { PPTSNError } from '../core/errors.js';
import { checkSegments, resolvePreprocessOptions, type PreprocessConfig, type PreprocessOptions } from '../core/preprocess/presets.js';
import { scoreFilterOf } from './callOptions.js';
import { clipPreprocess } from './inputs.js';
import type { ClassifyOptions, EmbedOptions, StreamOptions } from './types.js';

/** classify / preprocess / evaluate: preprocessing from `accurate` (presets.ts), the 5 best classes. */
export const DEFAULT_CLASSIFY_CONFIG = { topK: 5 } as const;

/** classifyStream: 8 frames over 2.5 s, each through the `fast` preset's keep-ratio Scale and one centre crop. */
export const DEFAULT_STREAM_CONFIG = { windowSeconds: 2.5, segments: 8, topK: 5, preset: 'fast', crops: 'center' } as const;

/** A resolved classify call. */
export interface ClassifyConfig {
  preprocess: PreprocessConfig;
  topK: number;
  filter?: ScoreFilter;
}

/** A resolved live stream: per-frame preprocessing (one segment), and the window in frames and seconds. */
export interface StreamConfig {
  preprocess: PreprocessConfig;
  topK: number;
  filter?: ScoreFilter;
  windowFrames: number;
  windowSeconds: number;
}

function checkTopK(topK: unknown): number {
  if (!(typeof topK === 'number' && Number.isInteger(topK) && topK >= 0)) throw new PPTSNError('invalid-argument', `topK must be a non-negative integer, got ${String(topK)}`);
  return topK;
}

/** The preprocessing fields of the call options over the preset's (a frame list fixes `segments`: api/inputs.ts). */
export function validatePreprocessConfig(o: ClassifyOptions | EmbedOptions, source: unknown): PreprocessConfig {
  // classify(file, 'fast') ran the model's default preset silently; classify(file, null) threw a TypeError.
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    throw new PPTSNError('invalid-argument', `the options must be an object such as { preset: 'fast' }, got ${typeof o === 'string' ? `the string "${o}"` : String(o)}`);
  }
  const options: PreprocessOptions = {
    ...(o.preset !== undefined ? { preset: o.preset } : {}),
    ...(o.segments !== undefined ? { segments: o.segments } : {}),
    ...(o.crops !== undefined ? { crops: o.crops } : {}),
    ...(o.scale !== undefined ? { scale: o.scale } : {}),
  };
  return resolvePreprocessOptions(clipPreprocess(options, source));
}

/**
 * The `scoreThreshold` / `classes` filter of classify and classifyStream, checked against the model's `labels`
 * (an unknown class or a threshold outside 0–1 fails here, on the page, before any decoding or frame grabbing).
 * Absent when the caller set neither.
 */
export function validateScoreFilter(options: Pick<ClassifyOptions, 'scoreThreshold' | 'classes'>, labels: readonly string[]): { filter?: ScoreFilter } {
  const { filter } = scoreFilterOf(options);
  resolveScoreFilter(filter, labels);
  return filter ? { filter } : {};
}

/** classify's options over DEFAULT_CLASSIFY_CONFIG; `labels` are the model's, for the `classes` filter. */
export function validateClassifyConfig(options: ClassifyOptions, source: unknown, labels: readonly string[]): ClassifyConfig {
  const preprocess = validatePreprocessConfig(options, source);
  const topK = checkTopK(options.topK ?? DEFAULT_CLASSIFY_CONFIG.topK);
  return { preprocess, topK, ...validateScoreFilter(options, labels) };
}

/** embed's options: the preprocessing of classify, and whether per-frame features are wanted. */
export function validateEmbedConfig(options: EmbedOptions, source: unknown): { preprocess: PreprocessConfig; perFrame: boolean } {
  return { preprocess: validatePreprocessConfig(options, source), perFrame: options.perFrame === true };
}

/** classifyStream's options over DEFAULT_STREAM_CONFIG; `labels` are the model's, for the `classes` filter. */
export function validateStreamConfig(options: StreamOptions, labels: readonly string[]): StreamConfig {
  const d = DEFAULT_STREAM_CONFIG;
  const windowSeconds = options.windowSeconds ?? d.windowSeconds;
  if (!(Number.isFinite(windowSeconds) && windowSeconds > 0)) throw new PPTSNError('invalid-argument', `windowSeconds must be a positive number, got ${String(windowSeconds)}`);
  const windowFrames = checkSegments(options.segments ?? d.segments);
  const topK = checkTopK(options.topK ?? d.topK);
  const scoreFilter = validateScoreFilter(options, labels);
  // Per-frame preprocessing: the stream's T is the window, so each push is one frame.
  const preprocess = resolvePreprocessOptions({
    preset: options.preset ?? d.preset,
    crops: options.crops ?? d.crops,
    ...(options.scale !== undefined ? { scale: options.scale } : {}),
    segments: 1,
  });
  return { preprocess, topK, ...scoreFilter, windowFrames, windowSeconds };
}
