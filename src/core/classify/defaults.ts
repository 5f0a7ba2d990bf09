/**
 * A classify call's defaults, in one place for every entry point (the page's `model.classify`/`embed`/`preprocess`,
 * api/config.ts; the CLI's `classify` and `eval`): the 5 best classes, the model's own preset (model.json's
 * `pptsn.preset`, `accurate` for converted PaddleVideo weights), and the score filter resolved to class indices.
 * An entry point calls `resolveCallOptions` once; what it returns is final (the worker, the readers and the
 * classification tail take it as it comes and resolve nothing again).
 */
import { PPTSNError } from '../errors.js';
import { DEFAULT_PRESET, PRESETS, resolvePreprocessOptions, type CropMode, type PreprocessConfig, type PresetName } from '../preprocess/presets.js';
import type { ScaleMode } from '../preprocess/transforms.js';
import { resolveScoreFilter, type ScoreFilter } from './filter.js';
import type { TopKOptions } from './scores.js';

/** Classes listed in `top` when the caller does not say (page and CLI). */
export const DEFAULT_TOP_K = 5;

/**
 * The preset a call runs when it names none: the model's (model.json's `preset`, as the converter wrote it) when it
 * is a known preset, else `DEFAULT_PRESET` (`accurate`). An unknown name in model.json falls back rather than
 * failing the load: it describes the weights, it does not choose the call's pipeline.
 */
export function modelPreset(preset: unknown): PresetName {
  return typeof preset === 'string' && Object.hasOwn(PRESETS, preset) ? (preset as PresetName) : DEFAULT_PRESET;
}

/** `topK` if it is an integer ≥ `min` (0 on the page: an empty `top`; 1 for the CLI's --top-k); else `invalid-argument`. */
export function checkTopK(topK: unknown, min = 0, what = 'topK'): number {
  if (!(typeof topK === 'number' && Number.isInteger(topK) && topK >= min)) {
    throw new PPTSNError('invalid-argument', `${what} must be ${min >= 1 ? 'a positive' : 'a non-negative'} integer, got ${String(topK)}`);
  }
  return topK;
}

/** What a caller may choose for one classify call (every field optional; the page's and the CLI's options map here). */
export interface CallChoices extends ScoreFilter {
  preset?: PresetName;
  segments?: number;
  crops?: CropMode;
  scale?: ScaleMode;
  topK?: number;
}

/** A classify call resolved: final preprocessing, `top`'s size, and the filter as class indices (plain data). */
export interface ResolvedCall {
  preprocess: PreprocessConfig;
  topK: number;
  /** scoreThreshold and the allowed class indices (`classes` by label or index, checked against the labels). */
  filter: TopKOptions;
}

/**
 * `choices` over the defaults for a model with `labels` whose model.json says `preset` (undefined: none). Every field
 * is checked (`invalid-argument` naming it). `minTopK` is 0 on the page, 1 for the CLI.
 */
export function resolveCallOptions(choices: CallChoices, model: { preset?: unknown; labels: readonly string[] }, minTopK = 0): ResolvedCall {
  const preprocess = resolvePreprocessOptions({
    preset: choices.preset ?? modelPreset(model.preset),
    ...(choices.segments !== undefined ? { segments: choices.segments } : {}),
    ...(choices.crops !== undefined ? { crops: choices.crops } : {}),
    ...(choices.scale !== undefined ? { scale: choices.scale } : {}),
  });
  const topK = checkTopK(choices.topK ?? DEFAULT_TOP_K, minTopK, minTopK >= 1 ? '--top-k' : 'topK');
  const filter = resolveScoreFilter(
    {
      ...(choices.scoreThreshold !== undefined ? { scoreThreshold: choices.scoreThreshold } : {}),
      ...(choices.classes !== undefined ? { classes: choices.classes } : {}),
    },
    model.labels,
  );
  return { preprocess, topK, filter };
}
