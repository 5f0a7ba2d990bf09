/**
 * The page API's call defaults in one place (as tfjs-models pose-detection's `constants.ts`), and one validate
 * function per kind of call that merges a caller's options over them and checks every field (`invalid-argument`
 * naming the field). The classify defaults (topK, the model's preset, the score filter as class indices) are the
 * CLI's too: core/classify/defaults.ts. `PPTSN` runs these once, on the page, before anything is sent: the worker
 * gets the resolved config (worker/protocol.ts) and uses it as it comes. The preprocessing presets themselves
 * (PaddleVideo's pptsn_k400_frames/videos configs) are `core/preprocess/presets.ts`.
 */
import { DEFAULT_TOP_K, checkTopK, resolveCallOptions } from '../core/classify/defaults.js';
import { resolveScoreFilter } from '../core/classify/filter.js';
import type { TopKOptions } from '../core/classify/scores.js';
import { PPTSNError } from '../core/errors.js';
import { checkSegments, resolvePreprocessOptions, type PreprocessConfig, type PresetName } from '../core/preprocess/presets.js';
import { scoreFilterOf } from './callOptions.js';
import { clipPreprocess } from './inputs.js';
import type { ClassifyOptions, EmbedOptions, StreamOptions } from './types.js';

/** What the page knows of the loaded model that the defaults depend on: its labels and model.json's preset. */
export interface ModelDefaults {
  labels: readonly string[];
  /** model.json's `pptsn.preset` (absent for a converted weight file: `accurate`). */
  preset?: string;
}

/** classifyStream: 8 frames over 2.5 s, each through the `fast` preset's keep-ratio Scale and one centre crop. */
export const DEFAULT_STREAM_CONFIG = { windowSeconds: 2.5, segments: 8, topK: DEFAULT_TOP_K, preset: 'fast', crops: 'center' } as const;

/** A resolved classify call: final preprocessing, topK, and the score filter as class indices (worker/protocol.ts). */
export interface ClassifyConfig {
  preprocess: PreprocessConfig;
  topK: number;
  filter?: TopKOptions;
}

/** A resolved live stream: per-frame preprocessing (one segment), and the window in frames and seconds. */
export interface StreamConfig {
  preprocess: PreprocessConfig;
  topK: number;
  filter?: TopKOptions;
  windowFrames: number;
  windowSeconds: number;
}

/** The options must be an object (classify(file, 'fast') ran the default preset silently; classify(file, null) threw a TypeError). */
function checkOptionsObject(o: unknown): void {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    throw new PPTSNError('invalid-argument', `the options must be an object such as { preset: 'fast' }, got ${typeof o === 'string' ? `the string "${o}"` : String(o)}`);
  }
}

/** The preprocessing choices of the call options; a frame list fixes `segments` (api/inputs.ts). */
function preprocessChoices(o: ClassifyOptions | EmbedOptions, source: unknown): { preset?: PresetName; segments?: number; crops?: ClassifyOptions['crops']; scale?: ClassifyOptions['scale'] } {
  checkOptionsObject(o);
  const choices = {
    ...(o.preset !== undefined ? { preset: o.preset } : {}),
    ...(o.segments !== undefined ? { segments: o.segments } : {}),
    ...(o.crops !== undefined ? { crops: o.crops } : {}),
    ...(o.scale !== undefined ? { scale: o.scale } : {}),
  };
  return clipPreprocess(choices, source) as typeof choices;
}

/** The resolved call (core/classify/defaults.ts, shared with the CLI), the filter left out when the caller set none. */
function resolveCall(options: ClassifyOptions | EmbedOptions, source: unknown, model: ModelDefaults, withFilter: boolean): ClassifyConfig {
  checkOptionsObject(options); // before any field is read (classify(file, null) threw a TypeError)
  const filterChoices = withFilter ? scoreFilterOf(options as ClassifyOptions).filter : undefined;
  const call = resolveCallOptions({ ...preprocessChoices(options, source), ...(withFilter ? { topK: (options as ClassifyOptions).topK } : {}), ...filterChoices }, model);
  return { preprocess: call.preprocess, topK: call.topK, ...(filterChoices ? { filter: call.filter } : {}) };
}

/** preprocess: the preprocessing of the call options over the model's preset. */
export function validatePreprocessConfig(o: ClassifyOptions | EmbedOptions, source: unknown, model: ModelDefaults): PreprocessConfig {
  return resolveCall(o, source, model, false).preprocess;
}

/**
 * The `scoreThreshold` / `classes` filter of classify and classifyStream resolved against the model's `labels` to
 * class indices (an unknown class or a threshold outside 0–1 fails here, on the page, before any decoding or frame
 * grabbing; the worker gets indices). Absent when the caller set neither.
 */
export function validateScoreFilter(options: Pick<ClassifyOptions, 'scoreThreshold' | 'classes'>, labels: readonly string[]): { filter?: TopKOptions } {
  const { filter } = scoreFilterOf(options);
  return filter ? { filter: resolveScoreFilter(filter, labels) } : {};
}

/** classify's options over the defaults (core/classify/defaults.ts: the 5 best, the model's preset). */
export function validateClassifyConfig(options: ClassifyOptions, source: unknown, model: ModelDefaults): ClassifyConfig {
  return resolveCall(options, source, model, true);
}

/** embed's options: the preprocessing of classify, and whether per-frame features are wanted. */
export function validateEmbedConfig(options: EmbedOptions, source: unknown, model: ModelDefaults): { preprocess: PreprocessConfig; perFrame: boolean } {
  return { preprocess: validatePreprocessConfig(options, source, model), perFrame: options.perFrame === true };
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
