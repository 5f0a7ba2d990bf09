/**
 * Weight files as training scripts leave them (SPEC §7): `{'model': state_dict, 'epoch': n}` and
 * `{'state_dict': …}` checkpoints with Paddle Tensors pickled as `builtins.tuple((name, ndarray))` convert to the
 * same model as the plain state dict; `.pdopt` optimizer states, PP-TSM and other models' files are refused with
 * a message that names the file, says what it is and what to do. The checkpoints are written by real Python
 * pickle (test/helpers/make_checkpoint.py).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededInput, seededStateDict } from '../helpers/seeded.js';
import { writePdparams, writePdparamsRaw } from '../../src/core/formats/pdparamsWriter.js';
import { readPdparamsRaw } from '../../src/core/formats/pdparams.js';
import { loadWeightFile } from '../../src/core/formats/load.js';
import { unpickle } from '../../src/core/formats/pickle.js';
import { PyTuple } from '../../src/core/formats/pyValues.js';
import { encodeNpy } from '../../src/core/npy.js';
import { isPPTSNError } from '../../src/core/errors.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const NESTED = join(ROOT, 'test/fixtures/formats/nested_ckpt_partial.pdparams');
let dir: string;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-ckpt-'));
  writeFileSync(join(dir, 'plain.pdparams'), writePdparams(seededStateDict(18, 5, 4242)));
  const r = spawnSync(process.env['PPTSN_PYTHON'] ?? '/usr/bin/python3', [join(ROOT, 'test/helpers/make_checkpoint.py'), join(dir, 'plain.pdparams'), dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `make_checkpoint.py (needs python3 + numpy): ${r.stderr}`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('builtins.tuple is allowed and only builds a tuple', () => {
  // tuple(('name', 1)) in protocol 4: STACK_GLOBAL builtins.tuple, then REDUCE.
  const p4 = new Uint8Array([0x80, 4, 0x8c, 8, ...Buffer.from('builtins'), 0x8c, 5, ...Buffer.from('tuple'), 0x93, 0x8c, 1, 0x61, 0x4b, 1, 0x86, 0x85, 0x52, 0x2e]);
  const t = unpickle(p4);
  assert.ok(t instanceof PyTuple);
  assert.deepEqual(t.items, ['a', 1]);
  // Anything but a tuple/list argument is refused, and other builtins still are.
  const bad = new Uint8Array([0x80, 4, 0x8c, 8, ...Buffer.from('builtins'), 0x8c, 5, ...Buffer.from('tuple'), 0x93, 0x8c, 1, 0x61, 0x85, 0x52, 0x2e]);
  assert.throws(() => unpickle(bad), /tuple\(\) of a str is not supported/);
  assert.throws(() => unpickle(new Uint8Array([0x80, 2, 0x63, ...Buffer.from('builtins\nlist\n'), 0x29, 0x52, 0x2e])), /refused pickle global builtins\.list/);
});

test('the partial checkpoint fixture is read as a checkpoint: state dict under "model", tensors unwrapped', async () => {
  const raw = readPdparamsRaw(new Uint8Array(readFileSync(NESTED)));
  assert.equal(raw.checkpointKey, 'model');
  assert.deepEqual(raw.checkpointOtherKeys, ['epoch']);
  assert.equal(raw.tensors.size, 7);
  assert.deepEqual(raw.tensors.get('backbone.conv1_1._conv.weight')!.shape, [32, 3, 3, 3]);
  assert.deepEqual(raw.tensors.get('head.fc.weight')!.shape, [512, 400]);
  await assert.rejects(loadWeightFile(readFileSync(NESTED), { fileName: 'nested_ckpt_partial.pdparams' }),
    (e: unknown) => isPPTSNError(e) && e.code === 'model-invalid' && /^nested_ckpt_partial\.pdparams \(state dict under 'model'\) is not a complete PP-TSN state dict \(7 tensors/.test(e.message));
  const r = cli(['convert', NESTED, '-o', join(dir, 'nested')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^pptsn-web: nested_ckpt_partial\.pdparams \(state dict under 'model'\) is not a complete PP-TSN state dict/);
});

test('full checkpoints (protocol 2 and 4, model/state_dict keys) convert to the same logits as the plain state dict', () => {
  const x = join(dir, 'x.npy');
  const shape = [1, 2, 3, 64, 64];
  writeFileSync(x, encodeNpy(seededInput(shape, 7), shape));
  const logits: Record<string, number[]> = {};
  for (const [name, key] of [['plain', ''], ['ckpt_model_p4', 'model'], ['ckpt_state_dict_p2', 'state_dict']] as const) {
    const conv = cli(['convert', join(dir, `${name}.pdparams`), '-o', join(dir, name)]);
    assert.equal(conv.code, 0, conv.stderr);
    if (key) assert.match(conv.stderr, new RegExp(`${name}\\.pdparams is a training checkpoint: using the state dict under '${key}'`));
    else assert.doesNotMatch(conv.stderr, /training checkpoint/);
    const r = cli(['classify', '--tensor', x, '-m', join(dir, name), '--json', '--backend', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
    logits[name] = JSON.parse(r.stdout).logits;
  }
  assert.deepEqual(logits['ckpt_model_p4'], logits['plain']);
  assert.deepEqual(logits['ckpt_state_dict_p2'], logits['plain']);
});

test('.pdopt, PP-TSM and other models are refused: what the file is and what to do, naming the file', async () => {
  const r = cli(['convert', join(dir, 'model.pdopt'), '-o', join(dir, 'opt')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^pptsn-web: model\.pdopt is a Paddle optimizer state \(a \.pdopt file: .*_velocity_0.*\), not model weights: convert the \.pdparams file saved beside it/);
  const sd = seededStateDict(18, 5, 1);
  const tsm = new Map([...sd].slice(0, 5));
  tsm.set('backbone.bb_0_0.temporal_shift.fold', { shape: [1], data: new Float32Array([8]) });
  await assert.rejects(loadWeightFile(writePdparamsRaw(tsm), { fileName: 'ppTSM_k400.pdparams' }), /^PPTSNError: ppTSM_k400\.pdparams holds PP-TSM weights \(a temporal-shift model\); pptsn-web runs PP-TSN only/);
  const torch = new Map([['conv1.weight', { shape: [64, 3, 7, 7], data: new Float32Array(64 * 3 * 49) }], ['layer1.0.conv1.weight', { shape: [1], data: new Float32Array(1) }]]);
  await assert.rejects(loadWeightFile(writePdparamsRaw(torch), { fileName: 'resnet.pdparams' }), /resnet\.pdparams holds weights of another model/);
  // Low-level reader errors name the file too.
  copyFileSync(join(ROOT, 'test/fixtures/hostile/no_stop.pdparams'), join(dir, 'cut.pdparams'));
  const cut = cli(['convert', join(dir, 'cut.pdparams'), '-o', join(dir, 'cut')]);
  assert.match(cut.stderr, /^pptsn-web: cut\.pdparams: malformed pickle/);
});
