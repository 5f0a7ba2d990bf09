/**
 * conv2d for training, with gradients that run through fast forward kernels. The forward pass is the active
 * backend's own Conv2D kernel, registered a second time under the name `PPTSNTrainConv2D` so that this file can
 * give it its own gradient (tf.registerGradient) without overriding tfjs's gradient of Conv2D for anybody else.
 * The gradient's two parts are lazy, as tfjs's own: the input gradient of a layer whose input needs none (the
 * images, cached res5 inputs, the frozen part's output) is never computed.
 *
 * Why: tfjs-backend-wasm has no Conv2DBackpropFilter kernel at all, and its Conv2DBackpropInput and transposed
 * matMul (`matMul(a, b, true, …)`, `matMul(a, b, …, true)`) are scalar loops, 5–40× slower than its XNNPACK Conv2D
 * and plain matMul (bench/README.md, "train"). On wasm both gradients are therefore rewritten as those:
 * - input gradient dx = Conv2D(dy, rot180(W) with I and O swapped, stride 1, explicit padding [K − 1 − p, …]) —
 *   for 1×1 stride 1, a 1×1 conv with Wᵀ; for stride s > 1, s² such convs of the undilated dy, one per output
 *   phase with only the taps that reach it, interleaved (no convolving of inserted zeros);
 * - filter gradient: our own WebAssembly SIMD kernel (filterGradWasm.ts: x and dy read in place in tfjs's heap,
 *   1.7–2.3× the per-tap path below on ResNet's 3×3s, 1.3–3.2× the im2col product on its strided 3×3s; split over
 *   every core where tfjs runs threaded); where it does not apply or is slower (large 1×1s, channel counts off its
 *   register block), stride 1: per tap (kh, kw), dW[kh, kw] = X_tapᵀ · dY as plain matMuls of `[I, n·Ho·Wo]` by
 *   `[n·Ho·Wo, O]`, where X_tapᵀ is sliced from the padded input transposed once to `[I, n, Hp, Wp]`; stride > 1:
 *   one im2col product from contiguous slices of the input's stride phases (no StridedSlice).
 * Other backends keep tfjs's conv2dTranspose for dx and the same per-tap matMuls for dW (the cpu backend's
 * Conv2DBackpropFilter is a naive loop nest, ≈ 37 s for ResNet18-vd on two 32×32 images).
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import { simdFilterGrad, useSimdFilterGrad } from './filterGradWasm.js';
import { transposeLast2 } from './transposeWasm.js';
import { ensureIm2colKernel, im2colConv, preferIm2col } from './im2col.js';
import { takeRows } from './takeRows.js';

/** Name of the training conv kernel (the backend's Conv2D, with the gradient below). */
export const TRAIN_CONV2D = 'PPTSNTrainConv2D';

interface TrainConvAttrs {
  strides: [number, number];
  pad: number;
  dilations: [number, number];
  dataFormat: 'NHWC';
  dimRoundingMode: undefined;
}

