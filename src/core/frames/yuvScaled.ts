/**
 * 8-bit 4:2:0 → RGB for an odd frame height, exactly as the CLI's ffmpeg (swscale, ffmpeg 5.1/6) does it. For an odd
 * height swscale skips its unscaled converter (`!(dstH & 1)`, swscale_unscaled.c) and runs the full scaler at 1:1:
 * chroma is upsampled vertically with its bicubic filter (B = 0, C = 0.6, chroma sited between rows), and then
 * - even width: horizontally nearest, converted through the C tables of `ff_yuv2rgb_c_init_tables` (yuv2packedX);
 * - odd width: swscale forces full horizontal chroma ("Forcing full internal H chroma due to odd output size"):
 *   chroma upsampled horizontally too, converted by `yuv2rgb_write_full` (13-bit coefficients, >> 22).
 * yuv.ts's arithmetic (the unscaled x86 converter, nearest-neighbour chroma) is 0.03 / 0.5 off there on the tensor.
 * The filters are swscale's `initFilter` (utils.c) in integer arithmetic; the table constants were measured from
 * ffmpeg 5.1's output (each reproduces all 256 entries it indexes). Bit-exact with `ffmpeg -pix_fmt rgb24` on the
 * VP8/VP9/MJPEG odd sizes of test/unit/yuvScaled.test.ts. Pure arithmetic, no I/O.
 */
import { yuv2rgbCoeffs } from './yuv.js';

/** One 1-D swscale filter: for output i, `size` taps at source `pos[i]`… with integer `coeff` summing to `one`. */
interface Filter {
  pos: Int32Array;
  size: number;
  coeff: Int32Array;
}

const filters = new Map<string, Filter>();

/**
 * swscale's initFilter for an upscale with SWS_BICUBIC (param B = 0, C = 0.6), source/destination chroma positions
 * in 1/256 of a sample (`get_local_pos`: 128 for both here), normalised to `one` with error diffusion, taps that
 * fall outside the source folded onto its edge.
 */
export function bicubicUpscaleFilter(srcW: number, dstW: number, one: number, srcPos = 128, dstPos = 128): Filter {
  const key = `${srcW}:${dstW}:${one}:${srcPos}:${dstPos}`;
  const cached = filters.get(key);
  if (cached) return cached;
  const xInc = BigInt(Math.floor((srcW * 65536 + (dstW >> 1)) / dstW));
  const size = Math.max(1, Math.min(5, srcW - 2));
  const B = 0n, C = BigInt(Math.trunc(0.6 * 2 ** 24)), U24 = 1n << 24n, U30 = 1n << 30n;
  const raw: bigint[] = [];
  const pos = new Int32Array(dstW);
  let xDstInSrc = ((BigInt(dstPos) * xInc) >> 7n) - ((BigInt(srcPos) * 0x10000n) >> 7n);
  const abs = (v: bigint) => (v < 0n ? -v : v);
  for (let i = 0; i < dstW; i++) {
    // C integer division truncates toward zero, as BigInt division does.
    let xx = (xDstInSrc - BigInt(size - 2) * 65536n) / 131072n;
    pos[i] = Number(xx);
    for (let j = 0; j < size; j++) {
      const d = abs(xx * 131072n - xDstInSrc) << 13n;
      let coeff = 0n;
      if (d < 1n << 31n) {
        const dd = (d * d) >> 30n;
        const ddd = (dd * d) >> 30n;
        coeff = d < U30
          ? (12n * U24 - 9n * B - 6n * C) * ddd + (-18n * U24 + 12n * B + 6n * C) * dd + (6n * U24 - 2n * B) * U30
          : (-B - 6n * C) * ddd + (6n * B + 30n * C) * dd + (-12n * B - 48n * C) * d + (8n * B + 24n * C) * U30;
      }
      raw.push(coeff);
      xx++;
    }
    xDstInSrc += 2n * xInc;
  }
  const coeff = new Int32Array(dstW * size);
  for (let i = 0; i < dstW; i++) {
    let sum = 0n;
    for (let j = 0; j < size; j++) sum += raw[i * size + j]!;
    let error = 0n;
    for (let j = 0; j < size; j++) {
      const v = raw[i * size + j]! * BigInt(one) + error;
      // ROUNDED_DIV: round half away from zero.
      const q = v >= 0n ? (2n * v + sum) / (2n * sum) : -((-2n * v + sum) / (2n * sum));
      coeff[i * size + j] = Number(q);
      error = v - q * sum;
    }
  }
  // Taps outside 0..srcW−1 are folded onto the first/last sample (the filter moved inside the source).
  for (let i = 0; i < dstW; i++) {
    const row = coeff.subarray(i * size, (i + 1) * size);
    const shift = pos[i]! < 0 ? pos[i]! : pos[i]! + size > srcW ? pos[i]! + size - srcW : 0;
    if (shift === 0) continue;
    const moved = new Int32Array(size);
    for (let j = 0; j < size; j++) moved[Math.min(size - 1, Math.max(0, j + shift))]! += row[j]!;
    row.set(moved);
    pos[i] = pos[i]! - shift;
  }
  const f = { pos, size, coeff };
  filters.set(key, f);
  return f;
}

