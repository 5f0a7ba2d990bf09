/**
 * Winograd F(2×2, 3×3) for the stride-1 3×3 convolutions of the backbone: the faster path on tfjs-backend-wasm.
 *
 * Why: 95 % of a ResNet50-vd forward on wasm is XNNPACK convolution, and tfjs-backend-wasm's XNNPACK build runs
 * at the same GMAC/s whatever the formulation (bench/README.md). Winograd F(2×2, 3×3) computes each 2×2 output
 * tile with 16 multiplies per (input, output) channel pair instead of 36, i.e. 2.25× fewer MACs, at the price of
 * transforms that are cheap when channels are many and maps small: measured on wasm (2 threads, 4 images),
 * 28²×128: 1.47×, 14²×256: 1.8×, 8²×512: 2.2× faster than `fused.conv2d`; 56²×64: 0.8× (not used there).
 *
 * How, with tfjs ops only (Lavin & Gray 2016 notation: Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A):
 * - U = G g Gᵀ is computed once per layer, in double precision, as 16 filters [1, 1, C, K] (one per position
 *   (k, l) of the 4×4 transformed tile).
 * - Bᵀ d B, separably: four depthwise 4×1 convs with stride (2, 1) (the rows of Bᵀ; XNNPACK's dwconv kernels,
 *   with Paddle's padding 1 passed as explicit padding), then on each result four 1×4 depthwise convs with stride
 *   (1, 2) → 16 tensors V_kl [N, ⌈H/2⌉, ⌈W/2⌉, C]. No slicing: tfjs-wasm copies slices row by row in JS.
 * - The 16 products are 1×1 `fused.conv2d`s (XNNPACK GEMM); the layer's bias rides on V_11, the only
 *   product that reaches every output with coefficient +1.
 * - Aᵀ m A by adds, and the 2×2 outputs are interleaved with two concats and reshapes (no transposes).
 *
 * Difference from PaddleVideo (which convolves directly): float32 rounding differs. The tests bound the logits
 * against the float64 reference (relative error ≤ 1e-5 at depth 50, where the direct path is ≤ 1e-6).
 */
import * as tf from '@tensorflow/tfjs-core';

/** G of F(2×2, 3×3). */
const G = [
  [1, 0, 0],
  [0.5, 0.5, 0.5],
  [0.5, -0.5, 0.5],
  [0, 0, 1],
];
/** Rows of Bᵀ of F(2×2, 3×3). */
const BT = [
  [1, 0, -1, 0],
  [0, 1, 1, 0],
  [0, -1, 1, 0],
  [0, 1, 0, -1],
];
/** Index of the tile position (k, l) = (1, 1): Aᵀ has +1 there in both rows, so a bias added to it reaches every output. */
const BIAS_POSITION = 5;

/** Whether a layer is worth the Winograd path (measured: 3×3 stride 1, at least 128 channels in and out). */
export function useWinograd(kernel: number, stride: number, inChannels: number, outChannels: number): boolean {
  return kernel === 3 && stride === 1 && inChannels >= 128 && outChannels >= 128;
}

/**
 * U = G g Gᵀ for a 3×3 filter in tfjs layout [3, 3, C, K]: 16 arrays [C·K] (row-major [C, K]), position
 * k·4 + l of the transformed 4×4 tile. Double precision, rounded once to float32.
 */
export function winogradFilter(filter: Float32Array, C: number, K: number): Float32Array[] {
  const CK = C * K;
  if (filter.length !== 9 * CK) throw new RangeError(`winogradFilter: expected ${9 * CK} weights for [3, 3, ${C}, ${K}], got ${filter.length}`);
  const out = Array.from({ length: 16 }, () => new Float32Array(CK));
  const g = new Float64Array(9);
  for (let ck = 0; ck < CK; ck++) {
    for (let t = 0; t < 9; t++) g[t] = filter[t * CK + ck]!;
    for (let k = 0; k < 4; k++) {
      // (G g)[k][j]
      const gk = G[k]!;
      const r0 = gk[0]! * g[0]! + gk[1]! * g[3]! + gk[2]! * g[6]!;
      const r1 = gk[0]! * g[1]! + gk[1]! * g[4]! + gk[2]! * g[7]!;
      const r2 = gk[0]! * g[2]! + gk[1]! * g[5]! + gk[2]! * g[8]!;
      for (let l = 0; l < 4; l++) {
        const gl = G[l]!;
        out[k * 4 + l]![ck] = r0 * gl[0]! + r1 * gl[1]! + r2 * gl[2]!;
      }
    }
  }
  return out;
}

