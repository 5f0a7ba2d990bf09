/**
 * The minimal WebAssembly binary writer (src/core/model/wasmAsm.ts) that makes our filter-gradient kernel's bytes:
 * LEB128 encodings against the spec's examples, a relaxed-SIMD opcode's prefix encoding, and modules that the
 * runtime validates and runs (a tiny kernel storing a splat multiply-add into an imported memory).
 *
 *   node --import tsx --test test/unit/wasm-asm.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, I32, V128, moduleBytes, sleb, uleb } from '../../src/core/model/wasmAsm.js';
import { tapModule } from '../../src/core/model/filterGradSimd.js';

test('LEB128: unsigned and signed encodings', () => {
  assert.deepEqual(uleb(0), [0]);
  assert.deepEqual(uleb(127), [0x7f]);
  assert.deepEqual(uleb(128), [0x80, 0x01]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(uleb(65536), [0x80, 0x80, 0x04]);
  assert.deepEqual(sleb(0), [0]);
  assert.deepEqual(sleb(-1), [0x7f]);
  assert.deepEqual(sleb(63), [0x3f]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(sleb(-64), [0x40]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
});

test('SIMD opcodes are the 0xfd prefix and a LEB128 opcode (relaxed_madd = 0x105)', () => {
  assert.deepEqual(new Code().f32x4RelaxedMadd().bytes, [0xfd, 0x85, 0x02]);
  assert.deepEqual(new Code().f32x4Mul().bytes, [0xfd, 0xe6, 0x01]);
  assert.deepEqual(new Code().v128Load(16).bytes, [0xfd, 0x00, 2, 16]);
});

test('a module writes, validates and runs: out[0..4] = splat(a[0]) · b[0..4] + out[0..4]', () => {
  // params: a, b, out (byte offsets); one v128 local
  const c = new Code();
  c.get(2).get(0).load32Splat().get(1).v128Load().f32x4Mul().get(2).v128Load().f32x4Add().v128Store();
  const bytes = moduleBytes({ name: 'f', params: 3, locals: [{ count: 1, type: V128 }, { count: 1, type: I32 }], body: c }, false);
  assert.ok(WebAssembly.validate(bytes));
  const memory = new WebAssembly.Memory({ initial: 1 });
  const f32 = new Float32Array(memory.buffer);
  f32.set([2], 0);
  f32.set([1, 2, 3, 4], 4);
  f32.set([10, 20, 30, 40], 8);
  const f = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports['f'] as (a: number, b: number, o: number) => void;
  f(0, 16, 32);
  assert.deepEqual([...f32.subarray(8, 12)], [12, 24, 36, 48]);
  // The filter-gradient kernel validates in plain SIMD, for a plain and a shared heap.
  assert.ok(WebAssembly.validate(tapModule(false, false)));
  assert.ok(WebAssembly.validate(tapModule(false, true)));
});

test('f32x4.max (0xe9) is the lane-wise max: out = max(a, b)', () => {
  assert.deepEqual(new Code().f32x4Max().bytes, [0xfd, 0xe9, 0x01]);
  const c = new Code();
  c.get(2).get(0).v128Load().get(1).v128Load().f32x4Max().v128Store();
  const memory = new WebAssembly.Memory({ initial: 1 });
  const f32 = new Float32Array(memory.buffer);
  f32.set([-1, 2, -3, 4, 0, 0, 0, 0]);
  const bytes = moduleBytes({ name: 'f', params: 3, locals: [], body: c }, false);
  const f = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports['f'] as (a: number, b: number, o: number) => void;
  f(0, 16, 32);
  assert.deepEqual([...f32.subarray(8, 12)], [0, 2, 0, 4]);
});
