/**
 * VideoFrame → RGBA pixels, three ways (see `FrameConversion`). The default converts the decoder's YUV planes
 * here with the stream's matrix, BT.601 limited range when the stream is untagged: that is what decord/ffmpeg do
 * (docs/contract.md §4), whereas Chromium assumes BT.709 for untagged H.264 and is 4–7 levels off.
 */
import type { FramePixels } from '../core/frames/pixels.js';
import { PPTSNError } from '../core/errors.js';
import { colorOf, type FramePlan } from '../core/frames/framePlan.js';
import { coefficients, yuvToRgba } from '../core/frames/yuv.js';
import { yuv420ToRgbScaled } from '../core/frames/yuvScaled.js';
import { highBitYuvToRgba, isDeepFormat, isHighBitFormat } from './colorHighBit.js';

/** The conversion to apply: matrix and range as core/frames/framePlan.ts decides them. */
export type ColorConversion = FramePlan['color'];

/**
 * How a decoded VideoFrame becomes RGBA:
 * - 'yuv': copy the native YUV planes (`copyTo` without a format) and convert in JavaScript with the stream's
 *   matrix and range, with ffmpeg's own fixed-point arithmetic (bit-exact with `ffmpeg -pix_fmt rgb24` on x86);
 *   10/12-bit formats go through colorHighBit.ts (ffmpeg's formulas); other formats (RGB) fall back to 'copyTo'.
 * - 'copyTo': `VideoFrame.copyTo(…, { format: 'RGBA', colorSpace: 'srgb' })`, Chromium's conversion.
 * - 'canvas': draw on an OffscreenCanvas and read back with getImageData (the oldest path; colour as Chromium renders).
 */
export type FrameConversion = 'yuv' | 'copyTo' | 'canvas';

/** The conversion for WebCodecs colour tags (untagged → BT.601; full range only when tagged so). */
export function conversionFor(tags: VideoColorSpaceInit | null | undefined): ColorConversion {
  return colorOf({ matrix: tags?.matrix ?? null, fullRange: tags?.fullRange ?? null });
}

const YUV_FORMATS = new Set<string>(['I420', 'I420A', 'I422', 'I422A', 'I444', 'I444A', 'NV12']);

/**
 * Reads a VideoFrame's visible rectangle as RGBA (unrotated). Does not close the frame. `color` is the conversion
 * for the 'yuv' path (from the demuxer's tags via `conversionFor`/`colorOf`); when omitted, the frame's own tags.
 * 10/12-bit frames on the 'copyTo'/'canvas' paths would be Chromium's conversion, not ffmpeg's: refused with
 * 'unsupported-source' rather than silently different pixels.
 */
export async function videoFrameToRgba(
  frame: VideoFrame,
  conversion: FrameConversion,
  color?: ColorConversion,
): Promise<FramePixels & { channels: 4; data: Uint8ClampedArray }> {
  const rect = frame.visibleRect;
  const width = rect ? rect.width : frame.displayWidth;
  const height = rect ? rect.height : frame.displayHeight;
  const format: string | null = frame.format;
  if (conversion === 'yuv' && format && (YUV_FORMATS.has(format) || isHighBitFormat(format))) {
    const buf = new Uint8Array(frame.allocationSize());
    const layout = await frame.copyTo(buf);
    const cs = color ?? conversionFor(untaggedAs601(frame.colorSpace));
    // 8-bit 4:2:0 with an odd height takes ffmpeg's scaled path (interpolated chroma; full chroma for an odd width
    // too), not its unscaled converter: yuvScaled.ts reproduces it within a level on a few samples.
    if (height % 2 === 1 && (format === 'I420' || format === 'I420A' || format === 'NV12')) {
      return { width, height, channels: 4, data: yuv420ToRgbScaled(buf, layout, format === 'NV12', width, height, cs, 4) };
    }
    if (isHighBitFormat(format)) {
      const [kr, kb] = coefficients(cs.matrix);
      return { width, height, channels: 4, data: highBitYuvToRgba(buf, layout, format, width, height, kr, kb, cs.fullRange) };
    }
    return { width, height, channels: 4, data: yuvToRgba(buf, layout, frame.format!, width, height, cs) };
  }
  if (isDeepFormat(format)) {
    throw new PPTSNError('unsupported-source', `The decoder gave ${format} frames; only the 'yuv' conversion reproduces ffmpeg's colours for them (conversion '${conversion}' was asked).`);
  }
  if (conversion !== 'canvas') {
    try {
      const opts = { format: 'RGBA', colorSpace: 'srgb' } as VideoFrameCopyToOptions;
      const data = new Uint8ClampedArray(frame.allocationSize(opts));
      await frame.copyTo(data, opts);
      return { width, height, channels: 4, data };
    } catch {
      // Older Chromium: copyTo cannot convert to RGBA; fall through to the canvas.
    }
  }
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  if (!ctx) throw new PPTSNError('internal', 'OffscreenCanvas 2D context is unavailable.');
  ctx.drawImage(frame, 0, 0, width, height);
  return { width, height, channels: 4, data: ctx.getImageData(0, 0, width, height).data };
}

/** A frame's tags as-is, but with the matrix dropped when the browser could only have guessed it. */
function untaggedAs601(cs: VideoColorSpace | null | undefined): VideoColorSpaceInit | null {
  if (!cs || !cs.matrix) return null;
  return { matrix: cs.matrix, fullRange: cs.fullRange ?? false };
}
