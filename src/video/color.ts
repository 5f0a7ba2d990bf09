/**
 * VideoFrame → RGBA pixels, three ways (see `FrameConversion`). The default converts the decoder's YUV planes
 * here with the stream's matrix, BT.601 limited range when the stream is untagged: that is what decord/ffmpeg do
 * (docs/contract.md §4), whereas Chromium assumes BT.709 for untagged H.264 and is 4–7 levels off.
 */
import type { FramePixels } from '../core/frames.js';
import { PPTSNError } from '../core/errors.js';
import { colorOf, type FramePlan } from '../core/preprocess/framePlan.js';
import { highBitYuvToRgba, isDeepFormat, isHighBitFormat } from './colorHighBit.js';

/** The conversion to apply: matrix and range as core/preprocess/framePlan.ts decides them. */
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

/** Luma coefficients (Kr, Kb) per matrix; untagged and unknown use BT.601 like ffmpeg's swscale default. */
function coefficients(matrix: string | null | undefined): [number, number] {
  switch (matrix) {
    case 'bt709': return [0.2126, 0.0722];
    case 'bt2020': case 'bt2020-ncl': return [0.2627, 0.0593];
    case 'fcc': return [0.3, 0.11];
    case 'smpte240m': return [0.212, 0.087];
    default: return [0.299, 0.114]; // smpte170m, bt470bg, untagged
  }
}

/** The conversion for WebCodecs colour tags (untagged → BT.601; full range only when tagged so). */
export function conversionFor(tags: VideoColorSpaceInit | null | undefined): ColorConversion {
  return colorOf({ matrix: tags?.matrix ?? null, fullRange: tags?.fullRange ?? null });
}

/**
 * Per-value lookup tables replicating ffmpeg's (libswscale 5.x/6.x x86 SIMD, `yuv_2_rgb.asm`) unscaled
 * yuv→rgb arithmetic, which is what `ffmpeg -pix_fmt rgb24` and decord use on x86: 16.16 coefficients from
 * ff_yuv2rgb_coeffs rounded to 3.13, samples scaled by 8, `pmulhw` (floor of the high 16 bits), sum saturated
 * to 0–255. Bit-exact with ffmpeg 5.1 on example.mp4; float BT.601 with rounding is ~1 level (mean) brighter.
 */
function ffmpegTables(colorSpace: { matrix: string; fullRange: boolean }) {
  const [kr, kb] = coefficients(colorSpace.matrix);
  const kg = 1 - kr - kb;
  // ff_yuv2rgb_coeffs are the limited-range chroma scales in 16.16 (BT.601: 104597, 132201, 25675, 53279).
  let crv = Math.round(2 * (1 - kr) * (255 / 224) * 65536);
  let cbu = Math.round(2 * (1 - kb) * (255 / 224) * 65536);
  let cgu = Math.round(2 * (1 - kb) * (kb / kg) * (255 / 224) * 65536);
  let cgv = Math.round(2 * (1 - kr) * (kr / kg) * (255 / 224) * 65536);
  let cy = 65536;
  let oy = 0;
  if (!colorSpace.fullRange) {
    cy = Math.floor((cy * 255) / 219);
    oy = 16 << 16;
  } else {
    crv = Math.floor((crv * 224) / 255);
    cbu = Math.floor((cbu * 224) / 255);
    cgu = Math.floor((cgu * 224) / 255);
    cgv = Math.floor((cgv * 224) / 255);
  }
  const to13 = (c: number) => Math.floor((c * 8192 + 32768) / 65536); // roundToInt16(c << 13)
  const yC = to13(cy), vrC = to13(crv), ubC = to13(cbu), ugC = to13(-cgu), vgC = to13(-cgv);
  const yOff = Math.floor((oy * 8 + 32768) / 65536);
  const mulhi = (a: number, c: number) => Math.floor((a * c) / 65536);
  const yT = new Int16Array(256), vR = new Int16Array(256), uG = new Int16Array(256), vG = new Int16Array(256), uB = new Int16Array(256);
  for (let i = 0; i < 256; i++) {
    yT[i] = mulhi(i * 8 - yOff, yC);
    const c = i * 8 - 1024;
    vR[i] = mulhi(c, vrC);
    uG[i] = mulhi(c, ugC);
    vG[i] = mulhi(c, vgC);
    uB[i] = mulhi(c, ubC);
  }
  return { yT, vR, uG, vG, uB };
}

/**
 * Converts 8-bit planar/semi-planar YUV to RGBA like ffmpeg's unscaled converter (nearest-neighbour chroma, see
 * `ffmpegTables`). `format` is the VideoFrame pixel format; planes are described by `layout` (offset and stride per
 * plane, as `VideoFrame.copyTo` returns them).
 */
export function yuvToRgba(
  src: Uint8Array,
  layout: PlaneLayout[],
  format: VideoPixelFormat,
  width: number,
  height: number,
  colorSpace: { matrix: string; fullRange: boolean },
): Uint8ClampedArray {
  const { yT, vR, uG, vG, uB } = ffmpegTables(colorSpace);
  const out = new Uint8ClampedArray(width * height * 4);
  const [py, pu, pv] = layout;
  if (!py || !pu) throw new PPTSNError('internal', 'VideoFrame.copyTo returned too few planes.');
  const fmt: string = format; // the DOM lib's VideoPixelFormat lacks I422A/I444A
  const nv12 = fmt === 'NV12';
  if (!nv12 && !pv) throw new PPTSNError('internal', 'VideoFrame.copyTo returned too few planes.');
  const sx = fmt === 'I444' || fmt === 'I444A' ? 0 : 1; // chroma subsampling shifts
  const sy = fmt === 'I420' || fmt === 'I420A' || nv12 ? 1 : 0;
  for (let y = 0; y < height; y++) {
    const yRow = py.offset + y * py.stride;
    const cy = y >> sy;
    const uRow = pu.offset + cy * pu.stride;
    const vRow = nv12 ? 0 : pv!.offset + cy * pv!.stride;
    let o = y * width * 4;
    for (let x = 0; x < width; x++) {
      const cx = x >> sx;
      let u: number, v: number;
      if (nv12) { u = src[uRow + 2 * cx]!; v = src[uRow + 2 * cx + 1]!; } else { u = src[uRow + cx]!; v = src[vRow + cx]!; }
      const l = yT[src[yRow + x]!]!;
      // The clamped array saturates like packuswb.
      out[o] = l + vR[v]!;
      out[o + 1] = l + uG[u]! + vG[v]!;
      out[o + 2] = l + uB[u]!;
      out[o + 3] = 255;
      o += 4;
    }
  }
  return out;
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
