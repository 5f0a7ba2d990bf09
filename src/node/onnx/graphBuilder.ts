/** A small builder for the ONNX graphs the CLI writes (trainGraph.ts, trainHeadGraph.ts): nodes, shared constants. */
import { Pb, int64Tensor, node, tensor, type Attr } from './protobuf.js';

export type Shape = number[];

/** A value of a graph and its shape (the training graphs' activations are NHWC). */
export interface Val {
  name: string;
  shape: Shape;
}

/** Nodes, initializers and typed value shapes of one graph. */
export class GraphBuilder {
  readonly nodes: Pb[] = [];
  readonly inits: Pb[] = [];
  private n = 0;
  private readonly consts = new Map<string, string>();
  constructor(private readonly prefix: string) {}

  fresh(s: string): string {
    return `${this.prefix}${s}_${this.n++}`;
  }

  op(type: string, inputs: string[], attrs: Attr[] = [], out = this.fresh(type.toLowerCase())): string {
    this.nodes.push(node(type, inputs, [out], attrs));
    return out;
  }

  /** A 1-D int64 constant (shapes, axes, pads, slice bounds), shared by value. */
  ints(values: readonly number[]): string {
    const key = `i:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.fresh('ints');
      this.inits.push(int64Tensor(name, [values.length], values));
      this.consts.set(key, name);
    }
    return name;
  }

  /** A float32 constant of `dims`, shared by value. */
  floats(dims: number[], data: Float32Array): string {
    const key = `f:${dims.join(',')}:${Array.from(data).join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.fresh('floats');
      this.inits.push(tensor(name, dims, data));
      this.consts.set(key, name);
    }
    return name;
  }

  scalar(v: number): string {
    return this.floats([], Float32Array.of(v));
  }

  /** The model bytes of this builder's graph, with `also`'s nodes and constants after its own (one graph from parts). */
  finish(name: string, inputs: Pb[], outputs: Pb[], also: GraphBuilder[] = []): Uint8Array {
    const graph = new Pb();
    for (const g of [this, ...also]) for (const nd of g.nodes) graph.msg(1, nd);
    graph.string(2, name);
    for (const g of [this, ...also]) for (const t of g.inits) graph.msg(5, t);
    for (const i of inputs) graph.msg(11, i);
    for (const o of outputs) graph.msg(12, o);
    const opset = new Pb().string(1, '').int(2, 17);
    return new Pb().int(1, 8).string(2, 'pptsn-web').msg(7, graph).msg(8, opset).finish();
  }
}

