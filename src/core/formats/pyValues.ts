/**
 * The Python values a `paddle.save` pickle rebuilds (src/core/formats/pickle.ts): tuples, lists, dicts, numpy arrays,
 * dtypes and the allow-listed globals, as plain data; plus the helpers that describe them in messages and the numpy
 * details (dtype strings, shapes, scalars) the weight readers share. Nothing here runs anything.
 */
import { PPTSNError } from '../errors.js';
import { float16BitsToFloat32 } from './float16.js';

/** A Python tuple (immutable; kept apart from lists because numpy's state is a tuple). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
/** A Python list. */
export class PyList {
  constructor(readonly items: PyValue[] = []) {}
}
/** A Python dict or `collections.OrderedDict`; insertion order is kept, as Python does. */
export class PyDict {
  readonly map = new Map<DictKey, PyValue>();
  constructor(readonly ordered = false) {}
}
/** One of the allow-listed globals, resolved to what it stands for. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly role: GlobalRole,
  ) {}
}
/** `numpy.dtype`: kind letter (`f`, `i`, `u`, `b`, …), item size in bytes and byte order. */
export class PyDtype {
  constructor(
    readonly kind: string,
    readonly itemsize: number,
    public littleEndian: boolean,
    /** The string it was made from, e.g. `f4`, for messages. */
    readonly str: string,
  ) {}
}
/** A numpy array as `_reconstruct` + BUILD leave it: shape, dtype, order flag and the raw bytes (a view). */
export class PyNdArray {
  shape: number[] | null = null;
  dtype: PyDtype | null = null;
  fortran = false;
  data: Uint8Array | null = null;
}

export type DictKey = string | number | bigint | boolean | null;
export type PyValue = DictKey | Uint8Array | PyTuple | PyList | PyDict | PyGlobal | PyDtype | PyNdArray;
/** What an allow-listed global stands for (src/core/formats/pickleGlobals.ts). */
export type GlobalRole = 'reconstruct' | 'ndarray' | 'dtype' | 'scalar' | 'encode' | 'OrderedDict' | 'tuple';

/** Escapes control and non-ASCII characters of file-supplied text for messages. */
export function printable(s: string): string {
  return s.replace(/[^\x20-\x7e…]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The Python type of a value for messages (never a JS class name: bundles minify those). */
export function describe(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'number' || typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyList) return 'list';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PyGlobal) return `${v.module}.${v.name}`;
  if (v instanceof PyDtype) return 'numpy.dtype';
  return 'numpy.ndarray';
}

/** Parses a numpy dtype string such as `f4`, `<f4`, `>f2`, `f8`, `b1`. */
export function parseDtype(str: string): PyDtype {
  const m = /^([<>=|]?)([a-zA-Z?])(\d{0,2})$/.exec(str);
  if (!m) throw new PPTSNError('model-invalid', `unsupported numpy dtype '${str.slice(0, 40)}'`);
  // numpy: '?' and 'b1' are bool, a bare 'b' is int8.
  const kind = m[2] === '?' ? 'b' : m[2] === 'b' && !m[3] ? 'i' : m[2]!;
  const itemsize = m[3] ? Number(m[3]) : m[2] === '?' || m[2] === 'b' ? 1 : 0;
  if (!'fiub'.includes(kind) || ![1, 2, 4, 8].includes(itemsize)) throw new PPTSNError('model-invalid', `unsupported numpy dtype '${str}'`);
  return new PyDtype(kind, itemsize, m[1] !== '>', str);
}

/** Product of a shape, refusing anything that is not a small non-negative integer or that overflows 2^53. */
export function shapeSize(shape: readonly number[], what: string): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new PPTSNError('model-invalid', `${what}: bad dimension ${String(d)} in shape [${shape.join(', ')}]`);
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) throw new PPTSNError('model-invalid', `${what}: shape [${shape.join(', ')}] is too large`);
  }
  return n;
}

/** A numpy scalar's value from its dtype and raw bytes (int64 beyond 2^53 stays a bigint). */
export function scalarValue(dt: PyDtype, raw: Uint8Array): number | boolean | bigint {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = dt.littleEndian;
  switch (dt.kind + dt.itemsize) {
    case 'f2': return float16BitsToFloat32(v.getUint16(0, le));
    case 'f4': return v.getFloat32(0, le);
    case 'f8': return v.getFloat64(0, le);
    case 'i1': return v.getInt8(0);
    case 'u1': return v.getUint8(0);
    case 'b1': return v.getUint8(0) !== 0;
    case 'i2': return v.getInt16(0, le);
    case 'u2': return v.getUint16(0, le);
    case 'i4': return v.getInt32(0, le);
    case 'u4': return v.getUint32(0, le);
    case 'i8': { const x = v.getBigInt64(0, le); return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x; }
    case 'u8': { const x = v.getBigUint64(0, le); return x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x; }
    default: throw new PPTSNError('model-invalid', `unsupported numpy scalar dtype ${dt.str}`);
  }
}
