/**
 * A small, allow-listed Python pickle VM for `paddle.save` files (docs/contract.md §3). It understands protocols 2–5
 * well enough to rebuild a dict of numpy arrays, and nothing more: every global a pickle names is checked against a
 * short list (numpy's `_reconstruct`/`ndarray`/`dtype`/`scalar`, `_codecs.encode`, `collections.OrderedDict`) and
 * anything else is refused by name as soon as it is named. Nothing is ever executed: the "calls" of the allowed
 * globals are interpreted here and only build plain data. Every length is checked against the bytes that remain
 * before anything is allocated, and the stack, mark and memo sizes are bounded, so a hostile or truncated file ends
 * in a `PPTSNError('model-invalid')` instead of a crash or a huge allocation.
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
type GlobalRole = 'reconstruct' | 'ndarray' | 'dtype' | 'scalar' | 'encode' | 'OrderedDict';

/**
 * The only globals a weight file may name (docs/contract.md §3). Module paths of numpy 1 (`numpy.core`) and 2
 * (`numpy._core`).
 */
const ALLOWED_GLOBALS: Record<string, GlobalRole> = {
  'numpy.core.multiarray._reconstruct': 'reconstruct',
  'numpy._core.multiarray._reconstruct': 'reconstruct',
  'numpy.ndarray': 'ndarray',
  'numpy.dtype': 'dtype',
  'numpy.core.multiarray.scalar': 'scalar',
  'numpy._core.multiarray.scalar': 'scalar',
  '_codecs.encode': 'encode',
  'collections.OrderedDict': 'OrderedDict',
};

/** Bounds that no real weight file comes near (a depth-200 model has ~1,500 arrays). */
export const PICKLE_LIMITS = {
  /** Items on the stack, all marks included. */
  maxStack: 1 << 20,
  /** Nested MARKs. */
  maxMarks: 1 << 12,
  /** Memo entries. */
  maxMemo: 1 << 20,
  /** Bytes of one LONG1/LONG4 integer. */
  maxLongBytes: 64,
  /** Array rank. */
  maxRank: 32,
};

