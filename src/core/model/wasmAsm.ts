/**
 * A minimal WebAssembly binary writer: one module, one exported function of i32 parameters, a memory imported as
 * `env.memory`, and the handful of integer, control and SIMD128 instructions our kernels use
 * (WebAssembly core spec §5 "Binary Format"; SIMD opcodes from the fixed-width SIMD proposal, relaxed_madd from
 * the relaxed-SIMD proposal).
 *
 * Why a writer in TypeScript instead of a `.wat` file assembled at build time: the kernel's bytes are made where
 * they run (Node, the page's worker, any bundler) with no asset to ship, locate or fetch, no generated file and no
 * build tool; and the same code emits the relaxed-SIMD and the plain-SIMD variant, and any register-block size,
 * from parameters. The instruction helpers are named after the text format, so a kernel reads like its `.wat`.
 */

/** Value types (§5.3.1). */
export const I32 = 0x7f;
export const V128 = 0x7b;

/** Unsigned LEB128 (§5.2.2). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer (§5.2.2). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const utf8 = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

/** Instruction emitter; every method appends one instruction and returns `this`. */
export class Code {
  readonly bytes: number[] = [];
  private op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  private simd(opcode: number, ...rest: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...rest);
  }
  // control (§5.4.1); blocks take no parameters and give no results
  block(): this { return this.op(0x02, 0x40); }
  loop(): this { return this.op(0x03, 0x40); }
  end(): this { return this.op(0x0b); }
  br(depth: number): this { return this.op(0x0c, ...uleb(depth)); }
  brIf(depth: number): this { return this.op(0x0d, ...uleb(depth)); }
  // variables (§5.4.4)
  get(local: number): this { return this.op(0x20, ...uleb(local)); }
  set(local: number): this { return this.op(0x21, ...uleb(local)); }
  tee(local: number): this { return this.op(0x22, ...uleb(local)); }
  // i32 (§5.4.7)
  i32(value: number): this { return this.op(0x41, ...sleb(value)); }
  add(): this { return this.op(0x6a); }
  sub(): this { return this.op(0x6b); }
  mul(): this { return this.op(0x6c); }
  ltU(): this { return this.op(0x49); }
  shrU(): this { return this.op(0x76); }
  ne(): this { return this.op(0x47); }
  // SIMD128; memarg = alignment exponent (a hint) and a constant byte offset
  v128Load(offset = 0): this { return this.simd(0x00, 2, ...uleb(offset)); }
  v128Store(offset = 0): this { return this.simd(0x0b, 2, ...uleb(offset)); }
  load32Splat(offset = 0): this { return this.simd(0x09, 2, ...uleb(offset)); }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Sub(): this { return this.simd(0xe5); }
  /** An f32 from an i32's bits (§5.4.7): how a kernel of i32 parameters takes a float. */
  f32ReinterpretI32(): this { return this.op(0xbe); }
  f32x4Splat(): this { return this.simd(0x13); }
  f32x4Mul(): this { return this.simd(0xe6); }
  /** Lane-wise max (NaN if either lane is NaN; +0 above −0): the ReLU as max(x, 0). */
  f32x4Max(): this { return this.simd(0xe9); }
  /** Lane-wise a > b: all ones where true, zeros elsewhere (false for NaN). */
  f32x4Gt(): this { return this.simd(0x44); }
  /** Lane-wise a >= b: all ones where true (false for NaN). */
  f32x4Ge(): this { return this.simd(0x46); }
  v128And(): this { return this.simd(0x4e); }
  /** (a & c) | (b & ~c) for the stack a, b, c: a lane-wise select by the mask c. */
  v128Bitselect(): this { return this.simd(0x52); }
  i32x4Splat(): this { return this.simd(0x11); }
  /** Lane-wise i32 a == b: all ones where equal. */
  i32x4Eq(): this { return this.simd(0x37); }
  /** Lanes of two vectors by 32-bit lane index (0–3: the first, 4–7: the second), as i8x16.shuffle's 16 byte lanes. */
  shuffle32(lanes: [number, number, number, number]): this {
    return this.simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  }
  /** relaxed SIMD: a·b + c, fused or not as the hardware does it. */
  f32x4RelaxedMadd(): this { return this.simd(0x105); }
  /** `local += step` for an i32 local. */
  inc(local: number, step: number | { local: number }): this {
    this.get(local);
    if (typeof step === 'number') this.i32(step);
    else this.get(step.local);
    return this.add().set(local);
  }
}

