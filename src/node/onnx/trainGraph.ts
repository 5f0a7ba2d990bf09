/**
 * PP-TSN's trainable part as two ONNX graphs (IR 8, opset 17), so the CLI's trainer runs its forward and backward
 * passes on onnxruntime-node (MLAS: AVX2/AVX-512 GEMMs on every core) instead of tfjs-backend-wasm (128-bit SIMD,
 * one thread in Node): issue 23, "a better way you find and measure" for `train`'s trainable part.
 *
 * - `forward`: the train-mode pass of the units from stage boundary `from` (`resnetVd.ts` units: the stem's ConvBNs
 *   with its max pool, then each residual block) to the last feature map. Inputs: `x` `[N, H, W, C]` (NHWC, as the
 *   trainer holds it) and each trainable layer's filter as the conv's form reads it (convGraph.ts: `${key}.whwio`,
 *   tfjs's HWIO filter as `[k²·I, O]`, and/or `${key}.w`, OIHW, which the caller transposes in JS once per step, see
 *   ortPass.ts), `${key}.g`, `${key}.b` (BN scale and offset `[O]`). Outputs: `map` `[N, h, w, F]` (NHWC, the head's input),
 *   each layer's batch mean `${key}.mean` and biased variance `${key}.var` `[O]` (PaddleVideo's train-mode
 *   `BatchNorm`, as `batchNormTrain.ts`), and the `saved` tensors the backward pass reads.
 * - `backward`: inputs `dmap` (the loss's gradient w.r.t. `map`, NHWC), the `saved` tensors under the same names and
 *   `${key}.g`, and the filters its input gradients need (the session's `inputNames` say which); outputs `${key}.dw`
 *   (HWIO as `[k²·I, O]`), `${key}.dg`, `${key}.db` for every trainable layer.
 *
 * The gradients are the closed forms `convGrad.ts` and `batchNormTrain.ts` compute on tfjs (m = N·h·w values per
 * channel, x̂ the normalised conv output, r = 1/√(σ² + ε), g = dz masked by the ReLU):
 *   dβ = Σ g,  dγ = Σ g·x̂,  dy = γ·r·(g − mean g − x̂·mean(g·x̂));
 *   dW = im2col(X)ᵀ · dy (one MatMul over the K² taps of the padded input), and dx in the conv's form (convGraph.ts);
 *   the vd AvgPool's gradient spreads each output's gradient over its ⌈2×2⌉ window divided by its in-bounds count
 *   (ceil_mode, exclusive); the stem's MaxPool's goes to the arg-max (`MaxPool`'s Indices, `ScatterElements` add).
 * Every activation is channels last (NHWC) from `x` to `map`, as tfjs holds them: a 1×1 conv is one product of
 * `[N·h·w, I]` by the filter, BN reduces over the first three axes and broadcasts γ, β `[O]` over the last; only
 * ONNX's NCHW-only ops (Conv, ConvTranspose and MaxPool, on the large maps of `full`) sit between Transposes.
 * Shapes are static (one pair of graphs per input shape): the transposed convolutions' output padding and the pools'
 * windows are fixed at build time. Written with protobuf.ts, no dependency.
 */
import type { ArchSpec, ConvBNSpec } from '../../core/model/arch.js';
import { BN_EPSILON } from '../../core/model/recognizer.js';
import { FEATURE_MAP_BOUNDARY, type StageBoundary } from '../../core/model/resnetVd.js';
import { GraphBuilder, type Shape, type Val } from './graphBuilder.js';
import { convForm, convForward, SMALL_SPATIAL, filterGrad, im2col, inputGrad, toNCHW, toNHWC, type ConvForm, type FilterInputs } from './convGraph.js';
import { crossEntropyHead, type HeadSpec } from './trainHeadGraph.js';
import { FLOAT, INT64, node, valueInfo, type Pb } from './protobuf.js';

/** Bumped whenever the graphs change (sessions are built in memory; the version names them in a report). */
export const TRAIN_GRAPH_VERSION = 6;

