/**
 * A minimal ONNX writer (protobuf by hand, no dependency) for the comparison rows of the benchmark: the same
 * PP-TSN backbone as src/core/model, built from arch.ts and a state dict, with BatchNorm folded into each Conv's
 * bias (as our Recognizer does) so both runtimes do the same arithmetic. Output: per-image logits [N, classes]
 * (GlobalAveragePool → Flatten → Gemm); the head's mean over T·C is negligible work and left out.
 *
 * Only the protobuf fields this graph needs are written (onnx.proto3, IR 8, opset 13).
 */
import { archSpec, type ArchSpec, type ConvBNSpec, type Depth } from '../src/core/model/arch.js';
import { BN_EPSILON } from '../src/core/model/recognizer.js';
import type { StateDict } from '../src/core/stateDict.js';

/** Protobuf encoding of one message, field by field. */
class Pb {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) byte |= 0x80;
      out.push(byte);
    } while (x !== 0n);
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number): this {
    this.key(field, 0);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  msg(field: number, m: Pb): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

const FLOAT = 1;
type Attr = { name: string } & ({ i: number } | { ints: number[] } | { f: number });

function attribute(a: Attr): Pb {
  const p = new Pb().string(1, a.name);
  if ('i' in a) return p.int(3, a.i).int(20, 2);
  if ('f' in a) return p.float(2, a.f).int(20, 1);
  for (const v of a.ints) p.int(8, v);
  return p.int(20, 7);
}

function node(op: string, inputs: string[], outputs: string[], attrs: Attr[] = [], name = outputs[0]!): Pb {
  const p = new Pb();
  for (const i of inputs) p.string(1, i);
  for (const o of outputs) p.string(2, o);
  p.string(3, name).string(4, op);
  for (const a of attrs) p.msg(5, attribute(a));
  return p;
}

function tensor(name: string, dims: number[], data: Float32Array): Pb {
  const p = new Pb();
  for (const d of dims) p.int(1, d);
  p.int(2, FLOAT).string(8, name);
  return p.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function valueInfo(name: string, dims: (number | string)[]): Pb {
  const shape = new Pb();
  for (const d of dims) shape.msg(1, typeof d === 'number' ? new Pb().int(1, d) : new Pb().string(2, d));
  const tensorType = new Pb().int(1, FLOAT).msg(2, shape);
  return new Pb().string(1, name).msg(2, new Pb().msg(1, tensorType));
}

/** BN folded into the conv, Paddle/ONNX layout [O, I, kh, kw] kept. */
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

/** ONNX model bytes of PP-TSN's backbone + FC for `sd` (input `x` [N, 3, H, W] NCHW, output `logits` [N, classes]). */
export function ppTSNToOnnx(sd: StateDict, depth: Depth, numClasses: number): Uint8Array {
  const arch: ArchSpec = archSpec(depth, numClasses);
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
  inits.push(tensor('fc.w', [arch.featureDim, numClasses], sd.get('head.fc.weight')!.data), tensor('fc.b', [numClasses], sd.get('head.fc.bias')!.data));
  nodes.push(node('Gemm', ['feat', 'fc.w', 'fc.b'], ['logits']));
  for (const nd of nodes) graph.msg(1, nd);
  graph.string(2, `pptsn_resnet${depth}_vd`);
  for (const t of inits) graph.msg(5, t);
  graph.msg(11, valueInfo('x', ['N', 3, 'H', 'W']));
  graph.msg(12, valueInfo('logits', ['N', numClasses]));
  const opset = new Pb().string(1, '').int(2, 13);
  return new Pb().int(1, 8).string(2, 'pptsn-web bench').msg(7, graph).msg(8, opset).finish();
}