/** Table-path increments [crv, cbu, cgu, cgv] (16.16, in luma-table steps) per matrix and range, measured. */
const TABLE_INCS: Record<string, [number, number, number, number]> = {
  'bt601:tv': [89831, 113537, -22048, -45756],
  'bt601:pc': [91880, 116128, -22551, -46810],
  'bt709:tv': [100902, 118894, -12003, -29995],
  'bt709:pc': [103205, 121607, -12287, -30681],
  'bt2020:tv': [94483, 120546, -10545, -36608],
  'bt2020:pc': [96640, 123298, -10783, -37448],
  'fcc:tv': [89701, 114052, -21263, -45612],
  'fcc:pc': [91701, 116650, -21748, -46651],
  'smpte240m:tv': [100981, 116998, -14518, -30540],
  'smpte240m:pc': [103286, 119665, -14849, -31235],
};

/** The full-chroma path's 13-bit coefficients: round(16.16 / 8) of the limited (or ×224/255 full-range) ones. */
function fullCoefficients(matrix: string, fullRange: boolean) {
  let { crv, cbu, cgu, cgv } = yuv2rgbCoeffs(matrix);
  let cy = 65536;
  if (fullRange) {
    crv = Math.floor((crv * 224) / 255); cbu = Math.floor((cbu * 224) / 255); cgu = Math.floor((cgu * 224) / 255); cgv = Math.floor((cgv * 224) / 255);
  } else {
    cy = Math.floor((cy * 255) / 219);
  }
  const r13 = (c: number) => Math.floor((c * 8192 + 32768) / 65536);
  return { y: r13(cy), yOffset: fullRange ? 0 : 16 << 9, v2r: r13(crv), u2b: r13(cbu), u2g: -r13(cgu), v2g: -r13(cgv) };
}

/**
 * Converts one 8-bit 4:2:0 frame with an odd `height` (planes as `VideoFrame.copyTo` lays them out: Y, U, V, or Y
 * and interleaved UV for NV12) to RGB(A) as ffmpeg's scaled path does. `matrix` as yuv.ts names it.
 */
