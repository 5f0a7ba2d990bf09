/**
 * A minimal protobuf encoder for the ONNX writer (no dependency): just the wire types and the ONNX messages
 * (onnx.proto3) that PP-TSN's graph needs: NodeProto, AttributeProto, TensorProto (float32 raw data),
 * ValueInfoProto with symbolic or fixed dims.
 */
/** Protobuf encoding of one message, field by field. */
export class Pb {
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

export const FLOAT = 1;
export const INT64 = 7;
export type Attr = { name: string } & ({ i: number } | { ints: number[] } | { f: number } | { s: string });

export function attribute(a: Attr): Pb {
  const p = new Pb().string(1, a.name);
  if ('i' in a) return p.int(3, a.i).int(20, 2);
  if ('f' in a) return p.float(2, a.f).int(20, 1);
  if ('s' in a) return p.string(4, a.s).int(20, 3);
  for (const v of a.ints) p.int(8, v);
  return p.int(20, 7);
}

export function node(op: string, inputs: string[], outputs: string[], attrs: Attr[] = [], name = outputs[0]!): Pb {
  const p = new Pb();
  for (const i of inputs) p.string(1, i);
  for (const o of outputs) p.string(2, o);
  p.string(3, name).string(4, op);
  for (const a of attrs) p.msg(5, attribute(a));
  return p;
}

export function tensor(name: string, dims: number[], data: Float32Array): Pb {
  const p = new Pb();
  for (const d of dims) p.int(1, d);
  p.int(2, FLOAT).string(8, name);
  return p.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** An int64 initializer (shapes, axes, slice bounds). */
export function int64Tensor(name: string, dims: number[], data: readonly number[]): Pb {
  const p = new Pb();
  for (const d of dims) p.int(1, d);
  p.int(2, INT64).string(8, name);
  const raw = BigInt64Array.from(data, (v) => BigInt(v));
  return p.bytes(9, new Uint8Array(raw.buffer));
}

export function valueInfo(name: string, dims: (number | string)[], elemType: number = FLOAT): Pb {
  const shape = new Pb();
  for (const d of dims) shape.msg(1, typeof d === 'number' ? new Pb().int(1, d) : new Pb().string(2, d));
  const tensorType = new Pb().int(1, elemType).msg(2, shape);
  return new Pb().string(1, name).msg(2, new Pb().msg(1, tensorType));
}