export interface FuncSpec {
  /** Export name. */
  name: string;
  /** Number of i32 parameters (locals 0 … params − 1). */
  params: number;
  /** Extra locals by type, in order after the parameters. */
  locals: Array<{ count: number; type: number }>;
  body: Code;
}

/**
 * Module bytes: one function `(i32 × params) → ()` exported as `name`, importing `env.memory` (at least one
 * page; `shared` for a threaded Emscripten heap, whose maximum must then be declared: 65536 pages admits any).
 */
export function moduleBytes(fn: FuncSpec, sharedMemory: boolean): Uint8Array<ArrayBuffer> {
  const type = [0x60, ...uleb(fn.params), ...new Array<number>(fn.params).fill(I32), 0];
  const memType = sharedMemory ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  const body = [...vec(fn.locals.map((l) => [...uleb(l.count), l.type])), ...fn.body.bytes, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([type])),
    ...section(2, vec([[...utf8('env'), ...utf8('memory'), 0x02, ...memType]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...utf8(fn.name), 0x00, 0]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

/**
 * The loop nest of our kernels over channels-last data: for each of `m` rows (an i32 local, counted down to 0), for
 * each 16-byte block of channels k = 0, 16, … < cBytes (locals), `block()`; after each block the pointer locals in
 * `step` (each walking its data row after row) and k advance 16 bytes.
 */
export function forRowBlocks(c: Code, l: { m: number; k: number; cBytes: number }, step: readonly number[], block: () => void): Code {
  c.loop(); // rows
  c.i32(0).set(l.k);
  c.loop(); // channel blocks
  block();
  for (const p of step) c.inc(p, 16);
  c.inc(l.k, 16);
  c.get(l.k).get(l.cBytes).ltU().brIf(0).end();
  return c.get(l.m).i32(1).sub().tee(l.m).i32(0).ne().brIf(0).end();
}

/** Whether `m` is a shared memory (tfjs's threaded build): our module's import must then be declared shared. */
export const isShared = (m: WebAssembly.Memory) => typeof SharedArrayBuffer !== 'undefined' && m.buffer instanceof SharedArrayBuffer;

/**
 * Our kernels' functions bound to a tfjs heap, built once per (memory, kind): `build(shared)` gives the module bytes
 * and the export to take from each; null where the runtime rejects a module (no SIMD) or the heap does not match
 * our import, so the caller runs the tfjs ops instead. One cache per kernel file.
 */
export function kernelCache<K, F>(build: (kind: K, sharedMemory: boolean) => Array<{ bytes: Uint8Array<ArrayBuffer>; name: string }>, bind: (exports: unknown[]) => F): (memory: WebAssembly.Memory, kind: K) => F | null {
  const byMemory = new WeakMap<WebAssembly.Memory, Map<K, F | null>>();
  return (memory, kind) => {
    let byKind = byMemory.get(memory);
    if (!byKind) byMemory.set(memory, (byKind = new Map()));
    if (!byKind.has(kind)) {
      let fn: F | null = null;
      try {
        const modules = build(kind, isShared(memory));
        if (modules.every((m) => WebAssembly.validate(m.bytes))) fn = bind(modules.map((m) => new WebAssembly.Instance(new WebAssembly.Module(m.bytes), { env: { memory } }).exports[m.name]));
      } catch {
        // No SIMD, or a heap our import does not match: null, and the tfjs ops run instead.
      }
      byKind.set(kind, fn);
    }
    return byKind.get(kind)!;
  };
}
