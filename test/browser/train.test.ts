/**
 * Fine-tuning end to end in headless Chromium (wasm): a seeded ResNet18-vd converted to model.json and loaded with
 * PPTSN.load; `head` fine-tuning on generated clips of three visually distinct classes reaches ≥ 95 % on held-out
 * clips; the exported .pdparams has PaddleVideo's keys and shapes for 3 classes and gives the same logits in an
 * independent NumPy forward (test/helpers/reference_pdparams.py) as the trainer's own model (toModel); a reload in
 * the middle of training resumes from the last checkpoint (IndexedDB); `full` lowers the training loss; no leaks.
 * The short head fine-tune on webgl, webgpu and cpu (soak, issue 8) is in runtime.test.ts, on the model its webgl
 * and webgpu tests have loaded there.
 *
 * Run: node --import tsx --test test/browser/train.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startBrowserEnv, ROOT, type BrowserEnv, callPage, ok, type Outcome } from '../helpers/browser.js';
import { seededStateDict } from '../helpers/seeded.js';
import { readModelJson, writeModelJson } from '../../src/core/formats/modelJson.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';

const DIR = join(ROOT, 'test/.cache/train');
const MODEL_URL = '/test/.cache/train/seeded18/model.json';
const CLASSES = ['red', 'green', 'blue'];
const SHADES: Record<string, string[]> = {
  red: ['0xd01818', '0xf03030', '0xb02020', '0xe04848', '0xc03030', '0xf05050'],
  green: ['0x18c018', '0x30e030', '0x20a020', '0x48d048', '0x30b030', '0x50f050'],
  blue: ['0x1818d0', '0x3030f0', '0x2020b0', '0x4848e0', '0x3030c0', '0x5050f0'],
};

let env: BrowserEnv;
let page: Page;

function tr<T>(p: Page, method: string, ...args: unknown[]): Promise<T> {
  return callPage<T>(p, 'tr', method, ...args);
}

/** A moving white square on a class colour (2 s, 8 fps, 160×120), one file per shade. */
function clip(name: string, i: number): string {
  const file = join(DIR, 'clips', `${name}-${i}.mp4`);
  if (!existsSync(file)) {
    const c = SHADES[name]![i]!;
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${c}:s=160x120:d=2:r=8`, '-vf', `drawbox=x='mod(t*40+${i * 17},120)':y=${20 + i * 10}:w=30:h=30:color=white:t=fill`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', file]);
    if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr?.toString()}`);
  }
  return `/test/.cache/train/clips/${name}-${i}.mp4`;
}

async function openPage(): Promise<Page> {
  const { page: p } = await env.open('/test/browser/pages/train.html');
  await p.waitForFunction(() => document.title === 'ready');
  ok(await tr<Outcome<string>>(p, 'load', MODEL_URL), 'load');
  return p;
}

before(async () => {
  mkdirSync(join(DIR, 'seeded18'), { recursive: true });
  mkdirSync(join(DIR, 'clips'), { recursive: true });
  const { modelJson, shards } = writeModelJson(seededStateDict(18, 10, 777), { labels: Array.from({ length: 10 }, (_, i) => `k${i}`) });
  writeFileSync(join(DIR, 'seeded18/model.json'), JSON.stringify(modelJson));
  for (const s of shards) writeFileSync(join(DIR, 'seeded18', s.path), s.data);
  env = await startBrowserEnv();
  page = await openPage();
});

after(async () => {
  await env?.close();
});