export interface TrainGraphs {
  forward: Uint8Array;
  backward: Uint8Array;
  /** The trainable layers, in network order (each has the three parameter inputs and three gradient outputs). */
  layers: ConvBNSpec[];
  /** The layers whose OIHW filter `${key}.w` a graph reads (`conv` form or strided, convGraph.ts). */
  oihw: Set<string>;
  /** Forward outputs the backward graph takes as inputs, by name. */
  saved: string[];
  /** `map`'s shape, NHWC. */
  mapShape: [number, number, number, number];
  /**
   * With `opts.head`: the whole pass in one graph (forward, ppTSN head, soft-target cross entropy, backward), inputs
   * as `forward`'s plus `${key}.whwio` and the head's (trainHeadGraph.ts), outputs the head's, the statistics and
   * every gradient.
   */
  step?: Uint8Array;
}


/** What a layer's backward pass reads of its forward pass. */
interface LayerRecord {
  layer: ConvBNSpec;
  /** The block/layer input (before the vd pool). */
  input: Val;
  /** The conv's input (after the vd pool). */
  convInput: Val;
  xhat: string;
  r: string;
  /** The output (after the ReLU when `act`). */
  out: Val;
  form: ConvForm;
  /** The forward's im2col of `convInput` (`matmul` form, k > 1). */
  cols?: string;
}

type Unit = { kind: 'stem'; layers: ConvBNSpec[] } | { kind: 'block'; branch: ConvBNSpec[]; short?: ConvBNSpec };

/** BN's reduction axes, channels last. */
const SPATIAL_AXES = [0, 1, 2];

function unitsFrom(arch: ArchSpec, from: StageBoundary): Unit[] {
  const out: Unit[] = [];
  if (from === 0) out.push({ kind: 'stem', layers: arch.stem });
  for (const b of arch.blocks) if (b.stage + 1 >= from) out.push({ kind: 'block', branch: b.branch, ...(b.short ? { short: b.short } : {}) });
  return out;
}

/**
 * The forward and backward graphs of `arch`'s units from boundary `from` (0..4: the part a trainer trains; the head
 * stays with the caller) for inputs of NHWC shape `inputShape`; `opts.matmulFormUpTo`: output positions up to which a
 * conv takes the `matmul` form (convGraph.ts; default {@link SMALL_SPATIAL}, 0 for none).
 */
