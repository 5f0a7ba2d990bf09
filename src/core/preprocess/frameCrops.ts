/**
 * The crop boxes a preset cuts from a frame, in that frame's own coordinates: for drawing them over the video
 * (the demo's frame strip). The same arithmetic the pipeline uses (PaddleVideo `Scale` → `CenterCrop` / three-crop /
 * `TenCrop`), without pixels or tensors.
 */
import { resolvePreprocessOptions, type PreprocessConfig, type PreprocessOptions } from './presets.js';
import { cropBoxesFor, cropToSource, scaleSize, type CropBox, type Size } from './transforms.js';

/**
 * The boxes `options` (a preset name or options, as `classify` takes them; default the default preset) cuts from a
 * `width`×`height` frame, mapped back onto that frame: x, y, width, height in source pixels; `flip` marks TenCrop's
 * mirrored copies, which cover the same area. Throws PPTSNError('invalid-argument') for a bad size or options.
 */
export function frameCropBoxes(frame: Size, options?: PreprocessOptions | PreprocessConfig): CropBox[] {
  const config = resolvePreprocessOptions(options);
  const scaled = scaleSize(frame, { shortSize: config.shortSize, mode: config.scale, doRound: config.doRound });
  return cropBoxesFor(config, scaled).map((b) => cropToSource(b, frame, scaled));
}