test('head: ≥ 95 % on held-out clips of three classes; export parity with an independent NumPy forward; no leaks', async () => {
  const base = ok(await tr<Outcome<{ model: number }>>(page, 'memory'), 'memory').model;
  // 9 train clips, batch 3: ⌊9/3⌋ = 3 steps an epoch, every clip seen each epoch (PaddleVideo drops a partial batch).
  // 40 epochs: at 20 one clean-clone CI run held out 5 of 6 right. The first epoch's loss differs from run to run on
  // the same seed (1.1–2.1 over eight runs): the odd items below are URLs, and a URL clip's id (which picks the split
  // and seeds its views) is the hash of its absolute URL, whose port the dev server picks at random.
  ok(await tr(page, 'create', { classes: CLASSES, strategy: 'head', epochs: 40, batchSize: 3, segments: 2, views: 2, validationSplit: 0.4, learningRate: 0.0005, name: 'head-e2e' }), 'create');
  const t0 = Date.now();
  // The clips as a PaddleVideo-style list of { source, label } (Blobs and URLs), one call.
  const list = CLASSES.flatMap((name) => [0, 1, 2, 3, 4].map((i) => ({ url: clip(name, i), label: name })));
  const added = ok(await tr<Outcome<{ added: { label: string }[]; events: { phase: string; done: number; total: number }[] }>>(page, 'addClips', list), 'addClips');
  assert.deepEqual(added.added.map((c) => c.label), list.map((c) => c.label));
  assert.deepEqual(added.events.map((e) => `${e.phase}:${e.done}/${e.total}`), Array.from({ length: 16 }, (_, i) => `decoding:${i}/15`));
  const tAdd = Date.now() - t0;
  const fit = ok(await tr<Outcome<{ history: { loss: number; valAccuracy?: number }[] }>>(page, 'fit'), 'fit');
  const tFit = Date.now() - t0 - tAdd;
  const ev = ok(await tr<Outcome<{ accuracy: number; split: string; clips: number; confusion: number[][] }>>(page, 'evaluate'), 'evaluate');
  console.log(`head: add ${tAdd} ms, fit ${tFit} ms; loss ${fit.history[0]!.loss.toFixed(3)} → ${fit.history.at(-1)!.loss.toFixed(3)}; held-out ${ev.clips} clips accuracy ${ev.accuracy}, confusion ${JSON.stringify(ev.confusion)}`);
  assert.equal(ev.split, 'validation');
  assert.equal(ev.clips, 6);
  assert.ok(ev.accuracy >= 0.95, `held-out accuracy ${ev.accuracy}`);

  // Export: PaddleVideo keys and shapes for 3 classes, and the same logits in NumPy as the trainer's own model.
  const files = ok(await tr<Outcome<string[]>>(page, 'exportModel'), 'export model');
  assert.ok(files[0] === 'model.json' && files.length >= 2);
  const pd = Buffer.from(ok(await tr<Outcome<string>>(page, 'pdparams'), 'export pdparams'), 'base64');
  writeFileSync(join(DIR, 'finetuned.pdparams'), pd);
  // export('pdparams') is the CLI's `_best.pdparams` for the same weights: writePdparams of the plain Recognizer2D
  // state dict (here read back from the page's model.json export, an independent path), byte for byte.
  const mf = ok(await tr<Outcome<{ name: string; data: string }[]>>(page, 'modelFiles'), 'model files');
  const byName = new Map(mf.map((f) => [f.name, Buffer.from(f.data, 'base64')]));
  const loaded = await readModelJson(JSON.parse(byName.get('model.json')!.toString()), async (p) => new Uint8Array(byName.get(p)!));
  assert.ok(Buffer.from(writePdparams(loaded.stateDict)).equals(pd), 'export(pdparams) = writePdparams(state dict of the same weights)');
  const url = clip('green', 5); // never added: a clip the model has not seen
  const r = ok(await tr<Outcome<{ labels: string[]; top: { label: string }; logits: number[]; input: { shape: number[]; data: string } }>>(page, 'classifyWithNew', url), 'toModel + classify');
  assert.deepEqual(r.labels, CLASSES);
  assert.equal(r.top.label, 'green');
  const buf = Buffer.from(r.input.data, 'base64');
  const npy = join(DIR, 'input.npy');
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${r.input.shape[1]}, 3, 224, 224), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  const h = Buffer.from(header + ' '.repeat(pad) + '\n', 'latin1');
  const pre2 = Buffer.alloc(10);
  pre2.write('\x93NUMPY', 0, 'latin1');
  pre2[6] = 1;
  pre2[7] = 0;
  pre2.writeUInt16LE(h.length, 8);
  writeFileSync(npy, Buffer.concat([pre2, h, buf]));
  const py = spawnSync('python3', [join(ROOT, 'test/helpers/reference_pdparams.py')], { input: JSON.stringify({ pdparams: join(DIR, 'finetuned.pdparams'), depth: 18, input_npy: npy, segments: r.input.shape[1] }), maxBuffer: 1 << 26 });
  assert.equal(py.status, 0, py.stderr?.toString());
  const out = JSON.parse(py.stdout.toString()) as { logits: number[][]; shapes: Record<string, number[]> };
  assert.deepEqual(out.shapes['head.fc.weight'], [512, 3]);
  assert.deepEqual(out.shapes['head.fc.bias'], [3]);
  assert.deepEqual(out.shapes['backbone.bb_3_1.conv1._conv.weight'], [512, 512, 3, 3]);
  const d = Math.max(...out.logits[0]!.map((v, i) => Math.abs(v - r.logits[i]!)));
  console.log(`export parity: max |logit(tfjs) − logit(NumPy float64)| = ${d.toExponential(2)}`);
  assert.ok(d < 1e-3, `logits differ by ${d}`);

  const after = ok(await tr<Outcome<number>>(page, 'dispose'), 'dispose');
  assert.equal(after, base, `worker tensors ${base} before the trainer, ${after} after dispose`);
});

