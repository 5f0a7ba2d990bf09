/**
 * A trainable convolution's three products in the training graphs (trainGraph.ts), channels last (NHWC, as tfjs
 * holds the activations), in one of two forms:
 *
 * - `conv`: ONNX Conv on the OIHW filter `${key}.w` (which the caller transposes from tfjs's HWIO in JS), between
 *   Transposes to NCHW and back; the input gradient a Conv with the filter rotated by 180° (stride 1) or a
 *   ConvTranspose (strided). onnxruntime runs Conv through its blocked NCHWc kernels (its layout pass absorbs the
 *   Transposes): the form for large feature maps, where the filters are small.
 * - `matmul` (outputs of at most {@link SMALL_SPATIAL} positions: res3 to res5 at 224 px, where the filters
 *   are most of the bytes): products with the HWIO filter `${key}.whwio` as the matrix `[k²·I, O]` it already is, so
 *   no filter is transposed in JS, and in the graph only by fast last-two-axes Transposes. Forward:
 *   `Y[m, O] = cols[m, k²·I] · W` (im2col of the padded input, kept for the filter gradient; for 1×1 the input
 *   itself as `[m, I]`); input gradient: the padded dy's shifted windows side by side `[m, k²·O]` times the taps'
 *   filters transposed `[k²·O, I]` (strided: per output phase, only the taps that reach it, {@link stridedInputGrad}).
 *   Transposes of a product's operand are folded into it (onnxruntime's MatMul-Transpose fusion: FusedMatMul).
 *
 * Why this shape (issue 23, measured at res5): the in-graph rotation of the 3×3 filters (Transpose + reversing
 * Slice, ~10 ms each) and the OIHW transposition in JS (~28 ms a ×4 step) were a third of the step beside
 * onnxruntime's arithmetic. At ×16 (sixth round), the zero-stuffed strided input gradient (63 ms), stride-2 taps
 * sliced from `[I, n, h, w]` (~27 ms) and per-tap products summed by ReduceSum (~12 ms) were 40 % of the graphs'
 * kernel time. The graphs were NCHW, so a 1×1 conv was n products of `[O, I] · [I, h·w]` with h·w = 49 at res5:
 * 1.4–2.7× slower than the one `[m, I] · [I, O]` product of channels last.
 *
 * Filter gradient, either form: `dW[k²·I, O] = colsᵀ · dy[m, O]`, HWIO as tfjs holds it (m = N·h·w output positions).
 */
import type { ConvBNSpec } from '../../core/model/arch.js';
import type { GraphBuilder, Shape, Val } from './graphBuilder.js';

/**
 * Output positions (h·w) up to which a convolution takes the `matmul` form: 28×28, res3 at 224 px. A `full`
 * step of 4 images measured 600–650 ms with it at 14×14, 28×28, 56×56 or 112×112 (28×28 lowest in two runs), 610–710
 * with none (load ~2).
 */
export const SMALL_SPATIAL = 28 * 28;

export type ConvForm = 'conv' | 'matmul';

/** The form of `layer` with output `ho`×`wo`: `matmul` up to `upTo` positions (not a strided 1×1: none in ResNet-vd). */
export function convForm(layer: ConvBNSpec, ho: number, wo: number, upTo = SMALL_SPATIAL): ConvForm {
  return (layer.stride === 1 || layer.kernel > 1) && ho * wo <= upTo ? 'matmul' : 'conv';
}

/** The filter inputs a graph reads, by layer: OIHW `${key}.w`, HWIO `${key}.whwio` as `[k²·I, O]`. */
export interface FilterInputs {
  oihw: Set<ConvBNSpec>;
  hwio: Set<ConvBNSpec>;
}

const pads = (k: number) => (k - 1) >> 1;

/**
 * im2col of `P` `[n, hp, wp, I]` for a k×k conv at stride `s`: `[m, k²·I]` (m = n·ho·wo output positions),
 * columns tap-major (kh, kw, i) as HWIO's rows. Each tap copies runs of I floats.
 */
export function im2col(g: GraphBuilder, P: Val, k: number, s: number, ho: number, wo: number): string {
  const I = P.shape[3]!;
  const p = pads(k);
  const m = P.shape[0]! * ho * wo;
  if (k === 1 && s === 1) return g.op('Reshape', [P.name, g.ints([m, I])]);
  const padded = p > 0 ? g.op('Pad', [P.name, g.ints([0, p, p, 0, 0, p, p, 0])]) : P.name;
  const taps: string[] = [];
  for (let kh = 0; kh < k; kh++) {
    for (let kw = 0; kw < k; kw++) {
      taps.push(g.op('Slice', [padded, g.ints([kh, kw]), g.ints([kh + s * (ho - 1) + 1, kw + s * (wo - 1) + 1]), g.ints([1, 2]), g.ints([s, s])]));
    }
  }
  return g.op('Reshape', [taps.length === 1 ? taps[0]! : g.op('Concat', taps, [{ name: 'axis', i: 3 }]), g.ints([m, k * k * I])]);
}