/** Registers the training conv kernel for `backendName` (once), delegating to its Conv2D kernel. */
function ensureKernel(backendName: string): void {
  if (tf.getKernel(TRAIN_CONV2D, backendName)) return;
  const conv = tf.getKernel('Conv2D', backendName);
  if (!conv) throw new PPTSNError('backend-unavailable', `the tfjs backend "${backendName}" has no Conv2D kernel, so it cannot train`);
  const [matMul, reshape] = [tf.getKernel('BatchMatMul', backendName), tf.getKernel('Reshape', backendName)];
  if (backendName !== 'wasm' || !matMul || !reshape) {
    tf.registerKernel({ ...conv, kernelName: TRAIN_CONV2D });
    return;
  }
  // On wasm a 1×1 stride-1 conv runs as tfjs's BatchMatMul of the same data: a training step brings new filters
  // every time, and XNNPACK's product packs a new [I, O] filter in about a third of what Conv2D spends on one
  // (tfjs's scalar HWIO → OHWI copy, then XNNPACK's packing): 8 → 2–3 ms a 1 M-weight layer here (issue 23).
  tf.registerKernel({
    ...conv,
    kernelName: TRAIN_CONV2D,
    kernelFunc: (args) => {
      const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
      const { strides, pad } = args.attrs as unknown as TrainConvAttrs;
      const [K1, K2, I, O] = filter.shape as [number, number, number, number];
      const [n, H, W] = x.shape as [number, number, number, number];
      const s = strides[0];
      const [Ho, Wo] = [Math.floor((H + 2 * pad - K1) / s) + 1, Math.floor((W + 2 * pad - K2) / s) + 1];
      const pointwise = K1 === 1 && K2 === 1 && s === 1 && pad === 0;
      // Larger kernels on small maps: im2col + the same product (im2col.ts).
      // Looked up per call (not the config captured above) so that a test can watch which kernel runs.
      if (strides[1] !== s || (!pointwise && !preferIm2col(n * Ho * Wo, O))) return tf.getKernel('Conv2D', backendName)!.kernelFunc(args);
      const backend = args.backend as tf.KernelBackend;
      const a = pointwise
        ? (reshape.kernelFunc({ inputs: { x }, backend, attrs: { shape: [n * H * W, I] } }) as tf.TensorInfo)
        : (ensureIm2colKernel().kernelFunc({ inputs: { x }, backend, attrs: { k: [K1, K2], stride: s, top: pad, left: pad, out: [Ho, Wo] } as unknown as tf.NamedAttrMap }) as tf.TensorInfo);
      const b = reshape.kernelFunc({ inputs: { x: filter }, backend, attrs: { shape: [K1 * K2 * I, O] } }) as tf.TensorInfo;
      const out = matMul.kernelFunc({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
      backend.disposeData(a.dataId);
      backend.disposeData(b.dataId);
      return { ...out, shape: [n, Ho, Wo, O] };
    },
  });
}

function ensureGradient(): void {
  if (tf.getGradient(TRAIN_CONV2D)) return;
  tf.registerGradient({
    kernelName: TRAIN_CONV2D,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const { strides, pad } = attrs as unknown as TrainConvAttrs;
      const dy4 = dy as tf.Tensor4D;
      const wasm = tf.getBackend() === 'wasm';
      return {
        x: () => (wasm ? inputGrad(dy4, filter, x.shape, strides[0], pad) : tf.conv2dTranspose(dy4, filter, x.shape, strides[0], pad)),
        filter: () => filterGrad(x, dy4, filter.shape, strides[0], pad),
      };
    },
  });
}

/** `tf.conv2d(x, filter, stride, pad)` (NHWC, square stride, symmetric numeric padding) with fast gradients. */
export function conv2dTrainable(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D {
  ensureKernel(tf.getBackend());
  ensureGradient();
  const attrs: TrainConvAttrs = { strides: [stride, stride], pad, dilations: [1, 1], dataFormat: 'NHWC', dimRoundingMode: undefined };
  return tf.engine().runKernel(TRAIN_CONV2D, { x, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * dy `[n, Ho, Wo, O]` with stride − 1 zeros after each row and column, cut or padded with zeros to `[n, Hd, Wd, O]`.
 */
function dilate(dy: tf.Tensor4D, stride: number, Hd: number, Wd: number): tf.Tensor4D {
  const [n, Ho, Wo, O] = dy.shape;
  let d: tf.Tensor4D = dy;
  if (stride > 1) {
    const spaced = tf.pad(tf.reshape(dy, [n, Ho, 1, Wo, 1, O]), [[0, 0], [0, 0], [0, stride - 1], [0, 0], [0, stride - 1], [0, 0]]);
    d = tf.reshape(spaced, [n, Ho * stride, Wo * stride, O]) as tf.Tensor4D;
  }
  const [, H0, W0] = d.shape;
  if (H0 > Hd || W0 > Wd) d = tf.slice(d, [0, 0, 0, 0], [n, Math.min(H0, Hd), Math.min(W0, Wd), O]);
  if (H0 < Hd || W0 < Wd) d = tf.pad(d, [[0, 0], [0, Math.max(0, Hd - H0)], [0, Math.max(0, Wd - W0)], [0, 0]]);
  return d;
}

/**
 * Input gradient `[n, H, W, I]` of conv2d(x, filter `[K, K, I, O]`, stride, pad) as a stride-1 Conv2D of dy
 * with the rotated, transposed filter (XNNPACK on wasm); a strided conv's as one such conv per output phase
 * ({@link phaseInputGrad}), so `dilate` only pads or cuts here.
 */
export function inputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, xShape: [number, number, number, number], stride: number, pad: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [K, , I, O] = filter.shape;
    const [n, H, W] = xShape;
    if (K === 1 && stride === 1 && pad === 0) {
      // dy · Wᵀ as a plain product: XNNPACK packs a new [O, I] matrix a step at a third of what Conv2D's filter costs.
      // With few pixels (res5 at 4 images) (W · dyᵀ)ᵀ packs dyᵀ instead, M·O floats rather than I·O: ~20 % less.
      const M = n * H * W;
      const [dy2, w2] = [tf.reshape(dy, [M, O]) as tf.Tensor2D, tf.reshape(filter, [I, O]) as tf.Tensor2D];
      const dx = M * (I + 2 * O) < I * O ? transposeLast2(tf.matMul(w2, transposeLast2(dy2))) : tf.matMul(dy2, transposeLast2(w2));
      return tf.reshape(dx, [n, H, W, I]) as tf.Tensor4D;
    }
    if (stride > 1) return phaseInputGrad(dy, filter, xShape, stride, pad);
    // rot180 = the K² taps in reverse order (whole-row copies, takeRows.ts: wasm's Reverse is an element loop and a
    // product with the exchange matrix packs the whole filter); then I ↔ O.
    const taps = tf.reshape(takeRows(tf.reshape(filter, [K * K, I * O]) as tf.Tensor2D, [...Array(K * K).keys()].reverse()), [K * K, I, O]);
    const rotated = tf.reshape(transposeLast2(taps), [K, K, O, I]) as tf.Tensor4D;
    const lead = K - 1 - pad;
    if (lead < 0) throw new PPTSNError('invalid-argument', `conv2dTrainable: padding ${pad} exceeds kernel ${K} − 1`);
    // im2col reads zeros outside dy, which is what dilate's zero rows and columns would hold.
    if (preferIm2col(n * H * W, I)) return im2colConv(dy, rotated, 1, lead, lead, [H, W]);
    // Dilated dy, extended with zeros (or cut) so that a valid K×K conv after `lead` leading zeros gives H × W.
    const d = dilate(dy, stride, H + K - 1 - lead, W + K - 1 - lead);
    const out = tf.conv2d(d, rotated, 1, [[0, 0], [lead, 0], [lead, 0], [0, 0]]);
    return tf.reshape(out, [n, H, W, I]) as tf.Tensor4D;
  });
}

/** `d` `[n, H, W, C]` with `top`/`bottom`/`left`/`right` rows and columns of zeros added (a negative count cuts). */
function padOrCut(d: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const [n, H, W, C] = d.shape;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [t, l] = [Math.max(0, -top), Math.max(0, -left)];
    d = tf.slice(d, [0, t, l, 0], [n, H - t - Math.max(0, -bottom), W - l - Math.max(0, -right), C]);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) d = tf.pad(d, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]);
  return d;
}

