/**
 * Soak (issue 8 §3): several hundred classify calls on wasm, and a few on cpu (webgl and webgpu: runtime.test.ts),
 * with the seeded ResNet18-vd on a tiny video (fast preset, 1 segment: one 224×224 image per call). At the end the
 * worker's tensor count is at its baseline and the JS heap (page + worker, measureUserAgentSpecificMemory after GC)
 * has not grown beyond noise; every call returns the first call's logits.
 *
 * Run: node --import tsx --test test/browser/soak.test.ts
 *   SOAK_CALLS=600 (wasm calls, default 300: ~90 s), SOAK_GPU_CALLS=20 (default 2: after the warm call, one by URL and one by Blob), SOAK_GPU=0 skips cpu.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startBrowserEnv, CHROMIUM_FLAGS, ROOT, type BrowserEnv, callPage, ok, type Outcome } from '../helpers/browser.js';
import { makeIndexedVideo } from '../helpers/videos.js';
import { writeLiveModel, LIVE_MODEL_URL, WASM_PATHS } from '../helpers/liveModel.js';

const CALLS = Number(process.env.SOAK_CALLS ?? 300);
const GPU_CALLS = Number(process.env.SOAK_GPU_CALLS ?? 2);
const GPU = process.env.SOAK_GPU !== '0';

let env: BrowserEnv;
let browser: Browser;
let page: Page;
let video: string;

interface Mem { numTensors: number; numBytes: number; wasmHeapBytes?: number }
interface Soak { base: Mem; end: Mem; heapStart: number; heapEnd: number; heaps: number[]; mismatches: number; ms: number; gc: boolean; method: string }

function live<T>(method: string, ...args: unknown[]): Promise<T> {
  return callPage<T>(page, 'live', method, ...args);
}

const MB = 1024 * 1024;

async function soak(backend: string, n: number): Promise<Soak> {
  ok(await live<Outcome<unknown>>('load', { model: LIVE_MODEL_URL, backend, wasmPaths: WASM_PATHS }), `load ${backend}`);
  const r = await live<Soak>('soak', { url: video }, { preset: 'fast', segments: 1 }, n);
  console.log(`${backend}: ${n} calls in ${(r.ms / 1000).toFixed(1)} s (${(r.ms / n).toFixed(0)} ms/call); tensors ${r.base.numTensors} → ${r.end.numTensors}, ` +
    `bytes ${r.base.numBytes} → ${r.end.numBytes}${r.base.wasmHeapBytes !== undefined ? `, WASM heap ${(r.base.wasmHeapBytes / MB).toFixed(0)} → ${(r.end.wasmHeapBytes! / MB).toFixed(0)} MB` : ''}; heap (${r.method}${r.gc ? ', gc' : ''}) ${(r.heapStart / MB).toFixed(1)} → ${r.heaps.map((h) => (h / MB).toFixed(1)).join(' → ')} MB`);
  assert.equal(r.mismatches, 0, 'every call returns the first call\'s logits');
  assert.deepEqual({ numTensors: r.end.numTensors, numBytes: r.end.numBytes }, { numTensors: r.base.numTensors, numBytes: r.base.numBytes }, 'tensor count and bytes at baseline');
  // The WASM heap never shrinks: after the first call it must not grow either (a leak inside the backend would).
  if (r.base.wasmHeapBytes !== undefined) assert.equal(r.end.wasmHeapBytes, r.base.wasmHeapBytes, 'WASM heap grew');
  return r;
}

before(async () => {
  writeLiveModel();
  video = '/' + relative(ROOT, makeIndexedVideo(join(ROOT, 'test/.cache/reliability'), { frames: 10, width: 32, height: 24, fps: 25, codec: 'h264', container: 'mp4' })).split('\\').join('/');
  env = await startBrowserEnv();
  // Our own browser: GC on demand and memory measurement that does not wait for an idle GC.
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_FLAGS, '--js-flags=--expose-gc', '--enable-precise-memory-info', '--enable-blink-features=ForceEagerMeasureMemory'] });
  page = await browser.newPage();
  await page.goto(env.origin + '/test/browser/pages/live.html');
  await page.waitForFunction(() => document.title === 'ready');
});

after(async () => {
  await browser?.close();
  await env?.close();
});

test(`wasm: ${CALLS} classify calls — tensors at baseline, heap flat`, async () => {
  const r = await soak('wasm', CALLS);
  // Noise: the heap after the first fifth of the calls (allocator and JIT warm) vs the end.
  const warm = r.heaps[0]!;
  const growth = r.heapEnd - warm;
  console.log(`wasm heap growth after warm-up: ${(growth / MB).toFixed(2)} MB over ${Math.round(CALLS * 0.8)} calls`);
  assert.ok(growth < Math.max(4 * MB, 0.1 * warm), `heap grew ${(growth / MB).toFixed(1)} MB`);
});

// webgl and webgpu: their leak checks are in runtime.test.ts (a backend's load costs SwiftShader 20–40 s here).
for (const backend of ['cpu'] as const) {
  test(`${backend}: ${GPU_CALLS} classify calls — tensors at baseline`, { skip: !GPU }, async () => {
    const r = await soak(backend, GPU_CALLS);
    assert.ok(r.heapEnd - r.heapStart < 16 * MB, `heap grew ${((r.heapEnd - r.heapStart) / MB).toFixed(1)} MB`);
  });
}