export function yuv420ToRgbScaled(
  src: Uint8Array,
  layout: readonly { offset: number; stride: number }[],
  nv12: boolean,
  width: number,
  height: number,
  colorSpace: { matrix: string; fullRange: boolean },
  channels: 3 | 4,
): Uint8ClampedArray {
  const [py, pu, pv] = layout as [{ offset: number; stride: number }, { offset: number; stride: number }, { offset: number; stride: number } | undefined];
  const cw = (width + 1) >> 1, ch = (height + 1) >> 1;
  const chroma = (plane: 0 | 1, x: number, y: number) => nv12 ? src[pu.offset + y * pu.stride + 2 * x + plane]! : src[(plane ? pv! : pu).offset + y * (plane ? pv! : pu).stride + x]!;
  const vf = bicubicUpscaleFilter(ch, height, 4096);
  const out = new Uint8ClampedArray(width * height * channels);
  const key = `${colorSpace.matrix === 'bt2020-ncl' ? 'bt2020' : colorSpace.matrix}:${colorSpace.fullRange ? 'pc' : 'tv'}`;
  if (width % 2 === 0) {
    // yuv2packedX through ff_yuv2rgb_c_init_tables: chroma rounded to 8 bits, pixels looked up in the luma table.
    const [crv, cbu, cgu, cgv] = TABLE_INCS[key] ?? TABLE_INCS[`bt601:${colorSpace.fullRange ? 'pc' : 'tv'}`]!;
    const shift = (v: number, inc: number) => Math.floor((v * inc) / 65536) - Math.floor(inc / 512);
    const yT = colorSpace.fullRange ? (k: number) => k : (k: number) => Math.floor((k * 76309 - 1304880) / 65536);
    const u = new Int32Array(cw), v = new Int32Array(cw);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < cw; x++) {
        let su = 0, sv = 0;
        for (let j = 0; j < vf.size; j++) {
          const c = vf.coeff[y * vf.size + j]!, sy = vf.pos[y]! + j;
          su += c * chroma(0, x, sy);
          sv += c * chroma(1, x, sy);
        }
        u[x] = Math.min(255, Math.max(0, (su + 2048) >> 12));
        v[x] = Math.min(255, Math.max(0, (sv + 2048) >> 12));
      }
      for (let x = 0; x < width; x++) {
        const l = src[py.offset + y * py.stride + x]!, cu = u[x >> 1]!, cv = v[x >> 1]!;
        const o = (y * width + x) * channels;
        out[o] = yT(l + shift(cv, crv));
        out[o + 1] = yT(l + shift(cu, cgu) + shift(cv, cgv));
        out[o + 2] = yT(l + shift(cu, cbu));
        if (channels === 4) out[o + 3] = 255;
      }
    }
    return out;
  }
  // Odd width: full chroma. Horizontal 14-bit filter to 15-bit samples, vertical 12-bit filter, yuv2rgb_write_full.
  const hf = bicubicUpscaleFilter(cw, width, 16384);
  const k = fullCoefficients(colorSpace.matrix, colorSpace.fullRange);
  const hu = new Int32Array(ch * width), hv = new Int32Array(ch * width);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < width; x++) {
      let su = 0, sv = 0;
      for (let j = 0; j < hf.size; j++) {
        const c = hf.coeff[x * hf.size + j]!, sx = hf.pos[x]! + j;
        su += c * chroma(0, sx, y);
        sv += c * chroma(1, sx, y);
      }
      hu[y * width + x] = Math.min(su >> 7, 32767);
      hv[y * width + x] = Math.min(sv >> 7, 32767);
    }
  }
  const clip30 = (n: number) => (n < 0 ? 0 : n > 0x3fffffff ? 0x3fffffff : n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let su = 512 - (128 << 19), sv = 512 - (128 << 19);
      for (let j = 0; j < vf.size; j++) {
        const c = vf.coeff[y * vf.size + j]!, at = (vf.pos[y]! + j) * width + x;
        su += c * hu[at]!;
        sv += c * hv[at]!;
      }
      const U = su >> 10, V = sv >> 10;
      const Y = (src[py.offset + y * py.stride + x]! << 9) - k.yOffset;
      const base = Y * k.y + (1 << 21);
      const o = (y * width + x) * channels;
      out[o] = clip30(base + V * k.v2r) >> 22;
      out[o + 1] = clip30(base + V * k.v2g + U * k.u2g) >> 22;
      out[o + 2] = clip30(base + U * k.u2b) >> 22;
      if (channels === 4) out[o + 3] = 255;
    }
  }
  return out;
}