/**
 * Input gradient of a strided conv as s² stride-1 convs of the undilated dy, one per output phase (the rows
 * h ≡ ph and columns w ≡ pw mod s), each with only the taps that reach that phase, then interleaved. The dilated
 * form multiplies (s² − 1)/s² of its inputs by inserted zeros: on res5a's 3×3 stride-2 conv at 16 images, 397 ms
 * of a 3.1 s step (one loaded run). Phase (ph, pw): with q = ph + p, the taps are kh = q mod s + j·s (j < Jh) and
 * out[a] = Σ_j dy[a + ⌊q/s⌋ − j] · W[kh_j]ᵀ, a correlation with the Jh taps reversed after `Jh − 1 − ⌊q/s⌋`
 * leading zeros. Each dx element is the same sum as tfjs's Conv2DBackpropInput, in another order.
 */
function phaseInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, xShape: [number, number, number, number], s: number, pad: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [K, , I, O] = filter.shape;
    const [n, H, W] = xShape;
    const [, Ho, Wo] = dy.shape;
    const [A, B] = [Math.ceil(H / s), Math.ceil(W / s)];
    // The taps as rows [K², O·I]; a phase's taps are whole rows of it (takeRows.ts).
    const fT = tf.reshape(transposeLast2(tf.reshape(filter, [K * K, I, O])), [K * K, O * I]) as tf.Tensor2D;
    const taps = (ph: number) => {
      const q = ph + pad;
      const r = q % s;
      const list: number[] = [];
      for (let k = r; k < K; k += s) list.push(k);
      return { list: list.reverse(), lead: list.length - 1 - Math.floor(q / s) };
    };
    const rows: tf.Tensor4D[] = [];
    for (let ph = 0; ph < s; ph++) {
      const th = taps(ph);
      const cols: tf.Tensor4D[] = [];
      for (let pw = 0; pw < s; pw++) {
        const tw = taps(pw);
        if (th.list.length === 0 || tw.list.length === 0) {
          cols.push(tf.zeros([n, A, B, I]));
          continue;
        }
        const picks = th.list.flatMap((kh) => tw.list.map((kw) => kh * K + kw));
        const f = tf.reshape(takeRows(fT, picks), [th.list.length, tw.list.length, O, I]) as tf.Tensor4D;
        const [Jh, Jw] = [th.list.length, tw.list.length];
        if (preferIm2col(n * A * B, I)) {
          cols.push(im2colConv(dy, f, 1, th.lead, tw.lead, [A, B]));
          continue;
        }
        const d = padOrCut(dy, th.lead, A + Jh - 1 - th.lead - Ho, tw.lead, B + Jw - 1 - tw.lead - Wo);
        cols.push(tf.conv2d(d, f, 1, 'valid'));
      }
      // Columns interleave as channels: [n, A, B, s·I] is [n, A, B·s, I].
      rows.push(tf.reshape(tf.concat(cols, 3), [n, A, 1, B * s * I]) as tf.Tensor4D);
    }
    const dx = tf.reshape(tf.concat(rows, 2), [n, A * s, B * s, I]) as tf.Tensor4D;
    return A * s === H && B * s === W ? dx : tf.slice(dx, [0, 0, 0, 0], [n, H, W, I]);
  });
}

