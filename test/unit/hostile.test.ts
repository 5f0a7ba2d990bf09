/**
 * Hostile weight files: code-execution attempts must be refused by the global's name, declared sizes beyond the
 * file must fail before allocating, truncation at any offset and deep nesting must end in PPTSNError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readPdparamsRaw } from '../../src/core/formats/pdparams.js';
import { readPdiparamsTensors } from '../../src/core/formats/pdiparams.js';
import { loadWeightFile } from '../../src/core/formats/load.js';
import { unpickle, PICKLE_LIMITS } from '../../src/core/formats/pickle.js';
import { isPPTSNError } from '../../src/core/errors.js';

const HOSTILE = new URL('../fixtures/hostile/', import.meta.url);
const FIX = new URL('../fixtures/formats/', import.meta.url);
const read = (name: string, dir = HOSTILE): Uint8Array => new Uint8Array(readFileSync(new URL(name, dir)));

function invalid(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isPPTSNError(e), `not a PPTSNError: ${String(e)}`);
    assert.equal(e.code, 'model-invalid');
    assert.match(e.message, re);
    return true;
  });
}

test('code-execution globals are refused by name, wherever they appear', async () => {
  const cases: [string, RegExp][] = [
    ['os_system_p2.pdparams', /refused pickle global os\.system/],
    ['posix_system_p2.pdparams', /refused pickle global posix\.system/],
    ['builtins_eval_p4.pdparams', /refused pickle global builtins\.eval/],
    ['subprocess_popen_p4.pdparams', /refused pickle global subprocess\.Popen/],
    ['inst_os_system_p2.pdparams', /refused pickle global os\.system/],
    ['late_global_p4.pdparams', /refused pickle global builtins\.print/],
    ['persid_p2.pdparams', /refused pickle opcode BINPERSID/],
  ];
  for (const [file, re] of cases) {
    invalid(() => readPdparamsRaw(read(file)), re);
    await assert.rejects(loadWeightFile(read(file), { fileName: file }), re);
  }
});

test('declared sizes beyond the file fail fast, without allocating them', () => {
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  invalid(() => readPdparamsRaw(read('huge_binbytes8_p4.pdparams')), /BINBYTES8 declares 1152921504606846976 bytes but only \d+ remain/);
  invalid(() => readPdparamsRaw(read('huge_binunicode_p2.pdparams')), /BINUNICODE declares 4294967280 bytes/);
  invalid(() => readPdparamsRaw(read('huge_long4_p2.pdparams')), /too large/);
  invalid(() => readPdiparamsTensors(read('huge_dims.pdiparams')), /data of shape \[1048576, 1048576\] \(float32\) needs 4398046511104 bytes but only 16 remain/);
  invalid(() => readPdiparamsTensors(read('huge_lod.pdiparams')), /LoD data needs 4611686018427387904 bytes/);
  invalid(() => readPdiparamsTensors(read('negative_dim.pdiparams')), /bad tensor dimension -1/);
  invalid(() => readPdiparamsTensors(read('int64.pdiparams')), /unsupported data type INT64/);
  assert.ok(performance.now() - t0 < 500);
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'no large allocation');
});

test('array state that does not add up is refused', () => {
  invalid(() => readPdparamsRaw(read('shape_bytes_mismatch_p4.pdparams')), /shape \[1000\] and dtype f4 needs 4000 bytes, found 8/);
  invalid(() => readPdparamsRaw(read('negative_shape_p4.pdparams')), /shape is not|bad dimension/);
  invalid(() => readPdparamsRaw(read('object_dtype_p4.pdparams')), /unsupported numpy dtype 'O8'|refused pickle global/);
});

test('one buffer referenced many times does not expand into many copies', () => {
  invalid(() => readPdparamsRaw(read('shared_array_p4.pdparams')), /arrays declare more data than a \d+-byte file holds/);
  invalid(() => readPdparamsRaw(read('split_dup_slice_p2.pdparams')), /slice w@@\.0 is listed twice/);
});

test('deep nesting, stack and memo floods stay bounded', () => {
  invalid(() => readPdparamsRaw(read('deep_marks.pdparams')), new RegExp(`more than ${PICKLE_LIMITS.maxMarks} nested MARKs`));
  // 20,000 nested lists are legal pickle: the VM never recurses, and the reader then says it is not a dict.
  invalid(() => readPdparamsRaw(read('deep_lists.pdparams')), /must hold a dict of arrays/);
  const flood = new Uint8Array(PICKLE_LIMITS.maxMemo + 8).fill(0x94);
  flood.set([0x80, 0x04, 0x4e]);
  flood[flood.length - 1] = 0x2e;
  invalid(() => unpickle(flood), /more than 1048576 memo entries/);
  const stack = new Uint8Array(PICKLE_LIMITS.maxStack + 8).fill(0x4e);
  stack.set([0x80, 0x02]);
  invalid(() => unpickle(stack), /stack deeper than/);
  invalid(() => readPdparamsRaw(read('empty.pdparams')), /truncated/);
  invalid(() => readPdparamsRaw(read('no_stop.pdparams')), /without STOP/);
  invalid(() => unpickle(new Uint8Array([0x80, 0x02, 0x68, 0x07, 0x2e])), /memo entry 7 does not exist/);
  invalid(() => unpickle(new Uint8Array([0x80, 0x02, 0x2e])), /stack underflow/);
  invalid(() => unpickle(new Uint8Array([0x80, 0x09, 0x2e])), /protocol 9/);
});

test('every fixture truncated at many offsets ends in PPTSNError (model-invalid)', () => {
  let cases = 0;
  for (const file of ['partial_r18_p2_numpy1.pdparams', 'partial_r18_p4_numpy1.pdparams', 'partial_r18_p4_numpy2.pdparams', 'partial_r18.pdiparams']) {
    const bytes = read(file, FIX);
    const reader = file.endsWith('.pdiparams') ? readPdiparamsTensors : readPdparamsRaw;
    // Every offset of the headers and the tail, then a stride through the data.
    const offsets = new Set<number>();
    for (let i = 0; i < 400; i++) offsets.add(i).add(bytes.length - 1 - i);
    for (let i = 0; i < bytes.length; i += 97) offsets.add(i);
    for (const n of offsets) {
      if (n < 0 || n >= bytes.length) continue;
      cases++;
      try {
        reader(bytes.subarray(0, n));
        // A .pdiparams cut exactly between tensors is a valid, shorter file.
        assert.ok(file.endsWith('.pdiparams'), `${file} truncated to ${n} bytes was accepted`);
      } catch (e) {
        if (!isPPTSNError(e) || e.code !== 'model-invalid') assert.fail(`${file} truncated to ${n}: ${String(e)}`);
      }
    }
  }
  assert.ok(cases > 3000);
});
