/**
 * 10/12-bit YUV (`I420P10`, `I422P10`, `I444P10`, `I420P12`, … as Chromium's decoders output High 10, VP9 profile 2
 * and AV1 10-bit) → 8-bit RGBA with the stream's matrix and range, the formulas ffmpeg's swscale implements for
 * `yuv420p10le → rgb24` (SPEC §4: 10-bit streams get ffmpeg's conversion; Chromium's own RGBA conversion would
 * tone-map and differ). Float arithmetic rounded once; chroma is taken from the co-sited sample like swscale's
 * packed-RGB output (no horizontal chroma interpolation), vertically interpolated between the two nearest rows.
 */
import { PPTSNError } from '../core/errors.js';

/** Pixel formats handled here, with their bit depth and chroma subsampling shifts. */
const HIGH_BIT: Record<string, { bits: number; sx: number; sy: number }> = {
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

export function isHighBitFormat(format: string | null | undefined): boolean {
  return !!format && format in HIGH_BIT;
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
  const f = HIGH_BIT[format];
  const [py, pu, pv] = layout;
  if (!f || !py || !pu || !pv) throw new PPTSNError('internal', `Cannot convert ${format} frames.`);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const scale = 1 / (1 << (f.bits - 8)); // to the 8-bit domain
  const sample = (p: PlaneLayout, x: number, y: number) => view.getUint16(p.offset + y * p.stride + 2 * x, true) * scale;
  const kg = 1 - kr - kb;
  const ys = fullRange ? 1 : 255 / 219;
  const cs = fullRange ? 1 : 255 / 224;
  const yo = fullRange ? 0 : 16;
  const vr = 2 * (1 - kr) * cs, ub = 2 * (1 - kb) * cs;
  const ug = (2 * (1 - kb) * kb / kg) * cs, vg = (2 * (1 - kr) * kr / kg) * cs;
  const ch = height >> f.sy;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    // Vertical chroma position of this luma row (MPEG-2 siting: chroma rows sit between luma row pairs).
    let c0 = y, c1 = y, w1 = 0;
    if (f.sy) {
      const pos = (y + 0.5) / 2 - 0.5;
      c0 = Math.max(0, Math.floor(pos));
      c1 = Math.min(ch - 1, c0 + 1);
      w1 = Math.min(1, Math.max(0, pos - Math.floor(pos)));
      if (pos < 0) { c1 = c0; w1 = 0; }
    }
    let o = y * width * 4;
    for (let x = 0; x < width; x++) {
      const cx = x >> f.sx;
      const u = sample(pu, cx, c0) * (1 - w1) + sample(pu, cx, c1) * w1 - 128;
      const v = sample(pv, cx, c0) * (1 - w1) + sample(pv, cx, c1) * w1 - 128;
      const l = (sample(py, x, y) - yo) * ys;
      out[o] = Math.round(l + vr * v);
      out[o + 1] = Math.round(l - ug * u - vg * v);
      out[o + 2] = Math.round(l + ub * u);
      out[o + 3] = 255;
      o += 4;
    }
  }
  return out;
}
