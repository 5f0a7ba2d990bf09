/**
 * A trainable convolution's three products in the training graphs (trainGraph.ts), in one of two forms, NCHW:
 *
 * - `conv`: ONNX Conv on the OIHW filter `${key}.w` (which the caller transposes from tfjs's HWIO in JS); the input
 *   gradient a Conv with the filter rotated by 180° (stride 1) or a ConvTranspose (strided). onnxruntime runs Conv
 *   through its blocked NCHWc kernels: the form for large feature maps, where the filters are small.
 * - `matmul` (outputs of at most {@link SMALL_SPATIAL} positions: res3 to res5 at 224 px, where the filters
 *   are most of the bytes): products with the HWIO filter `${key}.whwio` as the matrix `[k²·I, O]` it already is, so
 *   no filter is transposed, in JS or in the graph. Forward: `Y[O, m] = Wᵀ · cols[k²·I, m]` (im2col of the padded
 *   input, kept for the filter gradient); input gradient: per tap, the padded dy's shifted window `[m, O]` times the
 *   tap's filter transposed, summed over the taps (strided: on dy with zeros between its rows and columns, the
 *   transposed convolution); for 1×1, `[O, I]ᵀ · X[n, I, h·w]` and `W · dY[n, O, h·w]`. The
 *   transposes are folded into the products (onnxruntime's MatMul-Transpose fusion: FusedMatMul).
 *   Measured at res5, ×4 images (issue 23): the in-graph rotation of the 3×3 filters (Transpose + reversing Slice,
 *   ~10 ms each) and the OIHW transposition in JS (~28 ms a step) were a third of the step beside onnxruntime's
 *   arithmetic.
 *
 * Filter gradient, either form: `dW[k²·I, O] = cols · dy[m, O]`, HWIO as tfjs holds it (m = N·h·w output positions).
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

/** im2col of `P` `[n, I, hp, wp]` for a k×k conv at stride `s`: `[k²·I, m]`, rows tap-major (kh, kw, i) as HWIO. */
export function im2col(g: GraphBuilder, P: Val, k: number, s: number, ho: number, wo: number): string {
  const [n, I] = P.shape as [number, number];
  const p = pads(k);
  const m = n * ho * wo;
  const padded = p > 0 ? g.op('Pad', [P.name, g.ints([0, 0, p, p, 0, 0, p, p])]) : P.name;
  const pt = g.op('Transpose', [padded], [{ name: 'perm', ints: [1, 0, 2, 3] }]);
  if (k === 1 && s === 1) return g.op('Reshape', [pt, g.ints([I, m])]);
  const taps: string[] = [];
  for (let kh = 0; kh < k; kh++) {
    for (let kw = 0; kw < k; kw++) {
      const tap = g.op('Slice', [pt, g.ints([kh, kw]), g.ints([kh + s * (ho - 1) + 1, kw + s * (wo - 1) + 1]), g.ints([2, 3]), g.ints([s, s])]);
      taps.push(g.op('Reshape', [tap, g.ints([I, m])]));
    }
  }
  return g.op('Concat', taps, [{ name: 'axis', i: 0 }]);
}

/**
 * The conv's output `[n, O, ho, wo]` for input `P`; `cols` is the im2col the `matmul` form built (a k×k filter),
 * which the filter gradient reuses.
 */
export function convForward(g: GraphBuilder, layer: ConvBNSpec, P: Val, ho: number, wo: number, form: ConvForm, inputs: FilterInputs): { y: string; cols?: string } {
  const [n, I, hp, wp] = P.shape as [number, number, number, number];
  const [k, s, O] = [layer.kernel, layer.stride, layer.outChannels];
  const p = pads(k);
  if (form === 'conv') {
    inputs.oihw.add(layer);
    return { y: g.op('Conv', [P.name, `${layer.key}.w`], [{ name: 'kernel_shape', ints: [k, k] }, { name: 'strides', ints: [s, s] }, { name: 'pads', ints: [p, p, p, p] }]) };
  }
  inputs.hwio.add(layer);
  const wt = g.op('Transpose', [`${layer.key}.whwio`], [{ name: 'perm', ints: [1, 0] }]);
  if (k === 1) return { y: g.op('Reshape', [g.op('MatMul', [wt, g.op('Reshape', [P.name, g.ints([n, I, hp * wp])])]), g.ints([n, O, ho, wo])]) };
  const cols = im2col(g, P, k, s, ho, wo);
  const y = g.op('Transpose', [g.op('Reshape', [g.op('MatMul', [wt, cols]), g.ints([O, n, ho, wo])])], [{ name: 'perm', ints: [1, 0, 2, 3] }]);
  return { y, cols };
}