export function trainGraphs(arch: ArchSpec, from: StageBoundary, inputShape: readonly [number, number, number, number], opts: { head?: HeadSpec; matmulFormUpTo?: number } = {}): TrainGraphs {
  if (from >= FEATURE_MAP_BOUNDARY) throw new RangeError(`trainGraphs: nothing to train from boundary ${from}`);
  const [N, H0, W0, C0] = inputShape;
  const f = new GraphBuilder('f_');
  const types = new Map<string, { dims: Shape; type: number }>();
  const records = new Map<string, LayerRecord>();
  const saved = new Set<string>();
  const save = (v: Val): string => {
    saved.add(v.name);
    types.set(v.name, { dims: v.shape, type: FLOAT });
    return v.name;
  };
  const layers: ConvBNSpec[] = [];
  const fwdInputs: FilterInputs = { oihw: new Set(), hwio: new Set() };
  const eps = f.scalar(BN_EPSILON);

  const forwardLayer = (layer: ConvBNSpec, x: Val): Val => {
    layers.push(layer);
    const n = x.shape[0]!;
    const P: Val = layer.avgPoolFirst ? avgPool(f, x) : x;
    const k = layer.kernel;
    const s = layer.stride;
    const p = (k - 1) >> 1;
    const O = layer.outChannels;
    const ho = Math.floor((P.shape[1]! + 2 * p - k) / s) + 1;
    const wo = Math.floor((P.shape[2]! + 2 * p - k) / s) + 1;
    const form = convForm(layer, ho, wo, opts.matmulFormUpTo);
    const { y, cols } = convForward(f, layer, P, ho, wo, form, fwdInputs);
    const mean = f.op('ReduceMean', [y], [{ name: 'axes', ints: SPATIAL_AXES }, { name: 'keepdims', i: 1 }]);
    const d = f.op('Sub', [y, mean]);
    const variance = f.op('ReduceMean', [f.op('Mul', [d, d])], [{ name: 'axes', ints: SPATIAL_AXES }, { name: 'keepdims', i: 1 }]);
    const r = f.op('Reciprocal', [f.op('Sqrt', [f.op('Add', [variance, eps])])]);
    const xhat = f.op('Mul', [d, r]);
    // γ and β `[O]` broadcast over the channels-last axis.
    const z = f.op('Add', [f.op('Mul', [xhat, `${layer.key}.g`]), `${layer.key}.b`]);
    const out: Val = { name: layer.act ? f.op('Relu', [z]) : z, shape: [n, ho, wo, O] };
    f.op('Reshape', [mean, f.ints([O])], [], `${layer.key}.mean`);
    f.op('Reshape', [variance, f.ints([O])], [], `${layer.key}.var`);
    // The filter gradient's im2col: the one the forward built, else the backward builds it from P.
    if (cols) save({ name: cols, shape: [n * ho * wo, k * k * P.shape[3]!] });
    else save(P);
    save({ name: xhat, shape: out.shape });
    save({ name: r, shape: [1, 1, 1, O] });
    if (layer.act) save(out);
    records.set(layer.key, { layer, input: x, convInput: P, xhat, r, out, form, ...(cols ? { cols } : {}) });
    return out;
  };

  const units = unitsFrom(arch, from);
  const unitOut: Val[] = [];
  const unitIn: Val[] = [];
  let maxPool: { out: Val; indices: string; input: Val } | undefined;
  let x: Val = { name: 'x', shape: [N, H0, W0, C0] };
  for (const u of units) {
    unitIn.push(x);
    if (u.kind === 'stem') {
      for (const l of u.layers) x = forwardLayer(l, x);
      // MaxPool (with the arg-max Indices its gradient scatters to) is NCHW-only in ONNX.
      const [n, h, w, c] = x.shape as [number, number, number, number];
      const mp = f.fresh('maxpool');
      const idx = f.fresh('maxpool_indices');
      f.nodes.push(node('MaxPool', [toNCHW(f, x.name)], [mp, idx], [{ name: 'kernel_shape', ints: [3, 3] }, { name: 'strides', ints: [2, 2] }, { name: 'pads', ints: [1, 1, 1, 1] }]));
      const [hm, wm] = [Math.floor((h - 1) / 2) + 1, Math.floor((w - 1) / 2) + 1];
      const out: Val = { name: toNHWC(f, mp), shape: [n, hm, wm, c] };
      saved.add(idx);
      types.set(idx, { dims: [n, c, hm, wm], type: INT64 });
      maxPool = { out, indices: idx, input: x };
      x = out;
    } else {
      let y = x;
      for (const l of u.branch) y = forwardLayer(l, y);
      const short = u.short ? forwardLayer(u.short, x) : x;
      x = { name: f.op('Relu', [f.op('Add', [short.name, y.name])]), shape: y.shape };
      save(x);
    }
    unitOut.push(x);
  }
  const [, h, w, F] = x.shape as [number, number, number, number];
  f.op('Identity', [x.name], [], 'map');

  // A layer's filter inputs as the graph reads them (convGraph.ts): OIHW and/or HWIO as `[k²·I, O]`.
  const filterInputs = (l: ConvBNSpec, ...uses: FilterInputs[]): Pb[] => [
    ...(uses.some((u) => u.oihw.has(l)) ? [valueInfo(`${l.key}.w`, [l.outChannels, l.inChannels, l.kernel, l.kernel])] : []),
    ...(uses.some((u) => u.hwio.has(l)) ? [valueInfo(`${l.key}.whwio`, [l.kernel * l.kernel * l.inChannels, l.outChannels])] : []),
  ];
  const paramInputs = (...uses: FilterInputs[]): Pb[] => layers.flatMap((l) => [...filterInputs(l, ...uses), valueInfo(`${l.key}.g`, [l.outChannels]), valueInfo(`${l.key}.b`, [l.outChannels])]);
  const savedList = [...saved];
  const savedInfo = savedList.map((s) => valueInfo(s, types.get(s)!.dims, types.get(s)!.type));
  const forward = f.finish(`pptsn_resnet${arch.depth}_vd_train_forward`, [valueInfo('x', [N, H0, W0, C0]), ...paramInputs(fwdInputs)], [
    valueInfo('map', [N, h, w, F]),
    ...layers.flatMap((l) => [valueInfo(`${l.key}.mean`, [l.outChannels]), valueInfo(`${l.key}.var`, [l.outChannels])]),
    ...savedInfo,
  ]);

  // Backward, unit by unit from the last, from the gradient `start` of the last unit's output (NHWC); the gradient
  // of the graph input `x` is never computed.
  const buildBackward = (start: (b: GraphBuilder) => string) => {
  const b = new GraphBuilder('b_');
  const inputs: FilterInputs = { oihw: new Set(), hwio: new Set() };
  const zero = b.scalar(0);
  const masked = (d: string, by: string) => b.op('Where', [b.op('Greater', [by, zero]), d, zero]);
  const backwardLayer = (layer: ConvBNSpec, dOut: string, needInput: boolean): string | null => {
    const rec = records.get(layer.key)!;
    const [n, ho, wo, O] = rec.out.shape as [number, number, number, number];
    const m = n * ho * wo;
    const dz = layer.act ? masked(dOut, rec.out.name) : dOut;
    const dzx = b.op('Mul', [dz, rec.xhat]);
    // The sums once, over the activations; dβ/m and dγ/m from them on [1, 1, 1, O] (not two more passes).
    const axes = b.ints(SPATIAL_AXES);
    const sumDz = b.op('ReduceSum', [dz, axes], [{ name: 'keepdims', i: 1 }]);
    const sumDzx = b.op('ReduceSum', [dzx, axes], [{ name: 'keepdims', i: 1 }]);
    b.op('Reshape', [sumDz, b.ints([O])], [], `${layer.key}.db`);
    b.op('Reshape', [sumDzx, b.ints([O])], [], `${layer.key}.dg`);
    const invM = b.scalar(1 / m);
    const gr = b.op('Mul', [`${layer.key}.g`, rec.r]);
    const dy = b.op('Mul', [b.op('Sub', [b.op('Sub', [dz, b.op('Mul', [sumDz, invM])]), b.op('Mul', [rec.xhat, b.op('Mul', [sumDzx, invM])])]), gr]);
    filterGrad(b, layer, rec.cols ?? im2col(b, rec.convInput, layer.kernel, layer.stride, ho, wo), dy, m);
    if (!needInput) return null;
    const dp = inputGrad(b, layer, dy, rec.convInput.shape, ho, wo, rec.form, inputs);
    return layer.avgPoolFirst ? avgPoolGrad(b, dp, rec.convInput.shape, rec.input.shape) : dp;
  };

  let d: string | null = start(b);
  for (let i = units.length - 1; i >= 0 && d; i--) {
    const u = units[i]!;
    const needInput = i > 0;
    if (u.kind === 'block') {
      const ds = masked(d, unitOut[i]!.name);
      let db: string | null = ds;
      for (let j = u.branch.length - 1; j >= 0 && db; j--) db = backwardLayer(u.branch[j]!, db, j > 0 || needInput);
      const dshort = u.short ? backwardLayer(u.short, ds, needInput) : needInput ? ds : null;
      d = needInput ? b.op('Add', [db!, dshort!]) : null;
    } else {
      const mp = maxPool!;
      // The Indices are NCHW flat positions: scatter d in NCHW order, then back to channels last.
      const [n, hh, ww, c] = mp.input.shape as [number, number, number, number];
      const scattered = b.op('ScatterElements', [
        b.op('ConstantOfShape', [b.ints([n * c * hh * ww])]),
        b.op('Reshape', [mp.indices, b.ints([-1])]),
        b.op('Reshape', [toNCHW(b, d), b.ints([-1])]),
      ], [{ name: 'axis', i: 0 }, { name: 'reduction', s: 'add' }]);
      let ds: string | null = toNHWC(b, b.op('Reshape', [scattered, b.ints([n, c, hh, ww])]));
      for (let j = u.layers.length - 1; j >= 0 && ds; j--) ds = backwardLayer(u.layers[j]!, ds, j > 0 || needInput);
      d = ds;
    }
  }
  return { b, inputs };
  };
  const { b, inputs } = buildBackward(() => 'dmap');
  const backwardParams = layers.flatMap((l) => [valueInfo(`${l.key}.g`, [l.outChannels]), ...filterInputs(l, inputs)]);
  const backward = b.finish(`pptsn_resnet${arch.depth}_vd_train_backward`, [valueInfo('dmap', [N, h, w, F]), ...savedInfo, ...backwardParams],
    layers.flatMap((l) => [valueInfo(`${l.key}.dw`, [l.kernel * l.kernel * l.inChannels, l.outChannels]), valueInfo(`${l.key}.dg`, [l.outChannels]), valueInfo(`${l.key}.db`, [l.outChannels])]));
  const gradOutputs = layers.flatMap((l) => [valueInfo(`${l.key}.dw`, [l.kernel * l.kernel * l.inChannels, l.outChannels]), valueInfo(`${l.key}.dg`, [l.outChannels]), valueInfo(`${l.key}.db`, [l.outChannels])]);
  const statOutputs = layers.flatMap((l) => [valueInfo(`${l.key}.mean`, [l.outChannels]), valueInfo(`${l.key}.var`, [l.outChannels])]);
  let step: Uint8Array | undefined;
  if (opts.head) {
    // One graph for the whole pass: forward, the head and its cross entropy, backward; nothing crosses to JS between.
    const hb = new GraphBuilder('h_');
    const head = crossEntropyHead(hb, x, opts.head);
    const whole = buildBackward(() => head.dmap);
    step = f.finish(`pptsn_resnet${arch.depth}_vd_train_step`, [valueInfo('x', [N, H0, W0, C0]), ...paramInputs(fwdInputs, whole.inputs), ...head.inputs], [
      ...head.outputs, ...statOutputs, ...gradOutputs,
    ], [hb, whole.b]);
  }
  const oihw = new Set([...fwdInputs.oihw, ...inputs.oihw].map((l) => l.key));
  return { forward, backward, ...(step ? { step } : {}), layers, oihw, saved: savedList, mapShape: [N, h, w, F] };
}

