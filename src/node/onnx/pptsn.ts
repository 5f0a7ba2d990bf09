/**
 * PP-TSN's backbone as an ONNX model (IR 8, opset 13), written from `arch.ts` and a state dict: the same network
 * as `src/core/model` (PaddleVideo `backbones/resnet_tweaks_tsn.py` + the FC of `heads/pptsn_head.py`), with each
 * BatchNorm folded into its Conv's bias as our Recognizer folds it, so a runtime that runs it does the same
 * arithmetic. Written by hand (protobuf.ts), no dependency. Used by the CLI's onnxruntime-node runner
 * (src/node/runtime.ts) and by the benchmark's onnxruntime-web row.
 *
 * Graph: input `x` `[N, 3, H, W]` float32 NCHW (PaddleVideo's layout) → `feat` `[N, F]` (global average pool, the
 * per-image features the ppTSN head averages over T·C) and/or `logits` `[N, classes]` (the FC on each image's
 * features; the head's mean over T·C is left to the caller), as `OnnxOptions.features` says.
 */
import { archSpec, type ArchSpec, type ConvBNSpec, type Depth } from '../../core/model/arch.js';
import { BN_EPSILON } from '../../core/model/recognizer.js';
import type { StateDict } from '../../core/stateDict.js';
import { Pb, node, tensor, valueInfo } from './protobuf.js';

/** Bumped whenever the graph changes, so cached `.onnx` files of an older writer are rebuilt. */
export const ONNX_WRITER_VERSION = 1;

export interface OnnxOptions {
  /** `both` (default): outputs `feat` and `logits`; `only`: `feat` alone (no FC in the graph); `none`: `logits` alone. */
  features?: 'both' | 'only' | 'none';
}

/** BN folded into the conv, Paddle/ONNX layout [O, I, kh, kw] kept. Float64 arithmetic, float32 result. */
function foldOIHW(layer: ConvBNSpec, sd: StateDict): { w: Float32Array; b: Float32Array } {
  const get = (k: string) => sd.get(`${layer.key}.${k}`)!.data;
  const w = get('_conv.weight');
  const [gamma, beta, mean, variance] = [get('_batch_norm.weight'), get('_batch_norm.bias'), get('_batch_norm._mean'), get('_batch_norm._variance')];
  const per = layer.inChannels * layer.kernel * layer.kernel;
  const out = new Float32Array(w.length);
  const b = new Float32Array(layer.outChannels);
  for (let o = 0; o < layer.outChannels; o++) {
    const s = gamma[o]! / Math.sqrt(variance[o]! + BN_EPSILON);
    b[o] = beta[o]! - mean[o]! * s;
    for (let j = 0; j < per; j++) out[o * per + j] = w[o * per + j]! * s;
  }
  return { w: out, b };
}

/** ONNX model bytes of PP-TSN's backbone (+ FC) for `sd`; see the module comment for inputs and outputs. */
export function ppTSNToOnnx(sd: StateDict, depth: Depth, numClasses: number, options: OnnxOptions = {}): Uint8Array {
  const arch: ArchSpec = archSpec(depth, numClasses);
  const withLogits = options.features !== 'only';
  const withFeatures = options.features !== 'none';
  const graph = new Pb();
  const nodes: Pb[] = [];
  const inits: Pb[] = [];
  let n = 0;
  const fresh = (s: string) => `${s}_${n++}`;
  const convBN = (layer: ConvBNSpec, x: string): string => {
    let input = x;
    if (layer.avgPoolFirst) {
      const pooled = fresh('avgpool');
      // Paddle's AvgPool2D(2, 2, ceil_mode=True, exclusive=True) = ONNX ceil_mode 1, count_include_pad 0.
      nodes.push(node('AveragePool', [input], [pooled], [{ name: 'kernel_shape', ints: [2, 2] }, { name: 'strides', ints: [2, 2] }, { name: 'ceil_mode', i: 1 }, { name: 'count_include_pad', i: 0 }]));
      input = pooled;
    }
    const { w, b } = foldOIHW(layer, sd);
    const k = layer.kernel;
    const p = (k - 1) >> 1;
    inits.push(tensor(`${layer.key}.w`, [layer.outChannels, layer.inChannels, k, k], w), tensor(`${layer.key}.b`, [layer.outChannels], b));
    const conv = fresh('conv');
    nodes.push(node('Conv', [input, `${layer.key}.w`, `${layer.key}.b`], [conv], [
      { name: 'kernel_shape', ints: [k, k] },
      { name: 'strides', ints: [layer.stride, layer.stride] },
      { name: 'pads', ints: [p, p, p, p] },
    ]));
    if (!layer.act) return conv;
    const relu = fresh('relu');
    nodes.push(node('Relu', [conv], [relu]));
    return relu;
  };
  let x = 'x';
  for (const l of arch.stem) x = convBN(l, x);
  const mp = fresh('maxpool');
  nodes.push(node('MaxPool', [x], [mp], [{ name: 'kernel_shape', ints: [3, 3] }, { name: 'strides', ints: [2, 2] }, { name: 'pads', ints: [1, 1, 1, 1] }]));
  x = mp;
  for (const block of arch.blocks) {
    let y = x;
    for (const l of block.branch) y = convBN(l, y);
    const short = block.short ? convBN(block.short, x) : x;
    const sum = fresh('add');
    nodes.push(node('Add', [short, y], [sum]));
    const out = fresh('relu');
    nodes.push(node('Relu', [sum], [out]));
    x = out;
  }
  nodes.push(node('GlobalAveragePool', [x], ['gap']));
  nodes.push(node('Flatten', ['gap'], ['feat'], [{ name: 'axis', i: 1 }]));
  if (withLogits) {
    inits.push(tensor('fc.w', [arch.featureDim, numClasses], sd.get('head.fc.weight')!.data), tensor('fc.b', [numClasses], sd.get('head.fc.bias')!.data));
    nodes.push(node('Gemm', ['feat', 'fc.w', 'fc.b'], ['logits']));
  }
  for (const nd of nodes) graph.msg(1, nd);
  graph.string(2, `pptsn_resnet${depth}_vd`);
  for (const t of inits) graph.msg(5, t);
  graph.msg(11, valueInfo('x', ['N', 3, 'H', 'W']));
  if (withLogits) graph.msg(12, valueInfo('logits', ['N', numClasses]));
  if (withFeatures) graph.msg(12, valueInfo('feat', ['N', arch.featureDim]));
  const opset = new Pb().string(1, '').int(2, 13);
  return new Pb().int(1, 8).string(2, 'pptsn-web').msg(7, graph).msg(8, opset).finish();
}
