/**
 * A small, allow-listed Python pickle VM for `paddle.save` files (docs/contract.md §3). It understands protocols 2–5
 * well enough to rebuild a dict of numpy arrays, and nothing more: every global a pickle names is checked against a
 * short list (numpy's `_reconstruct`/`ndarray`/`dtype`/`scalar`, `_codecs.encode`, `collections.OrderedDict`, `builtins.tuple`)
 * and anything else is refused by name as soon as it is named. Nothing is ever executed: the "calls" of the allowed
 * globals are interpreted here and only build plain data. Every length is checked against the bytes that remain
 * before anything is allocated, and the stack, mark and memo sizes are bounded, so a hostile or truncated file ends
 * in a `PPTSNError('model-invalid')` instead of a crash or a huge allocation. The values it builds are in
 * pyValues.ts, the allowed globals and their interpretation in pickleGlobals.ts.
 */
import { PPTSNError } from '../errors.js';
import { buildState, callGlobal, resolveGlobal, type Fail } from './pickleGlobals.js';
import { describe, PyDict, PyGlobal, PyList, PyTuple, type PyValue } from './pyValues.js';

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
  private readonly failHere: Fail = (message) => this.fail(message);

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
          this.push(resolveGlobal(module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
          this.push(resolveGlobal(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop();
          const fn = this.pop();
          this.push(callGlobal(fn, args, 'REDUCE', this.failHere, this.encoded));
          break;
        }
        case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
          const args = this.pop();
          const cls = this.pop();
          if (!(cls instanceof PyGlobal) || cls.role !== 'OrderedDict') this.fail(`NEWOBJ of ${describe(cls)} is not supported`);
          this.push(callGlobal(cls, args, 'NEWOBJ', this.failHere, this.encoded));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!(cls instanceof PyGlobal) || cls.role !== 'OrderedDict' || !(kwargs instanceof PyDict) || kwargs.map.size) this.fail(`NEWOBJ_EX of ${describe(cls)} is not supported`);
          this.push(callGlobal(cls, args, 'NEWOBJ_EX', this.failHere, this.encoded));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          buildState(this.top(), state, this.failHere, PICKLE_LIMITS.maxRank);
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
              resolveGlobal(module, name);
            }
            throw new PPTSNError('model-invalid', `refused pickle opcode ${refused} at byte ${this.at}: weight files never need it`);
          }
          this.fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
        }
      }
    }
  }
}