/**
 * Filter gradient `[K, K, I, O]` of conv2d(x `[n, H, W, I]`, filter, stride, pad) given dy `[n, Ho, Wo, O]`.
 * On wasm, where {@link useSimdFilterGrad} says so: our SIMD kernel reading x and dy in place (filterGradWasm.ts).
 * Otherwise stride 1 (and 1×1): {@link tapsFilterGrad}; stride > 1: one im2col product, {@link stridedFilterGrad}.
 */
export function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, fShape: [number, number, number, number], stride: number, pad: number): tf.Tensor4D {
  const [K, , I, O] = fShape;
  if (useSimdFilterGrad(K, I, O, stride)) return simdFilterGrad(x, dy, K, pad, stride);
  if (stride > 1 && K > 1) return stridedFilterGrad(x, dy, fShape, stride, pad);
  return tapsFilterGrad(x, dy, fShape, stride, pad);
}

/**
 * Filter gradient as per-tap plain matMuls: X_tapᵀ `[I, n·Ho·Wo]` · dY `[n·Ho·Wo, O]` (no transposed matMul),
 * X_tapᵀ sliced from the padded input transposed once to `[I, n, Hp, Wp]`; a 1×1 stride-1 conv's is one product.
 */
export function tapsFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, fShape: [number, number, number, number], stride: number, pad: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [K, , I, O] = fShape;
    const [n, Ho, Wo] = dy.shape;
    const M = n * Ho * Wo;
    const dy2 = tf.reshape(dy, [M, O]) as tf.Tensor2D;
    const xp = pad > 0 ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
    if (K === 1 && stride === 1) return tf.reshape(tf.matMul(transposeLast2(tf.reshape(xp, [M, I]) as tf.Tensor2D), dy2), [1, 1, I, O]) as tf.Tensor4D;
    const [, Hp, Wp] = xp.shape;
    const xT = tf.reshape(transposeLast2(tf.reshape(xp, [n * Hp * Wp, I])), [I, n, Hp, Wp]);
    const taps: tf.Tensor2D[] = [];
    for (let kh = 0; kh < K; kh++) {
      for (let kw = 0; kw < K; kw++) {
        const end = [I, n, kh + (Ho - 1) * stride + 1, kw + (Wo - 1) * stride + 1];
        const tap = tf.stridedSlice(xT, [0, 0, kh, kw], end, [1, 1, stride, stride]);
        const flat = tf.reshape(tap, [I, M]) as tf.Tensor2D;
        taps.push(tf.matMul(flat, dy2));
        // One input-sized slice alive at a time, not k² of them until the tidy ends.
        tf.dispose([flat, tap]);
      }
    }
    return tf.reshape(tf.stack(taps), [K, K, I, O]) as tf.Tensor4D;
  });
}