test('a reload in the middle of training resumes from the last checkpoint (with the epoch count fit() raised)', async () => {
  const opts = { classes: CLASSES, strategy: 'head', epochs: 5, batchSize: 2, segments: 2, views: 1, validationSplit: 0, name: 'resume-e2e' };
  ok(await tr(page, 'create', opts, 5), 'create');
  for (const name of CLASSES) for (let i = 0; i < 2; i++) ok(await tr(page, 'addClip', clip(name, i), name), 'addClip');
  // fit({ epochs: 6 }) raises the run's 5 epochs: the stored run must remember 6 after the reload.
  const stopped = await tr<Outcome<unknown>>(page, 'fit', 6);
  assert.ok(!stopped.ok && stopped.code === 'aborted', JSON.stringify(stopped));
  const before = ok(await tr<Outcome<{ iteration: number; epoch: number }>>(page, 'info'), 'info');
  // The page's stop crosses to the worker while training goes on: it lands at the next step boundary or the one after.
  assert.ok(before.iteration >= 5 && before.iteration < 18, `stopped at iteration ${before.iteration}`);
  await page.reload();
  await page.waitForFunction(() => document.title === 'ready');
  ok(await tr<Outcome<string>>(page, 'load', MODEL_URL), 'load after reload');
  ok(await tr(page, 'create', { name: 'resume-e2e', classes: CLASSES }), 'create after reload');
  const restored = ok(await tr<Outcome<{ iteration: number; epoch: number; history: unknown[] }>>(page, 'info'), 'info');
  assert.equal(restored.iteration, before.iteration);
  assert.equal(restored.epoch, before.epoch);
  assert.equal(ok(await tr<Outcome<unknown[]>>(page, 'clips'), 'clips').length, 6);
  const done = ok(await tr<Outcome<{ iteration: number; history: unknown[] }>>(page, 'fit'), 'fit after reload');
  assert.equal(done.iteration, 18);
  assert.equal(done.history.length, 6);
  ok(await tr(page, 'dispose'), 'dispose');
});

test('full: lowers the training loss (tiny)', async () => {
  const opts = { classes: CLASSES.slice(0, 2), strategy: 'full', epochs: 3, batchSize: 2, microBatchSize: 1, segments: 1, validationSplit: 0, mixupAlpha: 0, augment: false, dropout: 0, warmupEpochs: 0, learningRate: 0.0005, preciseBN: 1, name: 'full-e2e' };
  ok(await tr(page, 'create', opts), 'create');
  for (const name of CLASSES.slice(0, 2)) ok(await tr(page, 'addClip', clip(name, 0), name), 'addClip');
  const t0 = Date.now();
  const fit = ok(await tr<Outcome<{ history: { loss: number }[] }>>(page, 'fit'), 'fit');
  const losses = fit.history.map((h) => h.loss);
  console.log(`full: ${Date.now() - t0} ms, epoch losses ${losses.map((l) => l.toFixed(4)).join(' → ')}`);
  assert.ok(losses.at(-1)! < losses[0]!, `loss did not fall: ${losses.join(', ')}`);
  ok(await tr(page, 'dispose'), 'dispose');
});

test('addClip takes an XviD AVI (UCF101\'s format): decoded in the worker by ffmpeg.wasm', async () => {
  ok(await tr(page, 'create', { classes: ['red', 'blue'], strategy: 'head', epochs: 1, batchSize: 2, segments: 1, views: 1, validationSplit: 0, preciseBN: false, name: 'avi-clip' }), 'create');
  const info = ok(await tr<Outcome<Record<string, unknown>>>(page, 'addClip', '/test/fixtures/media/example.avi', 'red'), 'addClip AVI');
  console.log(`AVI clip: ${JSON.stringify(info)}`);
  ok(await tr(page, 'dispose'), 'dispose');
});
