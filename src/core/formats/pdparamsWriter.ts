/**
 * Writes `.pdparams` files PaddleVideo can load with `paddle.load` (and plain Python with `pickle.load` + numpy):
 * a protocol-4 pickle of `{structured_key: numpy.ndarray}` plus the `StructuredToParameterName@@` table.
 * Arrays use `numpy.core.multiarray._reconstruct`, the path numpy 1 writes and numpy 2 still resolves, so the
 * file loads under both.
 */
import { PPTSNError } from '../errors.js';
import { archSpec, paramSpecs } from '../model/arch.js';
import type { StateDict } from '../stateDict.js';
import { NAME_TABLE_KEY } from './pdparams.js';
import { shapeSize } from './pyValues.js';
import { hostLittleEndian } from './tensor.js';
import { checkStateDict, type ShapedData } from './validate.js';

const utf8 = new TextEncoder();

/** Appends pickle opcodes to a list of chunks; array data is referenced, not copied, until the final join. */
class PickleWriter {
  private readonly chunks: Uint8Array[] = [];
  private small: number[] = [];
  private memoCount = 0;
  length = 0;

  private flush(): void {
    if (this.small.length) {
      this.chunks.push(Uint8Array.from(this.small));
      this.small = [];
    }
  }
  op(...bytes: number[]): void {
    for (const b of bytes) this.small.push(b);
    this.length += bytes.length;
  }
  u32(v: number): void {
    this.op(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  raw(b: Uint8Array): void {
    this.flush();
    this.chunks.push(b);
    this.length += b.length;
  }
  str(s: string): void {
    const b = utf8.encode(s);
    if (b.length < 256) this.op(0x8c, b.length); // SHORT_BINUNICODE
    else {
      this.op(0x58); // BINUNICODE
      this.u32(b.length);
    }
    this.raw(b);
  }
  int(v: number): void {
    if (v >= 0 && v < 256) this.op(0x4b, v); // BININT1
    else if (v >= 0 && v < 65536) this.op(0x4d, v & 0xff, v >>> 8); // BININT2
    else if (v >= -(2 ** 31) && v < 2 ** 31) {
      this.op(0x4a); // BININT
      this.u32(v >>> 0);
    } else throw new PPTSNError('internal', `integer ${v} does not fit BININT`);
  }
  bytes(b: Uint8Array): void {
    if (b.length < 256) this.op(0x43, b.length); // SHORT_BINBYTES
    else {
      this.op(0x42); // BINBYTES
      this.u32(b.length);
    }
    this.raw(b);
  }
  /** MEMOIZE the top of the stack; returns its memo index. */
  memoize(): number {
    this.op(0x94);
    return this.memoCount++;
  }
  get(i: number): void {
    if (i < 256) this.op(0x68, i); // BINGET
    else {
      this.op(0x6a); // LONG_BINGET
      this.u32(i);
    }
  }
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

function littleEndianBytes(data: Float32Array): Uint8Array {
  if (hostLittleEndian) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i]!, true);
  return out;
}

/**
 * Writes tensors as a `.pdparams` pickle (protocol 4) in the map's order, with an optional structured → internal
 * name table. No architecture check: this is the low-level writer (partial state dicts, tools).
 */
export function writePdparamsRaw(tensors: ReadonlyMap<string, ShapedData>, parameterNames?: ReadonlyMap<string, string>): Uint8Array {
  const w = new PickleWriter();
  w.op(0x80, 4); // PROTO 4
  w.op(0x7d); // EMPTY_DICT
  w.memoize();
  let reconstruct = -1;
  let ndarray = -1;
  let dtype = -1;
  let pending = 0;
  // Python's pickler batches SETITEMS by 1000 pairs; doing the same keeps the stack small for the reader.
  const beginBatch = (): void => w.op(0x28); // MARK
  const endBatch = (): void => w.op(0x75); // SETITEMS
  beginBatch();
  for (const [key, t] of tensors) {
    const n = shapeSize(t.shape, key);
    if (n !== t.data.length) throw new PPTSNError('invalid-argument', `${key}: shape [${t.shape.join(', ')}] needs ${n} values, has ${t.data.length}`);
    if (pending === 1000) {
      endBatch();
      beginBatch();
      pending = 0;
    }
    w.str(key);
    w.memoize();
    // _reconstruct(ndarray, (0,), b'b'), as numpy's ndarray.__reduce__ writes it.
    if (reconstruct < 0) {
      w.str('numpy.core.multiarray');
      w.memoize();
      w.str('_reconstruct');
      w.memoize();
      w.op(0x93); // STACK_GLOBAL
      reconstruct = w.memoize();
      w.str('numpy');
      w.memoize();
      w.str('ndarray');
      w.memoize();
      w.op(0x93);
      ndarray = w.memoize();
    } else {
      w.get(reconstruct);
      w.get(ndarray);
    }
    w.int(0);
    w.op(0x85); // TUPLE1
    w.bytes(utf8.encode('b'));
    w.op(0x87, 0x52); // TUPLE3, REDUCE
    w.memoize();
    // BUILD state (1, shape, dtype('<f4'), False, raw_bytes).
    w.op(0x28); // MARK
    w.int(1);
    w.op(0x28);
    for (const d of t.shape) w.int(d);
    w.op(0x74); // TUPLE
    if (dtype < 0) {
      w.str('numpy');
      w.memoize();
      w.str('dtype');
      w.memoize();
      w.op(0x93);
      w.memoize();
      w.str('f4');
      w.memoize();
      w.op(0x89, 0x88, 0x87, 0x52); // False, True, TUPLE3, REDUCE
      dtype = w.memoize();
      w.op(0x28); // MARK
      w.int(3);
      w.str('<');
      w.op(0x4e, 0x4e, 0x4e); // None × 3
      w.int(-1);
      w.int(-1);
      w.int(0);
      w.op(0x74, 0x62); // TUPLE, BUILD
    } else w.get(dtype);
    w.op(0x89); // is_fortran False
    w.bytes(littleEndianBytes(t.data));
    w.op(0x74, 0x62); // TUPLE, BUILD
    pending++;
  }
  if (parameterNames) {
    if (pending === 1000) {
      endBatch();
      beginBatch();
    }
    w.str(NAME_TABLE_KEY);
    w.op(0x7d); // EMPTY_DICT
    let inTable = 0;
    w.op(0x28);
    for (const [k, v] of parameterNames) {
      if (inTable === 1000) {
        w.op(0x75, 0x28);
        inTable = 0;
      }
      w.str(k);
      w.str(v);
      inTable++;
    }
    w.op(0x75);
  }
  endBatch();
  w.op(0x2e); // STOP
  return w.finish();
}

/**
 * Writes a complete PP-TSN state dict as a `.pdparams` file: checks it against the architecture, writes the
 * parameters in PaddleVideo's order under structured names and adds the `StructuredToParameterName@@` table.
 */
export function writePdparams(stateDict: StateDict): Uint8Array {
  const { stateDict: checked, depth, numClasses } = checkStateDict(stateDict, 'state dict');
  const names = new Map(paramSpecs(archSpec(depth, numClasses)).map((p) => [p.key, p.internal]));
  return writePdparamsRaw(checked, names);
}
