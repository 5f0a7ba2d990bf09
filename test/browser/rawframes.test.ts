/**
 * Rawframes, evaluation and training checkpoints in the page (issue 14 item 5/6): a rawframes folder given as
 * Files, as unnamed Blobs and as a FileSystemDirectoryHandle is preprocessed within the bar of the PIL-based
 * PaddleVideo reference and classified identically, its JPEGs decoded in the worker (the page never loads the
 * decoder); `model.evaluate` gives PaddleVideo's summary with failures
 * counted; the partial training checkpoint fixture is read as a checkpoint (state dict under 'model'), and a full
 * checkpoint written by Python pickle loads and classifies like the plain state dict.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startBrowserEnv, ok, callPage, ROOT, type BrowserEnv, type Outcome } from '../helpers/browser.js';
import { seededStateDict } from '../helpers/seeded.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';

const DIR = join(ROOT, 'test/.cache/rawframes');
const URL_DIR = '/test/.cache/rawframes';
const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';
const PYTHON = process.env['PPTSN_PYTHON'] ?? '/usr/bin/python3';
const LABELS = ['Archery', 'Bowling', 'Diving', 'Fencing'];
let env: BrowserEnv;
let page: Page;
let names: string[];

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const rf = <T>(method: string, ...args: unknown[]) => callPage<T>(page, 'rf', method, ...args);
type Classified = { frameIndices: number[]; logits: number[]; top: { index: number; label: string; score: number }[] };

before(async () => {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-frames:v', '45', '-c:v', 'mpeg4', '-q:v', '3', join(DIR, 'clip.avi')]);
  run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'smptebars=size=320x240:rate=25', '-frames:v', '30', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', join(DIR, 'bars.mp4')]);
  run(PYTHON, [join(ROOT, 'test/helpers/extract_rawframes.py'), join(DIR, 'clip.avi'), join(DIR, 'v_clip')]);
  names = readdirSync(join(DIR, 'v_clip')).sort();
  run(PYTHON, [join(ROOT, 'test/helpers/paddle_reference.py'), join(DIR, 'v_clip'), join(DIR, 'ref_fast.npy'), '--preset', 'fast', '--segments', '4', '--decoder', 'rawframes']);
  const sd = seededStateDict(18, LABELS.length, 99);
  const m = writeModelJson(sd, { labels: LABELS });
  mkdirSync(join(DIR, 'model'), { recursive: true });
  for (const s of m.shards) writeFileSync(join(DIR, 'model', s.path), s.data);
  writeFileSync(join(DIR, 'model/model.json'), JSON.stringify(m.modelJson));
  writeFileSync(join(DIR, 'plain.pdparams'), writePdparams(sd));
  run(PYTHON, [join(ROOT, 'test/helpers/make_checkpoint.py'), join(DIR, 'plain.pdparams'), DIR]);
  copyFileSync(join(ROOT, 'test/fixtures/formats/nested_ckpt_partial.pdparams'), join(DIR, 'nested_ckpt_partial.pdparams'));
  env = await startBrowserEnv();
  page = (await env.open('/test/browser/pages/rawframes.html')).page;
  await page.waitForFunction(() => 'rf' in window);
  ok(await rf<Outcome<unknown>>('load', `${URL_DIR}/model/model.json`, WASM_PATHS), 'load');
});
after(async () => {
  await env?.close();
  rmSync(DIR, { recursive: true, force: true });
});

test('a rawframes folder (Files, Blobs, FileSystemDirectoryHandle) preprocesses within the bar of the PIL reference', async () => {
  const files = { kind: 'files', dir: `${URL_DIR}/v_clip`, names };
  const pre = ok(await rf<Outcome<{ frameIndices: number[]; mean: number; p99: number }>>('preprocessVsNpy', files, { preset: 'fast', segments: 4 }, `${URL_DIR}/ref_fast.npy`), 'preprocess');
  console.log(`page rawframes vs PIL reference: mean ${pre.mean.toExponential(2)}, p99 ${pre.p99.toExponential(2)}`);
  assert.deepEqual(pre.frameIndices, [5, 16, 28, 39]);
  assert.ok(pre.mean <= 0.01 && pre.p99 <= 0.05, `mean ${pre.mean}, p99 ${pre.p99}`);
  const a = ok(await rf<Outcome<Classified>>('classify', files, { preset: 'fast', segments: 4 }), 'classify files');
  const b = ok(await rf<Outcome<Classified>>('classify', { kind: 'blobs', dir: `${URL_DIR}/v_clip`, names }, { preset: 'fast', segments: 4 }), 'classify blobs');
  const c = ok(await rf<Outcome<Classified>>('classify', { kind: 'opfs', dir: `${URL_DIR}/v_clip`, names }, { preset: 'fast', segments: 4 }), 'classify directory handle');
  assert.deepEqual(b.logits, a.logits);
  assert.deepEqual(c.logits, a.logits);
  assert.deepEqual(c.frameIndices, a.frameIndices);
  // A trainer takes the same folder as a clip: its pool of 16 linspace-sampled frames.
  const clip = ok(await rf<Outcome<{ frames: number; label: string; origin: string; clips: number }>>('addClip', { kind: 'opfs', dir: `${URL_DIR}/v_clip`, names }), 'addClip');
  assert.deepEqual(clip, { frames: 16, label: 'b', origin: 'v_clip', clips: 1 });
  // The JPEGs were decoded in the worker: the page never loaded the decoder (it sent the files or the handle).
  assert.deepEqual(await rf<string[]>('jpegOnPage'), []);
});

test('model.evaluate gives the summary of pptsn-web eval, counting failures, without leaking tensors', async () => {
  const files = { kind: 'files', dir: `${URL_DIR}/v_clip`, names };
  const a = ok(await rf<Outcome<Classified>>('classify', files, { preset: 'fast', segments: 4 }), 'classify');
  const v = ok(await rf<Outcome<Classified>>('classify', { kind: 'url', url: `${URL_DIR}/bars.mp4` }, { preset: 'fast', segments: 4 }), 'classify mp4');
  const r = ok(await rf<Outcome<{ summary: { count: number; top1: number; top5: number; failed: number; perClass: { count: number; correct: number }[]; confusion: number[][]; failures: { path: string; message: string }[] }; progress: number[]; leaked: number }>>('evaluate', [
    { source: files, label: a.top[0]!.index, name: 'v_clip' },
    { source: { kind: 'url', url: `${URL_DIR}/bars.mp4` }, label: 'Fencing' },
    { source: { kind: 'url', url: `${URL_DIR}/missing.mp4` }, label: 0 },
  ], { preset: 'fast', segments: 4 }), 'evaluate');
  const s = r.summary;
  assert.deepEqual(r.progress, [1, 2, 3]);
  assert.equal(r.leaked, 0);
  assert.equal(s.count, 2);
  assert.equal(s.failed, 1);
  assert.match(s.failures[0]!.path, /missing\.mp4$/);
  const expectedTop1 = (1 + (v.top[0]!.index === 3 ? 1 : 0)) / 2;
  assert.equal(s.top1, expectedTop1);
  assert.equal(s.top5, 1); // 4 classes: the label is always among the five best
  assert.equal(s.confusion[a.top[0]!.index]![a.top[0]!.index]! >= 1, true);
  assert.equal(s.perClass[3]!.count, 1);
  const bad = await rf<Outcome<unknown>>('evaluate', [{ source: files, label: 'Surfing' }], {});
  assert.ok(!bad.ok && bad.code === 'invalid-argument' && /label "Surfing" is not a class of this model/.test(bad.message), JSON.stringify(bad));
});

test('training checkpoints in the page: the partial fixture is read as one; a full checkpoint classifies like the plain file', async () => {
  const partial = await rf<Outcome<unknown>>('loadBytes', `${URL_DIR}/nested_ckpt_partial.pdparams`, 'nested_ckpt_partial.pdparams', WASM_PATHS);
  assert.ok(!partial.ok && partial.code === 'model-invalid', JSON.stringify(partial));
  assert.match(partial.message, /^nested_ckpt_partial\.pdparams \(state dict under 'model'\) is not a complete PP-TSN state dict \(7 tensors/);
  const opt = await rf<Outcome<unknown>>('loadBytes', `${URL_DIR}/model.pdopt`, 'model.pdopt', WASM_PATHS);
  assert.ok(!opt.ok && opt.code === 'model-invalid' && /model\.pdopt is a Paddle optimizer state/.test(opt.message), JSON.stringify(opt));
  assert.doesNotMatch(opt.message, /found [a-z]\d\b/);
  const src = { kind: 'url', url: `${URL_DIR}/bars.mp4` };
  ok(await rf<Outcome<unknown>>('loadBytes', `${URL_DIR}/plain.pdparams`, 'plain.pdparams', WASM_PATHS), 'plain');
  const plain = ok(await rf<Outcome<Classified>>('classify', src, { preset: 'fast', segments: 2 }), 'classify plain');
  ok(await rf<Outcome<unknown>>('loadBytes', `${URL_DIR}/ckpt_model_p4.pdparams`, 'ckpt_model_p4.pdparams', WASM_PATHS), 'checkpoint');
  const ckpt = ok(await rf<Outcome<Classified>>('classify', src, { preset: 'fast', segments: 2 }), 'classify checkpoint');
  assert.deepEqual(ckpt.logits, plain.logits);
});
