/**
 * VideoFrame → RGBA pixels, three ways (see `FrameConversion`). The default converts the decoder's YUV planes
 * here with the stream's matrix, BT.601 limited range when the stream is untagged: that is what decord/ffmpeg do
 * (SPEC §4), whereas Chromium assumes BT.709 for untagged H.264 and is 4–7 levels off.
 */
import type { FramePixels } from '../core/frames.js';
import { PPTSNError } from '../core/errors.js';

/**
 * How a decoded VideoFrame becomes RGBA:
 * - 'yuv': copy the native YUV planes (`copyTo` without a format) and convert in JavaScript with the stream's
 *   matrix and range, nearest-neighbour chroma like ffmpeg's unscaled yuv420p→rgb24 path (closest to ffmpeg);
 *   falls back to 'copyTo' for pixel formats it does not handle (10-bit, RGB).
 * - 'copyTo': `VideoFrame.copyTo(…, { format: 'RGBA', colorSpace: 'srgb' })`, Chromium's conversion.
 * - 'canvas': draw on an OffscreenCanvas and read back with getImageData (the oldest path; colour as Chromium renders).
 */
export type FrameConversion = 'yuv' | 'copyTo' | 'canvas';

/** Luma coefficients (Kr, Kb) per matrix; untagged and unknown use BT.601 like ffmpeg's swscale default. */
function coefficients(matrix: string | null | undefined): [number, number] {
  // string, not VideoMatrixCoefficients: TypeScript's DOM lib lacks 'bt2020-ncl'.
  switch (matrix) {
    case 'bt709': return [0.2126, 0.0722];
    case 'bt2020-ncl': return [0.2627, 0.0593];
    default: return [0.299, 0.114]; // smpte170m, bt470bg, untagged
  }
}

/** The colour space to convert with: the stream's tags when it has a matrix, else BT.601 limited range. */
export function effectiveColorSpace(tags: VideoColorSpaceInit | null | undefined): { matrix: VideoMatrixCoefficients; fullRange: boolean } {
  const matrix = tags?.matrix ?? 'smpte170m';
  return { matrix, fullRange: tags?.fullRange ?? false };
}

/**
 * Converts 8-bit planar/semi-planar YUV to RGBA. `format` is the VideoFrame pixel format; planes are described by
 * `layout` (offset and stride per plane, as `VideoFrame.copyTo` returns them).
 */
export function yuvToRgba(
  src: Uint8Array,
  layout: PlaneLayout[],
  format: VideoPixelFormat,
  width: number,
  height: number,
  colorSpace: { matrix: VideoMatrixCoefficients; fullRange: boolean },
): Uint8ClampedArray {
  const [kr, kb] = coefficients(colorSpace.matrix);
  const kg = 1 - kr - kb;
  // Scale factors from the range: limited = Y 16–235, C 16–240.
  const ys = colorSpace.fullRange ? 1 : 255 / 219;
  const cs = colorSpace.fullRange ? 1 : 255 / 224;
  const yOff = colorSpace.fullRange ? 0 : 16;
  const crR = 2 * (1 - kr) * cs;
  const cbB = 2 * (1 - kb) * cs;
  const cbG = (-2 * (1 - kb) * kb / kg) * cs;
  const crG = (-2 * (1 - kr) * kr / kg) * cs;
  const out = new Uint8ClampedArray(width * height * 4);
  const [py, pu, pv] = layout;
  if (!py) throw new PPTSNError('internal', 'VideoFrame.copyTo returned no planes.');
  const fmt: string = format; // the DOM lib's VideoPixelFormat lacks I422A/I444A
  const nv12 = fmt === 'NV12';
  const sx = fmt === 'I444' || fmt === 'I444A' ? 0 : 1; // chroma subsampling shifts
  const sy = fmt === 'I420' || fmt === 'I420A' || nv12 ? 1 : 0;
  // Luma lookup: (Y − offset)·scale, computed once per value.
  const yl = new Float32Array(256);
  for (let v = 0; v < 256; v++) yl[v] = (v - yOff) * ys + 0.5; // +0.5: round by truncation below
  for (let y = 0; y < height; y++) {
    const yRow = py.offset + y * py.stride;
    const cy = y >> sy;
    const uRow = nv12 ? pu!.offset + cy * pu!.stride : pu!.offset + cy * pu!.stride;
    const vRow = nv12 ? 0 : pv!.offset + cy * pv!.stride;
    let o = y * width * 4;
    for (let x = 0; x < width; x++) {
      const cx = x >> sx;
      let u: number, v: number;
      if (nv12) { u = src[uRow + 2 * cx]! - 128; v = src[uRow + 2 * cx + 1]! - 128; } else { u = src[uRow + cx]! - 128; v = src[vRow + cx]! - 128; }
      const l = yl[src[yRow + x]!]!;
      // Round half up (the +0.5 is folded into l); the clamped array clamps to 0–255.
      out[o] = Math.floor(l + crR * v);
      out[o + 1] = Math.floor(l + cbG * u + crG * v);
      out[o + 2] = Math.floor(l + cbB * u);
      out[o + 3] = 255;
      o += 4;
    }
  }
  return out;
}

const YUV_FORMATS = new Set<string>(['I420', 'I420A', 'I422', 'I422A', 'I444', 'I444A', 'NV12']);

/**
 * Reads a VideoFrame's visible rectangle as RGBA. Does not close the frame. `colorSpace` overrides the frame's own
 * tags for the 'yuv' path (pass the demuxer's tags; untagged means BT.601).
 */
export async function videoFrameToRgba(
  frame: VideoFrame,
  conversion: FrameConversion,
  colorSpace?: VideoColorSpaceInit | null,
): Promise<FramePixels & { channels: 4; data: Uint8ClampedArray }> {
  const rect = frame.visibleRect;
  const width = rect ? rect.width : frame.displayWidth;
  const height = rect ? rect.height : frame.displayHeight;
  if (conversion === 'yuv' && frame.format && YUV_FORMATS.has(frame.format)) {
    const buf = new Uint8Array(frame.allocationSize());
    const layout = await frame.copyTo(buf);
    const cs = effectiveColorSpace(colorSpace === undefined ? untaggedAs601(frame.colorSpace) : colorSpace);
    return { width, height, channels: 4, data: yuvToRgba(buf, layout, frame.format, width, height, cs) };
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