/** NHWC ↔ NCHW around an NCHW-only op. */
export const toNCHW = (g: GraphBuilder, x: string): string => g.op('Transpose', [x], [{ name: 'perm', ints: [0, 3, 1, 2] }]);
export const toNHWC = (g: GraphBuilder, x: string): string => g.op('Transpose', [x], [{ name: 'perm', ints: [0, 2, 3, 1] }]);

/**
 * The conv's output `[n, ho, wo, O]` for input `P` `[n, hp, wp, I]`; `cols` is the im2col the `matmul` form built (a
 * k×k filter), which the filter gradient reuses.
 */
export function convForward(g: GraphBuilder, layer: ConvBNSpec, P: Val, ho: number, wo: number, form: ConvForm, inputs: FilterInputs): { y: string; cols?: string } {
  const n = P.shape[0]!;
  const [k, s, O] = [layer.kernel, layer.stride, layer.outChannels];
  const p = pads(k);
  if (form === 'conv') {
    inputs.oihw.add(layer);
    return { y: toNHWC(g, g.op('Conv', [toNCHW(g, P.name), `${layer.key}.w`], [{ name: 'kernel_shape', ints: [k, k] }, { name: 'strides', ints: [s, s] }, { name: 'pads', ints: [p, p, p, p] }])) };
  }
  inputs.hwio.add(layer);
  const cols = im2col(g, P, k, s, ho, wo);
  const y = g.op('Reshape', [g.op('MatMul', [cols, `${layer.key}.whwio`]), g.ints([n, ho, wo, O])]);
  return k === 1 ? { y } : { y, cols };
}

/** `${key}.dw` `[k²·I, O]` from `cols` `[m, k²·I]` (im2col of the conv's input) and dy `[n, ho, wo, O]`. */
export function filterGrad(g: GraphBuilder, layer: ConvBNSpec, cols: string, dy: string, m: number): void {
  const dym = g.op('Reshape', [dy, g.ints([m, layer.outChannels])]);
  g.op('MatMul', [g.op('Transpose', [cols], [{ name: 'perm', ints: [1, 0] }]), dym], [], `${layer.key}.dw`);
}

/** The gradient of the conv's input `[n, hp, wp, I]` (`convInput`'s shape) from dy `[n, ho, wo, O]`. */
export function inputGrad(g: GraphBuilder, layer: ConvBNSpec, dy: string, convInput: Shape, ho: number, wo: number, form: ConvForm, inputs: FilterInputs): string {
  const [n, hp, wp, I] = convInput as [number, number, number, number];
  const [k, s, O] = [layer.kernel, layer.stride, layer.outChannels];
  const p = pads(k);
  const w2 = `${layer.key}.whwio`;
  if (form === 'matmul' && s > 1) return stridedInputGrad(g, layer, dy, convInput, ho, wo, inputs);
  if (form === 'matmul') {
    inputs.hwio.add(layer);
    const m = n * hp * wp;
    // dx[y, x] = Σ_taps dy[y − kh + p, x − kw + p] · W[kh, kw]ᵀ: the padded dy's shifted windows side by side,
    // `[m, k²·O]`, times the filter as `[k²·O, I]` (each tap's `[I, O]` transposed, one Transpose in the graph): one
    // product whose inner dimension sums over the taps. Per-tap products summed by a ReduceSum wrote k² outputs
    // (~5 ms more a res5 layer, ×16 images).
    let cols = g.op('Reshape', [dy, g.ints([m, O])]);
    if (k > 1) {
      const dt = g.op('Pad', [dy, g.ints([0, p, p, 0, 0, p, p, 0])]);
      const taps: string[] = [];
      for (let kh = 0; kh < k; kh++) {
        for (let kw = 0; kw < k; kw++) {
          const [oh, ow] = [2 * p - kh, 2 * p - kw];
          taps.push(g.op('Slice', [dt, g.ints([oh, ow]), g.ints([oh + hp, ow + wp]), g.ints([1, 2])]));
        }
      }
      cols = g.op('Reshape', [g.op('Concat', taps, [{ name: 'axis', i: 3 }]), g.ints([m, k * k * O])]);
    }
    // For 1×1 the Transpose folds into the product (FusedMatMul); a Reshape between them would stop that.
    const wr = k === 1
      ? g.op('Transpose', [w2], [{ name: 'perm', ints: [1, 0] }])
      : g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [w2, g.ints([k * k, I, O])])], [{ name: 'perm', ints: [0, 2, 1] }]), g.ints([k * k * O, I])]);
    return g.op('Reshape', [g.op('MatMul', [cols, wr]), g.ints([n, hp, wp, I])]);
  }
  if (s === 1) {
    // A convolution of dy with the filter rotated by 180° and I↔O swapped: `[I, O, k, k]` = the HWIO filter
    // transposed (for 1×1 a mere reshape) with both spatial axes reversed, padded k − 1 − p.
    inputs.hwio.add(layer);
    const rotated = k === 1
      ? g.op('Reshape', [w2, g.ints([I, O, 1, 1])])
      : g.op('Slice', [g.op('Transpose', [g.op('Reshape', [w2, g.ints([k, k, I, O])])], [{ name: 'perm', ints: [2, 3, 0, 1] }]), g.ints([-1, -1]), g.ints([-k - 1, -k - 1]), g.ints([2, 3]), g.ints([-1, -1])]);
    const q = k - 1 - p;
    return toNHWC(g, g.op('Conv', [toNCHW(g, dy), rotated], [{ name: 'kernel_shape', ints: [k, k] }, { name: 'pads', ints: [q, q, q, q] }]));
  }
  // Strided: the transposed convolution with the same OIHW filter; output padding restores the rows a strided
  // conv's floor dropped.
  inputs.oihw.add(layer);
  const oph = hp - (s * (ho - 1) + k - 2 * p);
  const opw = wp - (s * (wo - 1) + k - 2 * p);
  return toNHWC(g, g.op('ConvTranspose', [toNCHW(g, dy), `${layer.key}.w`], [
    { name: 'kernel_shape', ints: [k, k] }, { name: 'strides', ints: [s, s] }, { name: 'pads', ints: [p, p, p, p] },
    ...(oph || opw ? [{ name: 'output_padding', ints: [oph, opw] }] : []),
  ]));
}