/** The depthwise filters of the input transform for C channels: rows [4, 1, C, 1] and columns [1, 4, C, 1]. */
export interface InputTransform {
  rows: tf.Tensor4D[];
  cols: tf.Tensor4D[];
}

export function inputTransform(C: number): InputTransform {
  const make = (v: number[], h: number, w: number): tf.Tensor4D => {
    const d = new Float32Array(4 * C);
    for (let t = 0; t < 4; t++) d.fill(v[t]!, t * C, (t + 1) * C);
    return tf.tensor4d(d, [h, w, C, 1]);
  };
  return { rows: BT.map((v) => make(v, 4, 1)), cols: BT.map((v) => make(v, 1, 4)) };
}

/** One 3×3 stride-1 conv with Paddle's padding 1, bias and optional ReLU, by Winograd F(2×2, 3×3). */
export function winogradConv3x3(x: tf.Tensor4D, u: readonly tf.Tensor4D[], bias: tf.Tensor1D, relu: boolean, t: InputTransform): tf.Tensor4D {
  // Intermediates are freed as soon as they are used (peak memory: the 16 products, not every stage at once).
  return tf.tidy(() => winogradSteps(x, u, bias, relu, t));
}

function winogradSteps(x: tf.Tensor4D, u: readonly tf.Tensor4D[], bias: tf.Tensor1D, relu: boolean, t: InputTransform): tf.Tensor4D {
  const [N, H, W] = x.shape;
  const K = u[0]!.shape[3];
  const th = Math.ceil(H / 2);
  const tw = Math.ceil(W / 2);
  // Tiles of 4×4 at stride 2 need 2·t + 2 padded rows: 1 on top (Paddle's), the rest at the bottom (odd H: one
  // more row of zeros, whose outputs are sliced away at the end).
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 2 * th + 1 - H], [1, 2 * tw + 1 - W], [0, 0]];
  const rows = t.rows.map((f) => tf.depthwiseConv2d(x, f, [2, 1], pad));
  const m: tf.Tensor4D[] = [];
  for (const r of rows) {
    for (const f of t.cols) {
      const v = tf.depthwiseConv2d(r, f, [1, 2], 'valid');
      const i = m.length;
      m.push(tf.fused.conv2d({ x: v, filter: u[i]!, strides: 1, pad: 0, ...(i === BIAS_POSITION ? { bias } : {}) }));
      v.dispose();
    }
    r.dispose();
  }
  // Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]] on the rows k, then on the columns l.
  const s0: tf.Tensor4D[] = [];
  const s1: tf.Tensor4D[] = [];
  for (let l = 0; l < 4; l++) {
    s0.push(tf.addN([m[l]!, m[4 + l]!, m[8 + l]!]));
    const d = tf.sub(m[4 + l]!, m[8 + l]!);
    s1.push(tf.sub(d, m[12 + l]!));
    d.dispose();
  }
  tf.dispose(m);
  const cols = (s: tf.Tensor4D[]): tf.Tensor4D => {
    const a = tf.addN([s[0]!, s[1]!, s[2]!]);
    const d = tf.sub(s[1]!, s[2]!);
    const b = tf.sub(d, s[3]!);
    // [N, th, tw, 2K] → [N, th, 2tw, K]: the two output columns of each tile side by side.
    const ab = tf.concat([a, b], 3);
    const row = tf.reshape(ab, [N, th, 2 * tw, K]);
    tf.dispose([a, d, b, ab, ...s]);
    return row as tf.Tensor4D;
  };
  const top = cols(s0);
  const bottom = cols(s1);
  const joined = tf.concat([top, bottom], 2);
  tf.dispose([top, bottom]);
  let y = tf.reshape(joined, [N, 2 * th, 2 * tw, K]) as tf.Tensor4D;
  joined.dispose();
  if (2 * th !== H || 2 * tw !== W) {
    const full = y;
    y = tf.slice(full, [0, 0, 0, 0], [N, H, W, K]);
    full.dispose();
  }
  if (!relu) return y;
  const out = tf.relu(y);
  y.dispose();
  return out;
}
