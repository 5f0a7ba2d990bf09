/**
 * 10/12-bit YUV (`I420P10`, `I422P10`, `I444P10`, `I420P12`, … as Chromium's decoders output High 10, VP9 profile 2
 * and AV1 10-bit) and 8-bit 4:4:4 (`I444`: VP9 profile 1, H.264 High 4:4:4) → 8-bit RGBA with the stream's matrix and range, the formulas ffmpeg's swscale implements for
 * `yuv420p10le → rgb24` (docs/contract.md §4: 10-bit streams get ffmpeg's conversion; Chromium's own RGBA conversion would
 * tone-map and differ). What swscale does here (ffmpeg 5.1, default `bicubic` flags; fitted on hi10.mp4 to a mean
 * of 0.5 levels, 99th percentile 2): chroma shared by each horizontal pixel pair (packed-RGB output has no
 * horizontal chroma interpolation), vertically upsampled with its bicubic filter (B = 0, C = 0.6, centred
 * siting), float matrix; its fixed-point path lands about half a level below the float value, hence ⌊x − 0.5⌋
 * (mean 0.3 levels, 99th percentile 2 on hi10.mp4). 4:4:4 has full chroma and rounds (8-bit: mean 0.001 levels).
 */
import { PPTSNError } from '../core/errors.js';

/** Pixel formats handled here, with their bit depth and chroma subsampling shifts. */
const HIGH_BIT: Record<string, { bits: number; sx: number; sy: number }> = {
  // 8-bit 4:4:4 also takes swscale's generic path (full chroma, rounded), not the x86 table converter.
  I444: { bits: 8, sx: 0, sy: 0 },
  I444A: { bits: 8, sx: 0, sy: 0 },
  I420P10: { bits: 10, sx: 1, sy: 1 },
  I422P10: { bits: 10, sx: 1, sy: 0 },
  I444P10: { bits: 10, sx: 0, sy: 0 },
  I420AP10: { bits: 10, sx: 1, sy: 1 },
  I422AP10: { bits: 10, sx: 1, sy: 0 },
  I444AP10: { bits: 10, sx: 0, sy: 0 },
  I420P12: { bits: 12, sx: 1, sy: 1 },
  I422P12: { bits: 12, sx: 1, sy: 0 },
  I444P12: { bits: 12, sx: 0, sy: 0 },
};

/** Whether `highBitYuvToRgba` converts this VideoFrame format (10/12-bit, and 8-bit 4:4:4; 8-bit 4:2:0 with an odd height is core/frames/yuvScaled.ts's). */
export function isHighBitFormat(format: string | null | undefined): boolean {
  return !!format && format in HIGH_BIT;
}

/** More than 8 bits per sample: Chromium's own RGB conversion of these would differ from ffmpeg's. */
export function isDeepFormat(format: string | null | undefined): boolean {
  return !!format && (HIGH_BIT[format]?.bits ?? 8) > 8;
}

/**
 * Converts a high-bit-depth planar frame (`copyTo` layout, little-endian 16-bit samples) to RGBA. `kr`/`kb` are the
 * matrix's luma coefficients.
 */
export function highBitYuvToRgba(
  src: Uint8Array,
  layout: PlaneLayout[],
  format: string,
  width: number,
  height: number,
  kr: number,
  kb: number,
  fullRange: boolean,
): Uint8ClampedArray {
  const f: { bits: number; sx: number; sy: number; interleaved?: boolean } | undefined = HIGH_BIT[format];
  const [py, pu, pvPlane] = layout;
  // NV12: U and V interleaved in the second plane.
  const pv = f?.interleaved ? pu : pvPlane;
  if (!f || !py || !pu || !pv) throw new PPTSNError('internal', `Cannot convert ${format} frames.`);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const scale = 1 / (1 << (f.bits - 8)); // to the 8-bit domain
  const sample = f.bits === 8
    ? (p: PlaneLayout, x: number, y: number) => src[p.offset + y * p.stride + x]!
    : (p: PlaneLayout, x: number, y: number) => view.getUint16(p.offset + y * p.stride + 2 * x, true) * scale;
  const chromaU = f.interleaved ? (x: number, y: number) => src[pu.offset + y * pu.stride + 2 * x]! : (x: number, y: number) => sample(pu, x, y);
  const chromaV = f.interleaved ? (x: number, y: number) => src[pu.offset + y * pu.stride + 2 * x + 1]! : (x: number, y: number) => sample(pv, x, y);
  // Vertically upsampled chroma (4:2:0) lands ~half a level below the float value in swscale; full chroma rounds.
  const bias = f.sy ? -0.5 : 0;
  const q = f.sy ? Math.floor : Math.round;
  const kg = 1 - kr - kb;
  const ys = fullRange ? 1 : 255 / 219;
  const cs = fullRange ? 1 : 255 / 224;
  const yo = fullRange ? 0 : 16;
  const vr = 2 * (1 - kr) * cs, ub = 2 * (1 - kb) * cs;
  const ug = (2 * (1 - kb) * kb / kg) * cs, vg = (2 * (1 - kr) * kr / kg) * cs;
  // Chroma rows: ⌈height / 2⌉ for 4:2:0 (an odd height has a last, half-covered chroma row).
  const ch = (height + f.sy) >> f.sy;
  const out = new Uint8ClampedArray(width * height * 4);
  const rows: number[] = [];
  const weights: number[] = [];
  for (let y = 0; y < height; y++) {
    // The chroma rows and bicubic weights for this luma row (one row, weight 1, without vertical subsampling).
    rows.length = 0;
    weights.length = 0;
    if (f.sy) {
      // swscale scales the ch chroma rows to the height luma rows: (y + 0.5) / 2 − 0.5 when the height is even.
      const pos = ((y + 0.5) * ch) / height - 0.5;
      const base = Math.floor(pos);
      let sum = 0;
      for (let k = -1; k <= 2; k++) {
        const w = cubic(pos - (base + k));
        rows.push(Math.min(ch - 1, Math.max(0, base + k)));
        weights.push(w);
        sum += w;
      }
      for (let k = 0; k < 4; k++) weights[k]! /= sum;
    } else {
      rows.push(y);
      weights.push(1);
    }
    let o = y * width * 4;
    for (let x = 0; x < width; x++) {
      const cx = x >> f.sx;
      let u = -128, v = -128;
      for (let k = 0; k < rows.length; k++) {
        u += chromaU(cx, rows[k]!) * weights[k]!;
        v += chromaV(cx, rows[k]!) * weights[k]!;
      }
      const l = (sample(py, x, y) - yo) * ys;
      out[o] = q(l + vr * v + bias);
      out[o + 1] = q(l - ug * u - vg * v + bias);
      out[o + 2] = q(l + ub * u + bias);
      out[o + 3] = 255;
      o += 4;
    }
  }
  return out;
}

/** swscale's bicubic kernel (B = 0, C = 0.6, i.e. Keys' cubic with a = −0.6). */
function cubic(t: number): number {
  const a = -0.6;
  const x = Math.abs(t);
  if (x <= 1) return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1;
  if (x < 2) return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a;
  return 0;
}