/**
 * A strided conv's input gradient in the `matmul` form, by output phase. Input row y = s·o + kh − p, so the rows
 * y ≡ φ (mod s) take only the taps kh ≡ φ + p (mod s), from dy row o = a + (φ + p − kh)/s at y = s·a + φ: per phase
 * (φh, φw) the dy windows of its taps side by side (channels last) times those taps' filters as `[t·O, I]`, then the
 * s² phases interleaved. Each product does only the k² taps' arithmetic: the same sums on dy with s − 1 zeros after
 * each row and column cost s² times as much (at res5, ×16 images: 63 ms of a ~500 ms step), and a ConvTranspose
 * needs the OIHW filter, which onnxruntime transposes from HWIO at ~0.5 GB/s (19 ms for 3×3×512×512).
 */
function stridedInputGrad(g: GraphBuilder, layer: ConvBNSpec, dy: string, convInput: Shape, ho: number, wo: number, inputs: FilterInputs): string {
  const [n, hp, wp, I] = convInput as [number, number, number, number];
  const [k, s, O] = [layer.kernel, layer.stride, layer.outChannels];
  const p = pads(k);
  inputs.hwio.add(layer);
  // Per phase φ, its taps and their dy row offsets d (o = a + d); every phase is computed on A = ⌈hp/s⌉ rows.
  const taps = (phase: number) => [...Array(k).keys()].filter((t) => (phase + p - t) % s === 0).map((t) => ({ t, d: (phase + p - t) / s }));
  const phases = [...Array(s).keys()].map(taps);
  const ds = phases.flat().map((x) => x.d);
  const [A, B] = [Math.ceil(hp / s), Math.ceil(wp / s)];
  const before = Math.max(0, -Math.min(...ds));
  const [afterH, afterW] = [Math.max(0, A - 1 + Math.max(...ds) - (ho - 1)), Math.max(0, B - 1 + Math.max(...ds) - (wo - 1))];
  const dt = g.op('Pad', [dy, g.ints([0, before, before, 0, 0, afterH, afterW, 0])]);
  // The filter as [k², O, I]: each tap's [I, O] transposed (one Transpose of the last two axes: a fast one).
  const wr = g.op('Transpose', [g.op('Reshape', [`${layer.key}.whwio`, g.ints([k * k, I, O])])], [{ name: 'perm', ints: [0, 2, 1] }]);
  const rows = phases.map((th) => {
    const cols = phases.map((tw) => {
      const pairs = th.flatMap((h) => tw.map((w) => ({ tap: h.t * k + w.t, dh: h.d + before, dw: w.d + before })));
      const windows = pairs.map(({ dh, dw }) => g.op('Slice', [dt, g.ints([dh, dw]), g.ints([dh + A, dw + B]), g.ints([1, 2])]));
      const x = windows.length === 1 ? windows[0]! : g.op('Concat', windows, [{ name: 'axis', i: 3 }]);
      const w = g.op('Reshape', [g.op('Gather', [wr, g.ints(pairs.map((q) => q.tap))], [{ name: 'axis', i: 0 }]), g.ints([pairs.length * O, I])]);
      const phase = g.op('MatMul', [g.op('Reshape', [x, g.ints([n * A * B, pairs.length * O])]), w]);
      return g.op('Reshape', [phase, g.ints([n, A, 1, B, 1, I])]);
    });
    return g.op('Concat', cols, [{ name: 'axis', i: 4 }]);
  });
  const full = g.op('Reshape', [g.op('Concat', rows, [{ name: 'axis', i: 2 }]), g.ints([n, A * s, B * s, I])]);
  return A * s === hp && B * s === wp ? full : g.op('Slice', [full, g.ints([0, 0]), g.ints([hp, wp]), g.ints([1, 2])]);
}