/** Opcodes that would run code or need outside state: refused by name. */
const REFUSED_OPCODES: Record<number, string> = {
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Escapes control and non-ASCII characters of file-supplied text for messages. */
export function printable(s: string): string {
  return s.replace(/[^\x20-\x7e…]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function describe(v: PyValue | undefined): string {
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

/**
 * Runs a pickle and returns the object it builds. Refuses (with `PPTSNError('model-invalid')`) any global outside
 * the allow-list, any opcode that would execute code, and any malformed or truncated input.
 */
export function unpickle(bytes: Uint8Array): PyValue {
  return new Unpickler(bytes).run();
}

class Unpickler {
  private pos = 0;
  private readonly stack: PyValue[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();
  private readonly view: DataView;
  /** _codecs.encode results by text: a memoised string encoded many times must not be copied many times. */
  private readonly encoded = new Map<string, Uint8Array>();
  /** Where the current opcode started, for messages. */
  private at = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(message: string): never {
    throw new PPTSNError('model-invalid', `malformed pickle at byte ${this.at}: ${message}`);
  }

  private need(n: number | bigint, what: string): number {
    const left = this.bytes.length - this.pos;
    if (typeof n === 'bigint' ? n > BigInt(left) : n > left) {
      this.fail(`${what} declares ${String(n)} bytes but only ${left} remain (file truncated or corrupt)`);
    }
    if (typeof n === 'number' && n < 0) this.fail(`${what} has a negative length ${n}`);
    return Number(n);
  }

  private u8(): number {
    this.need(1, 'opcode argument');
    return this.bytes[this.pos++]!;
  }
  /** Reads a little-endian fixed-size opcode argument of `n` bytes with `get` (a DataView getter at an offset). */
  private fixed<T>(n: number, get: (at: number) => T): T {
    this.need(n, 'opcode argument');
    const v = get(this.pos);
    this.pos += n;
    return v;
  }
  private u16(): number {
    return this.fixed(2, (at) => this.view.getUint16(at, true));
  }
  private u32(): number {
    return this.fixed(4, (at) => this.view.getUint32(at, true));
  }
  private i32(): number {
    return this.fixed(4, (at) => this.view.getInt32(at, true));
  }
  private u64(): bigint {
    return this.fixed(8, (at) => this.view.getBigUint64(at, true));
  }
  private take(n: number | bigint, what: string): Uint8Array {
    const len = this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  private str(n: number | bigint, what: string): string {
    const b = this.take(n, what);
    try {
      return utf8.decode(b);
    } catch {
      this.fail(`${what} is not valid UTF-8`);
    }
  }
  private latin1(b: Uint8Array): string {
    let s = '';
    for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
    return s;
  }
  /** Newline-terminated text argument (GLOBAL), bounded so a missing newline cannot scan far. */
  private line(): string {
    const rel = this.bytes.subarray(this.pos, this.pos + 257).indexOf(0x0a);
    if (rel < 0) this.fail('unterminated text argument');
    const end = this.pos + rel;
    const s = this.latin1(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  private push(v: PyValue): void {
    if (this.stack.length >= PICKLE_LIMITS.maxStack) this.fail(`stack deeper than ${PICKLE_LIMITS.maxStack}`);
    this.stack.push(v);
  }
  private pop(): PyValue {
    const base = this.marks.length ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= base) this.fail('stack underflow');
    return this.stack.pop()!;
  }
  private top(): PyValue {
    const base = this.marks.length ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= base) this.fail('stack underflow');
    return this.stack[this.stack.length - 1]!;
  }
  private popMark(): PyValue[] {
    const m = this.marks.pop();
    if (m === undefined) this.fail('no MARK on the stack');
    return this.stack.splice(m);
  }
  private memoPut(i: number): void {
    if (!this.memo.has(i) && this.memo.size >= PICKLE_LIMITS.maxMemo) this.fail(`more than ${PICKLE_LIMITS.maxMemo} memo entries`);
    this.memo.set(i, this.top());
  }
  private memoGet(i: number): void {
    const v = this.memo.get(i);
    if (v === undefined && !this.memo.has(i)) this.fail(`memo entry ${i} does not exist`);
    this.push(v as PyValue);
  }

  private global(module: string, name: string): PyGlobal {
    const full = `${module}.${name}`;
    const role = ALLOWED_GLOBALS[full];
    if (!role) {
      // Names come from the file: shown escaped and cut, so a hostile name cannot garble a log or a UI.
      const shown = printable(full.length > 120 ? `${full.slice(0, 120)}…` : full);
      throw new PPTSNError(
        'model-invalid',
        `refused pickle global ${shown}: a weight file may only reference numpy arrays, numpy dtypes/scalars, _codecs.encode and collections.OrderedDict; nothing in it is executed`,
      );
    }
    return new PyGlobal(module, name, role);
  }

  private int(b: Uint8Array): number | bigint {
    if (b.length === 0) return 0;
    if (b.length > PICKLE_LIMITS.maxLongBytes) this.fail(`integer of ${b.length} bytes is too large`);
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private setItems(dict: PyValue, items: PyValue[]): void {
    if (!(dict instanceof PyDict)) this.fail(`SETITEM(S) on a ${describe(dict)}`);
    if (items.length % 2) this.fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i]!;
      if (k !== null && typeof k === 'object') this.fail(`dict key of type ${describe(k)} is not supported`);
      dict.map.set(k, items[i + 1]!);
    }
  }

  private call(fn: PyValue, args: PyValue, how: string): PyValue {
    if (!(fn instanceof PyGlobal)) this.fail(`${how} of a ${describe(fn)}, not a callable`);
    if (!(args instanceof PyTuple)) this.fail(`${how} arguments are a ${describe(args)}, not a tuple`);
    const a = args.items;
    switch (fn.role) {
      case 'reconstruct': {
        // numpy's ndarray.__reduce__: _reconstruct(ndarray, (0,), b'b'); the real content arrives with BUILD.
        if (!(a[0] instanceof PyGlobal) || a[0].role !== 'ndarray') this.fail('_reconstruct of something other than numpy.ndarray');
        return new PyNdArray();
      }
      case 'dtype': {
        if (typeof a[0] !== 'string') this.fail('numpy.dtype needs a type string');
        return parseDtype(a[0]);
      }
      case 'encode': {
        // Protocol 2 stores bytes as _codecs.encode(latin1_text, 'latin1').
        const [text, enc] = a;
        if (typeof text !== 'string') this.fail('_codecs.encode of a non-string');
        const e = typeof enc === 'string' ? enc.toLowerCase().replace(/_/g, '-') : 'utf-8';
        // Only latin-1: it is what numpy's protocol-2 pickles use, and one encoding keeps the cache key the text.
        if (e === 'latin1' || e === 'latin-1' || e === 'iso-8859-1') {
          const cached = this.encoded.get(text);
          if (cached) return cached;
          const out = new Uint8Array(text.length);
          for (let i = 0; i < text.length; i++) {
            const c = text.charCodeAt(i);
            if (c > 0xff) this.fail('_codecs.encode: text is not latin-1');
            out[i] = c;
          }
          this.encoded.set(text, out);
          return out;
        }
        this.fail(`_codecs.encode with unsupported encoding '${String(enc).slice(0, 40)}'`);
      }
      case 'scalar': {
        // numpy scalars: scalar(dtype, raw_bytes) → a plain number.
        const [dt, raw] = a;
        if (!(dt instanceof PyDtype) || !(raw instanceof Uint8Array) || raw.length !== dt.itemsize) this.fail('malformed numpy scalar');
        return scalarValue(dt, raw);
      }
      case 'OrderedDict': {
        if (a.length !== 0) this.fail('OrderedDict with constructor arguments is not supported');
        return new PyDict(true);
      }
      case 'ndarray':
        this.fail(`${how} of numpy.ndarray directly is not supported`);
    }
  }

  private build(obj: PyValue, state: PyValue): void {
    if (obj instanceof PyNdArray) {
      if (!(state instanceof PyTuple)) this.fail(`numpy array state is a ${describe(state)}`);
      // ndarray.__setstate__ accepts (version, shape, dtype, is_fortran, data) or the older 4-tuple.
      const s = state.items.length === 5 ? state.items.slice(1) : state.items.length === 4 ? state.items : null;
      if (!s) this.fail(`numpy array state has ${state.items.length} items`);
      const [shape, dtype, fortran, raw] = s as [PyValue, PyValue, PyValue, PyValue];
      if (!(shape instanceof PyTuple) || shape.items.length > PICKLE_LIMITS.maxRank) this.fail('numpy array shape is not a tuple of rank ≤ 32');
      const dims = shape.items.map((d) => (typeof d === 'number' ? d : -1));
      if (!(dtype instanceof PyDtype)) this.fail(`numpy array dtype is a ${describe(dtype)}`);
      let data: Uint8Array;
      if (raw instanceof Uint8Array) data = raw;
      else if (typeof raw === 'string') {
        // Python 2 pickles store the buffer as a (latin-1) str.
        data = new Uint8Array(raw.length);
        for (let i = 0; i < raw.length; i++) data[i] = raw.charCodeAt(i) & 0xff;
      } else this.fail(`numpy array data is a ${describe(raw)} (object arrays are not weights)`);
      const n = shapeSize(dims, 'numpy array');
      if (n * dtype.itemsize !== data.length) {
        this.fail(`numpy array of shape [${dims.join(', ')}] and dtype ${dtype.str} needs ${n * dtype.itemsize} bytes, found ${data.length}`);
      }
      obj.shape = dims;
      obj.dtype = dtype;
      obj.fortran = fortran === true || fortran === 1;
      obj.data = data;
      return;
    }
    if (obj instanceof PyDtype) {
      // dtype.__setstate__: (version, endian, subdescr, names, fields, elsize, alignment, flags).
      if (!(state instanceof PyTuple) || state.items.length < 2) this.fail('malformed numpy dtype state');
      const endian = state.items[1];
      if (endian === '>') obj.littleEndian = obj.itemsize === 1;
      else if (endian === '<' || endian === '|' || endian === '=') obj.littleEndian = true;
      else this.fail('malformed numpy dtype byte order');
      if (state.items[2] !== null && state.items[2] !== undefined) this.fail('structured numpy dtypes are not supported');
      return;
    }
    this.fail(`BUILD on a ${describe(obj)} is not supported`);
  }

  run(): PyValue {
    const b = this.bytes;
    for (;;) {
      this.at = this.pos;
      if (this.pos >= b.length) this.fail('pickle ends without STOP (file truncated)');
      const op = b[this.pos++]!;
      switch (op) {
        case 0x80: { // PROTO
          const p = this.u8();
          if (p > 5) this.fail(`unsupported pickle protocol ${p}`);
          break;
        }
        case 0x95: // FRAME: framing is only a read-ahead hint; its size must still fit the file.
          this.need(this.u64(), 'FRAME');
          break;
        case 0x2e: // STOP
          return this.pop();
        case 0x28: // MARK
          if (this.marks.length >= PICKLE_LIMITS.maxMarks) this.fail(`more than ${PICKLE_LIMITS.maxMarks} nested MARKs`);
          this.marks.push(this.stack.length);
          break;
        case 0x30: this.pop(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.push(this.top()); break; // DUP
        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4a: this.push(this.i32()); break; // BININT
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.u16()); break; // BININT2
        case 0x8a: this.push(this.int(this.take(this.u8(), 'LONG1'))); break; // LONG1
        case 0x8b: { // LONG4
          const n = this.i32();
          if (n > PICKLE_LIMITS.maxLongBytes) this.fail(`integer of ${n} bytes is too large`);
          this.push(this.int(this.take(n, 'LONG4')));
          break;
        }
        case 0x47: { // BINFLOAT (big-endian double)
          this.need(8, 'BINFLOAT');
          this.push(this.view.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        }
        case 0x58: this.push(this.str(this.u32(), 'BINUNICODE')); break;
        case 0x8c: this.push(this.str(this.u8(), 'SHORT_BINUNICODE')); break;
        case 0x8d: this.push(this.str(this.u64(), 'BINUNICODE8')); break;
        case 0x54: this.push(this.latin1(this.take(this.i32(), 'BINSTRING'))); break;
        case 0x55: this.push(this.latin1(this.take(this.u8(), 'SHORT_BINSTRING'))); break;
        case 0x42: this.push(this.take(this.u32(), 'BINBYTES')); break;
        case 0x43: this.push(this.take(this.u8(), 'SHORT_BINBYTES')); break;
        case 0x8e: this.push(this.take(this.u64(), 'BINBYTES8')); break;
        case 0x96: this.push(this.take(this.u64(), 'BYTEARRAY8').slice()); break;
        case 0x29: this.push(new PyTuple([])); break; // EMPTY_TUPLE
        case 0x74: this.push(new PyTuple(this.popMark())); break; // TUPLE
        case 0x85: this.push(new PyTuple([this.pop()])); break; // TUPLE1
        case 0x86: { // TUPLE2
          const y = this.pop();
          const x = this.pop();
          this.push(new PyTuple([x, y]));
          break;
        }
        case 0x87: { // TUPLE3
          const z = this.pop();
          const y = this.pop();
          const x = this.pop();
          this.push(new PyTuple([x, y, z]));
          break;
        }
        case 0x5d: this.push(new PyList()); break; // EMPTY_LIST
        case 0x6c: this.push(new PyList(this.popMark())); break; // LIST
        case 0x61: { // APPEND
          const v = this.pop();
          const l = this.top();
          if (!(l instanceof PyList)) this.fail(`APPEND to a ${describe(l)}`);
          l.items.push(v);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          const l = this.top();
          if (!(l instanceof PyList)) this.fail(`APPENDS to a ${describe(l)}`);
          for (const v of items) l.items.push(v);
          break;
        }
        case 0x7d: this.push(new PyDict()); break; // EMPTY_DICT
        case 0x64: { // DICT
          const d = new PyDict();
          this.setItems(d, this.popMark());
          this.push(d);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x63: { // GLOBAL "module\nname\n"
          const module = this.line();
          const name = this.line();
          this.push(this.global(module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
          this.push(this.global(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop();
          const fn = this.pop();
          this.push(this.call(fn, args, 'REDUCE'));
          break;
        }
        case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
          const args = this.pop();
          const cls = this.pop();
          if (!(cls instanceof PyGlobal) || cls.role !== 'OrderedDict') this.fail(`NEWOBJ of ${describe(cls)} is not supported`);
          this.push(this.call(cls, args, 'NEWOBJ'));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!(cls instanceof PyGlobal) || cls.role !== 'OrderedDict' || !(kwargs instanceof PyDict) || kwargs.map.size) this.fail(`NEWOBJ_EX of ${describe(cls)} is not supported`);
          this.push(this.call(cls, args, 'NEWOBJ_EX'));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x71: this.memoPut(this.u8()); break; // BINPUT
        case 0x72: this.memoPut(this.u32()); break; // LONG_BINPUT
        case 0x94: this.memoPut(this.memo.size); break; // MEMOIZE
        case 0x68: this.memoGet(this.u8()); break; // BINGET
        case 0x6a: this.memoGet(this.u32()); break; // LONG_BINGET
        case 0x70: { // PUT (text index)
          const n = Number(this.line());
          if (!Number.isSafeInteger(n) || n < 0) this.fail('bad PUT index');
          this.memoPut(n);
          break;
        }
        case 0x67: { // GET (text index)
          const n = Number(this.line());
          if (!Number.isSafeInteger(n) || n < 0) this.fail('bad GET index');
          this.memoGet(n);
          break;
        }
        default: {
          const refused = REFUSED_OPCODES[op];
          if (refused) {
            if (op === 0x69) {
              // INST names a class to call: report it by name like GLOBAL does.
              const module = this.line();
              const name = this.line();
              this.global(module, name);
            }
            throw new PPTSNError('model-invalid', `refused pickle opcode ${refused} at byte ${this.at}: weight files never need it`);
          }
          this.fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
        }
      }
    }
  }
}

function scalarValue(dt: PyDtype, raw: Uint8Array): number | boolean | bigint {
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
