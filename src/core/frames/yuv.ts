/**
 * 8-bit YCbCr → RGBA exactly as the CLI's ffmpeg (swscale's x86 SIMD converter) does it, for every path that
 * converts YUV itself: WebCodecs frames (src/video/color.ts) and ffmpeg.wasm's output, whose own swscale has only the
 * C path (~0.6 levels off), in the browser and in Node (core/frames/ffmpegCore.ts). Pure arithmetic, no I/O.
 */
import { PPTSNError } from '../errors.js';

/** Where one plane starts in the buffer and its row stride, in bytes (what `VideoFrame.copyTo` returns). */
export interface PlaneOffset {
  offset: number;
  stride: number;
}

/** Luma coefficients (Kr, Kb) per matrix; untagged and unknown use BT.601 like ffmpeg's swscale default. */
export function coefficients(matrix: string | null | undefined): [number, number] {
  switch (matrix) {
    case 'bt709': return [0.2126, 0.0722];
    case 'bt2020': case 'bt2020-ncl': return [0.2627, 0.0593];
    case 'fcc': return [0.3, 0.11];
    case 'smpte240m': return [0.212, 0.087];
    default: return [0.299, 0.114]; // smpte170m, bt470bg, untagged
  }
}

/**
 * ffmpeg's `ff_yuv2rgb_coeffs` for a matrix: the limited-range chroma scales in 16.16 (BT.601: 104597, 132201,
 * 25675, 53279), which both of swscale's converters start from (this file's table path, yuvScaled.ts's scaled path).
 */
export function yuv2rgbCoeffs(matrix: string | null | undefined): { crv: number; cbu: number; cgu: number; cgv: number } {
  const [kr, kb] = coefficients(matrix);
  const kg = 1 - kr - kb;
  return {
    crv: Math.round(2 * (1 - kr) * (255 / 224) * 65536),
    cbu: Math.round(2 * (1 - kb) * (255 / 224) * 65536),
    cgu: Math.round(2 * (1 - kb) * (kb / kg) * (255 / 224) * 65536),
    cgv: Math.round(2 * (1 - kr) * (kr / kg) * (255 / 224) * 65536),
  };
}

/**
 * Per-value lookup tables replicating ffmpeg's (libswscale 5.x/6.x x86 SIMD, `yuv_2_rgb.asm`) unscaled
 * yuv→rgb arithmetic, which is what `ffmpeg -pix_fmt rgb24` and decord use on x86: 16.16 coefficients from
 * ff_yuv2rgb_coeffs rounded to 3.13, samples scaled by 8, `pmulhw` (floor of the high 16 bits), sum saturated
 * to 0–255. Bit-exact with ffmpeg 5.1 on example.mp4; float BT.601 with rounding is ~1 level (mean) brighter.
 */
function ffmpegTables(colorSpace: { matrix: string; fullRange: boolean }) {
  let { crv, cbu, cgu, cgv } = yuv2rgbCoeffs(colorSpace.matrix);
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
 * `ffmpegTables`), as RGBA or, with `channels` 3, RGB. `format` is the VideoFrame pixel format; planes are described by `layout` (offset and stride per
 * plane, as `VideoFrame.copyTo` returns them).
 */
export function yuvToRgba(
  src: Uint8Array,
  layout: readonly PlaneOffset[],
  format: string,
  width: number,
  height: number,
  colorSpace: { matrix: string; fullRange: boolean },
  channels: 3 | 4 = 4,
): Uint8ClampedArray {
  const { yT, vR, uG, vG, uB } = ffmpegTables(colorSpace);
  const out = new Uint8ClampedArray(width * height * channels);
  const [py, pu, pv] = layout;
  if (!py || !pu) throw new PPTSNError('internal', 'yuvToRgba: too few planes for ' + format + '.');
  const fmt = format;
  const nv12 = fmt === 'NV12';
  if (!nv12 && !pv) throw new PPTSNError('internal', 'yuvToRgba: too few planes for ' + format + '.');
  const sx = fmt === 'I444' || fmt === 'I444A' ? 0 : 1; // chroma subsampling shifts
  const sy = fmt === 'I420' || fmt === 'I420A' || nv12 ? 1 : 0;
  for (let y = 0; y < height; y++) {
    const yRow = py.offset + y * py.stride;
    const cy = y >> sy;
    const uRow = pu.offset + cy * pu.stride;
    const vRow = nv12 ? 0 : pv!.offset + cy * pv!.stride;
    let o = y * width * channels;
    for (let x = 0; x < width; x++) {
      const cx = x >> sx;
      let u: number, v: number;
      if (nv12) { u = src[uRow + 2 * cx]!; v = src[uRow + 2 * cx + 1]!; } else { u = src[uRow + cx]!; v = src[vRow + cx]!; }
      const l = yT[src[yRow + x]!]!;
      // The clamped array saturates like packuswb.
      out[o] = l + vR[v]!;
      out[o + 1] = l + uG[u]! + vG[v]!;
      out[o + 2] = l + uB[u]!;
      if (channels === 4) out[o + 3] = 255;
      o += channels;
    }
  }
  return out;
}