/** `${key}.dw` `[k²·I, O]` from `cols` (im2col of the conv's input) and dy `[n, O, ho, wo]`. */
export function filterGrad(g: GraphBuilder, layer: ConvBNSpec, cols: string, dy: string, m: number): void {
  const dym = g.op('Reshape', [g.op('Transpose', [dy], [{ name: 'perm', ints: [0, 2, 3, 1] }]), g.ints([m, layer.outChannels])]);
  g.op('MatMul', [cols, dym], [], `${layer.key}.dw`);
}

/** The gradient of the conv's input `[n, I, hp, wp]` (`convInput`'s shape) from dy `[n, O, ho, wo]`. */
export function inputGrad(g: GraphBuilder, layer: ConvBNSpec, dy: string, convInput: Shape, ho: number, wo: number, form: ConvForm, inputs: FilterInputs): string {
  const [n, I, hp, wp] = convInput as [number, number, number, number];
  const [k, s, O] = [layer.kernel, layer.stride, layer.outChannels];
  const p = pads(k);
  const w2 = `${layer.key}.whwio`;
  if (form === 'matmul') {
    inputs.hwio.add(layer);
    if (k === 1) return g.op('Reshape', [g.op('MatMul', [w2, g.op('Reshape', [dy, g.ints([n, O, ho * wo])])]), g.ints([n, I, hp, wp])]);
    // dx[y, x] = Σ_taps dy[y − kh + p, x − kw + p] · W[kh, kw]ᵀ: per tap the padded dy's window as [m, O] times the
    // tap's `[I, O]` filter transposed (MatMul with the transpose folded in: onnxruntime's FusedMatMul), summed.
    // Strided: the same on dy with s − 1 zeros after each row and column (dy[o] sits at s·o), which is what a
    // transposed convolution computes; the right padding reaches the input's size.
    const m = n * hp * wp;
    const up = s === 1 ? dy : g.op('Reshape', [g.op('Pad', [g.op('Reshape', [dy, g.ints([n, O, ho, 1, wo, 1])]), g.ints([0, 0, 0, 0, 0, 0, 0, 0, 0, s - 1, 0, s - 1])]), g.ints([n, O, ho * s, wo * s])]);
    const [rh, rw] = [Math.max(p, p + hp - ho * s), Math.max(p, p + wp - wo * s)];
    const dt = g.op('Transpose', [g.op('Pad', [up, g.ints([0, 0, p, p, 0, 0, rh, rw])])], [{ name: 'perm', ints: [0, 2, 3, 1] }]);
    const taps: string[] = [];
    for (let kh = 0; kh < k; kh++) {
      for (let kw = 0; kw < k; kw++) {
        const [oh, ow] = [2 * p - kh, 2 * p - kw];
        taps.push(g.op('Reshape', [g.op('Slice', [dt, g.ints([oh, ow]), g.ints([oh + hp, ow + wp]), g.ints([1, 2])]), g.ints([1, m, O])]));
      }
    }
    const w3t = g.op('Transpose', [g.op('Reshape', [w2, g.ints([k * k, I, O])])], [{ name: 'perm', ints: [0, 2, 1] }]);
    const dx = g.op('ReduceSum', [g.op('MatMul', [g.op('Concat', taps, [{ name: 'axis', i: 0 }]), w3t]), g.ints([0])], [{ name: 'keepdims', i: 0 }]);
    return g.op('Transpose', [g.op('Reshape', [dx, g.ints([n, hp, wp, I])])], [{ name: 'perm', ints: [0, 3, 1, 2] }]);
  }
  if (s === 1) {
    // A convolution of dy with the filter rotated by 180° and I↔O swapped: `[I, O, k, k]` = the HWIO filter
    // transposed (for 1×1 a mere reshape) with both spatial axes reversed, padded k − 1 − p.
    inputs.hwio.add(layer);
    const rotated = k === 1
      ? g.op('Reshape', [w2, g.ints([I, O, 1, 1])])
      : g.op('Slice', [g.op('Transpose', [g.op('Reshape', [w2, g.ints([k, k, I, O])])], [{ name: 'perm', ints: [2, 3, 0, 1] }]), g.ints([-1, -1]), g.ints([-k - 1, -k - 1]), g.ints([2, 3]), g.ints([-1, -1])]);
    const q = k - 1 - p;
    return g.op('Conv', [dy, rotated], [{ name: 'kernel_shape', ints: [k, k] }, { name: 'pads', ints: [q, q, q, q] }]);
  }
  // Strided: the transposed convolution with the same OIHW filter; output padding restores the rows a strided
  // conv's floor dropped.
  inputs.oihw.add(layer);
  const oph = hp - (s * (ho - 1) + k - 2 * p);
  const opw = wp - (s * (wo - 1) + k - 2 * p);
  return g.op('ConvTranspose', [dy, `${layer.key}.w`], [
    { name: 'kernel_shape', ints: [k, k] }, { name: 'strides', ints: [s, s] }, { name: 'pads', ints: [p, p, p, p] },
    ...(oph || opw ? [{ name: 'output_padding', ints: [oph, opw] }] : []),
  ]);
}