/** Each ⌈2×2⌉ window's in-bounds count's inverse, `[1, ⌈H/2⌉, ⌈W/2⌉, 1]` (AvgPool2D's exclusive ceil mode). */
function inverseCounts(g: GraphBuilder, h: number, w: number): string {
  const [ho, wo] = [Math.ceil(h / 2), Math.ceil(w / 2)];
  const inv = new Float32Array(ho * wo);
  for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) inv[i * wo + j] = 1 / ((Math.min(2 * i + 2, h) - 2 * i) * (Math.min(2 * j + 2, w) - 2 * j));
  return g.floats([1, ho, wo, 1], inv);
}

/**
 * The vd AvgPool2D(2, 2, ceil_mode, exclusive) of `x` `[n, H, W, c]`, channels last (ONNX's AveragePool is NCHW):
 * zeros padded to even sizes, each 2×2 window's sum divided by its in-bounds count.
 */
function avgPool(g: GraphBuilder, x: Val): Val {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [ho, wo] = [Math.ceil(h / 2), Math.ceil(w / 2)];
  const even = h % 2 === 0 && w % 2 === 0 ? x.name : g.op('Pad', [x.name, g.ints([0, 0, 0, 0, 0, h % 2, w % 2, 0])]);
  const sums = g.op('ReduceSum', [g.op('Reshape', [even, g.ints([n, ho, 2, wo, 2, c])]), g.ints([2, 4])], [{ name: 'keepdims', i: 0 }]);
  return { name: g.op('Mul', [sums, inverseCounts(g, h, w)]), shape: [n, ho, wo, c] };
}

/**
 * The gradient of the vd AvgPool2D from `[n, ⌈H/2⌉, ⌈W/2⌉, c]` back to `[n, H, W, c]`: each output's gradient divided
 * by its window's in-bounds count, repeated over its 2×2 window, the padding rows of an odd size cut off.
 */
function avgPoolGrad(b: GraphBuilder, dp: string, pooled: Shape, input: Shape): string {
  const [n, ho, wo, c] = pooled as [number, number, number, number];
  const [, h, w] = input as [number, number, number, number];
  const scaled = b.op('Mul', [dp, inverseCounts(b, h, w)]);
  const spread = b.op('Expand', [b.op('Reshape', [scaled, b.ints([n, ho, 1, wo, 1, c])]), b.ints([n, ho, 2, wo, 2, c])]);
  const full = b.op('Reshape', [spread, b.ints([n, 2 * ho, 2 * wo, c])]);
  return 2 * ho === h && 2 * wo === w ? full : b.op('Slice', [full, b.ints([0, 0]), b.ints([h, w]), b.ints([1, 2])]);
}