/**
 * Filter gradient of a strided K×K conv as one im2col product: dWᵀ `[O, K²·I]` = dYᵀ `[O, M]` · P `[M, K²·I]`,
 * then one 2-D transpose. P's columns are the K² taps, each `[M, I]`, cut with contiguous (non-strided) slices:
 * the zero-padded input `[n, s·Hs, s·Ws, I]` viewed as `[n·Hs, s, Ws, s·I]` splits into its s² phases
 * `[n, Hs, Ws, I]` (rows of I floats), and tap (kh, kw) is phase (kh mod s, kw mod s) shifted by
 * (⌊kh/s⌋, ⌊kw/s⌋). wasm's StridedSlice is an element loop: on res5a's 3×3 stride-2 conv at 16 images this is
 * ~160 ms where the strided per-tap slices took ~440 ms (one loaded run). Exact: each dW element is the same
 * single sum of products as the per-tap form.
 */
function stridedFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, fShape: [number, number, number, number], s: number, pad: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [K, , I, O] = fShape;
    const [n, H, W] = x.shape;
    const [, Ho, Wo] = dy.shape;
    const M = n * Ho * Wo;
    const reach = Math.floor((K - 1) / s);
    const Hs = Math.max(Math.ceil((H + 2 * pad) / s), reach + Ho);
    const Ws = Math.max(Math.ceil((W + 2 * pad) / s), reach + Wo);
    // Zeros after the conv's own padding only round the size up to whole phases: no tap reads them.
    const xp = tf.pad(x, [[0, 0], [pad, Hs * s - H - pad], [pad, Ws * s - W - pad], [0, 0]]);
    const grid = tf.reshape(xp, [n * Hs, s, Ws, s * I]) as tf.Tensor4D;
    const phases = new Map<number, tf.Tensor4D>();
    const phase = (ph: number, pw: number): tf.Tensor4D => {
      const key = ph * s + pw;
      if (!phases.has(key)) phases.set(key, tf.reshape(tf.slice(grid, [0, ph, 0, pw * I], [n * Hs, 1, Ws, I]), [n, Hs, Ws, I]) as tf.Tensor4D);
      return phases.get(key)!;
    };
    const taps: tf.Tensor2D[] = [];
    for (let kh = 0; kh < K; kh++) {
      for (let kw = 0; kw < K; kw++) {
        const tap = tf.slice(phase(kh % s, kw % s), [0, Math.floor(kh / s), Math.floor(kw / s), 0], [n, Ho, Wo, I]);
        taps.push(tf.reshape(tap, [M, I]) as tf.Tensor2D);
      }
    }
    const patches = tf.concat(taps, 1);
    tf.dispose([...taps, ...phases.values()]);
    const dyT = transposeLast2(tf.reshape(dy, [M, O]) as tf.Tensor2D);
    return tf.reshape(transposeLast2(tf.matMul(dyT, patches)), [K, K, I, O]) as tf.Tensor4D;
  });
}
