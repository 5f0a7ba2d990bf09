/**
 * `model.classify(…, { onProgress })` in headless Chromium on wasm: a report after every chunk with the running
 * top-k, the last report's `top` equal to the result's and made before the call resolves, the result the same as a
 * call without onProgress, no tensor left behind, and a callback that throws does not fail the call.
 *
 * Run: node --import tsx --test test/browser/progress.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv, callPage, ok, type Outcome } from '../helpers/browser.js';
import { LIVE_MODEL_URL, WASM_PATHS, writeLiveModel } from '../helpers/liveModel.js';

const EXAMPLE = { kind: 'url' as const, url: '/test/fixtures/media/example.mp4' };

interface Top {
  index: number;
  label: string;
  score: number;
}
interface Report {
  decoding?: number;
  done: number;
  total: number;
  top: Top[];
  ms: number;
  settled: boolean;
}
interface Classified {
  top: Top[];
  logits: number[];
}

let env: BrowserEnv;
let page: Page;

const rt = <T>(method: string, ...args: unknown[]) => callPage<T>(page, 'rt', method, ...args);

before(async () => {
  writeLiveModel();
  env = await startBrowserEnv();
  ({ page } = await env.open('/test/browser/pages/runtime.html'));
  await page.waitForFunction(() => document.title === 'ready');
  // chunkSize 2: the 3-crop, 3-segment call below runs in 5 chunks (9 images).
  ok(await rt<Outcome<unknown>>('load', { model: LIVE_MODEL_URL, backend: 'wasm', wasmPaths: WASM_PATHS, chunkSize: 2 }), 'load');
});

after(async () => {
  await env?.close();
});

test('onProgress: one report per chunk, running top-k, last top = the result, made before the call resolves; no leak', async () => {
  const opts = { preset: 'fast', segments: 3, crops: 'three', topK: 4 };
  const plain = ok(await rt<Outcome<Classified>>('classify', EXAMPLE, opts), 'classify without onProgress');
  const base = await rt<{ numTensors: number; numBytes: number }>('memory');
  const { result, reports } = ok(await rt<Outcome<{ result: Classified; reports: Report[] }>>('classifyWithProgress', EXAMPLE, opts), 'classify with onProgress');
  console.log(`progress reports: ${reports.map((r) => `${r.done}/${r.total} at ${r.ms.toFixed(0)} ms`).join(', ')}`);
  // 3 frames × 3 crops = 9 images; chunks of 2 → frames are grouped one per chunk (3 images: 2 + 1) → 6 chunks.
  assert.equal(reports.length, 6, 'one report per chunk');
  assert.deepEqual(reports.map((r) => r.done), [2, 3, 5, 6, 8, 9]);
  for (const r of reports) {
    assert.equal(r.total, 9);
    assert.equal(r.top.length, 4, 'topK classes in each report');
    assert.equal(r.settled, false, 'every report arrives before the call resolves');
    for (let i = 1; i < r.top.length; i++) assert.ok(r.top[i - 1]!.score >= r.top[i]!.score, 'best first');
  }
  assert.deepEqual(reports.at(-1)!.top, result.top, "the last report's top is the result's");
  assert.deepEqual(result.logits, plain.logits, 'the result does not change with onProgress');
  assert.deepEqual(result.top, plain.top);
  // Running answers are real averages: the first report (2 images) differs from the final one.
  assert.notDeepEqual(reports[0]!.top.map((t) => t.score), result.top.map((t) => t.score));
  assert.deepEqual(await rt('memory'), base, 'no tensor or byte left behind');
});

test('onProgress: a callback that throws does not fail the call', async () => {
  const opts = { preset: 'fast', segments: 2 };
  const plain = ok(await rt<Outcome<Classified>>('classify', EXAMPLE, opts), 'classify');
  const r = ok(await rt<Outcome<{ result: Classified; reports: Report[] }>>('classifyWithProgress', EXAMPLE, { ...opts, throwInCallback: true }), 'classify with a throwing callback');
  assert.ok(r.reports.length >= 1);
  assert.deepEqual(r.result.logits, plain.logits);
});

test('onProgress: an XviD AVI reports the ffmpeg.wasm decode first (decoding 0..1), then one report per chunk', async () => {
  const opts = { preset: 'fast', segments: 3 };
  const { result, reports } = ok(await rt<Outcome<{ result: Classified; reports: Report[] }>>('classifyWithProgress', { kind: 'url', url: '/test/fixtures/media/example.avi' }, opts), 'classify an AVI with onProgress');
  const decoding = reports.filter((r) => r.decoding !== undefined);
  console.log(`AVI progress: ${reports.map((r) => (r.decoding !== undefined ? `decode ${(r.decoding * 100).toFixed(0)}%` : `${r.done}/${r.total}`)).join(', ')}`);
  assert.ok(decoding.length >= 2, 'decode reports');
  assert.equal(decoding[0]!.decoding, 0, 'first: the fallback is being loaded');
  assert.equal(decoding.at(-1)!.decoding, 1, 'last decode report: done');
  for (let i = 1; i < decoding.length; i++) assert.ok(decoding[i]!.decoding! >= decoding[i - 1]!.decoding!, 'monotonic');
  for (const r of decoding) assert.deepEqual([r.done, r.total, r.top.length], [0, 3, 0]);
  const firstChunk = reports.findIndex((r) => r.decoding === undefined);
  assert.ok(firstChunk > 0 && reports.slice(firstChunk).every((r) => r.decoding === undefined), 'decode reports come before the chunk reports');
  assert.deepEqual(reports.at(-1)!.top, result.top);
});
