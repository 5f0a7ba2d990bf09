/**
 * The library under a strict Content-Security-Policy (src/csp.ts: no 'unsafe-eval', workers from 'self'):
 * every response of the test server carries the header (the worker gets its own policy from its script's response),
 * and the page loads the model and classifies a video on wasm and webgl with no CSP violation.
 * The page is cross-origin isolated, so wasm loads with its default of WASM threads: the pthread workers (blob:
 * URLs that importScripts a blob: copy of the Emscripten module) start under the policy's `script-src blob:`, and
 * the test asserts that the backend report says threads. Under the same policy without `script-src blob:` the
 * engine must notice and fall back to one thread (it used to crash the worker). The training filter gradient's
 * helper workers (src/worker/kernelThreads.ts, blob: URLs under `worker-src blob:`) start and split the kernel.
 *
 * Run: node --import tsx --test test/browser/csp.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv } from '../helpers/browser.js';
import { RECOMMENDED_CSP as CSP } from '../../src/csp.js';
import { writeLiveModel, LIVE_MODEL_URL, WASM_PATHS } from '../helpers/liveModel.js';

/** The policy the server sends (the last test swaps in one without `script-src blob:`). */
let policy = CSP;
let env: BrowserEnv;
let page: Page;
let errors: string[];

before(async () => {
  writeLiveModel();
  env = await startBrowserEnv();
  env.server.middlewares.stack.unshift({
    route: '',
    handle: (_req: unknown, res: { setHeader(k: string, v: string): void }, next: () => void) => {
      res.setHeader('Content-Security-Policy', policy);
      next();
    },
  } as never);
  ({ page, errors } = await env.open('/test/browser/pages/csp.html'));
  await page.waitForFunction(() => document.title === 'ready');
});

after(async () => {
  await env?.close();
});

for (const backend of ['webgl', 'wasm'] as const) {
  test(`${backend}: load + classify under the CSP, eval blocked, no violations`, async () => {
    const r = await page.evaluate(([b, m, v, w]) => (window as unknown as { csp: { run(...a: unknown[]): Promise<Record<string, unknown>> } }).csp.run(b, m, v, w),
      [backend, LIVE_MODEL_URL, '/test/fixtures/media/example.mp4', WASM_PATHS] as const);
    console.log(`${backend} under CSP: ${JSON.stringify(r)}`);
    assert.equal(r.ok, true, JSON.stringify(r) + '\n' + errors.join('\n'));
    assert.equal(r.backend, backend);
    assert.equal(r.evalBlocked, true, 'the CSP must block eval for this test to mean anything');
    assert.deepEqual(r.violations, []);
    if (backend === 'wasm') {
      const entry = (r.backendReport as { backend: string; status: string; reason: string }[]).find((e) => e.backend === 'wasm');
      assert.match(entry?.reason ?? '', /\+ \d+ threads/, `wasm must run threaded under the CSP: ${JSON.stringify(r.backendReport)}`);
    }
    assert.deepEqual(errors.filter((e) => /Content Security Policy|unsafe-eval/i.test(e)), [], errors.join('\n'));
  });
}

test('an XviD AVI classifies under the CSP through the lazily loaded ffmpeg.wasm (no eval, no violations)', async () => {
  const r = await page.evaluate(([m, v, w]) => (window as unknown as { csp: { run(...a: unknown[]): Promise<Record<string, unknown>> } }).csp.run('wasm', m, v, w),
    [LIVE_MODEL_URL, '/test/fixtures/media/example.avi', WASM_PATHS] as const);
  console.log(`AVI under CSP: ${JSON.stringify(r)}`);
  assert.equal(r.ok, true, JSON.stringify(r) + '\n' + errors.join('\n'));
  assert.deepEqual(r.violations, []);
  assert.deepEqual(errors.filter((e) => /Content Security Policy|unsafe-eval/i.test(e)), [], errors.join('\n'));
});

test('the training filter gradient\'s helper workers (blob:) start under the CSP and split the kernel', async () => {
  const { page: p2, errors: e2 } = await env.open('/test/browser/pages/dw.html');
  await p2.waitForFunction(() => 'dw' in window);
  const a = await p2.evaluate((w) => (window as unknown as { dw: { run(r: unknown): Promise<unknown> } }).dw.run({ mode: 'check', shapes: [[2, 14, 14, 32, 64, 3]], wasmPaths: w }), WASM_PATHS) as {
    ok: boolean; message?: string; value: { threads: number; helpers: number; rows: Array<{ split: boolean; identical: boolean; errs: number[] }> };
  };
  assert.ok(a.ok, `${a.message}; console: ${e2.join(' | ')}`);
  assert.ok(a.value.threads > 1 && a.value.helpers === a.value.threads - 1, JSON.stringify(a.value));
  const r = a.value.rows[0]!;
  assert.ok(r.split && r.identical && r.errs.every((e) => e < 1e-5), JSON.stringify(r));
  assert.deepEqual(e2.filter((e) => /Content Security Policy/i.test(e)), [], e2.join('\n'));
});

test('wasm under a CSP without script-src blob: falls back to one thread and says why (no crash)', async () => {
  policy = CSP.replace("script-src 'self' blob: ", "script-src 'self' ");
  assert.notEqual(policy, CSP);
  const { page: p2 } = await env.open('/test/browser/pages/csp.html');
  await p2.waitForFunction(() => document.title === 'ready');
  const r = await p2.evaluate(([m, v, w]) => (window as unknown as { csp: { run(...a: unknown[]): Promise<Record<string, unknown>> } }).csp.run('wasm', m, v, w),
    [LIVE_MODEL_URL, '/test/fixtures/media/example.mp4', WASM_PATHS] as const);
  console.log(`wasm under CSP without blob: scripts: ${JSON.stringify(r)}`);
  assert.equal(r.ok, true, JSON.stringify(r));
  const entry = (r.backendReport as { backend: string; reason: string }[]).find((e) => e.backend === 'wasm');
  assert.match(entry?.reason ?? '', /single thread \(the Content-Security-Policy/, JSON.stringify(r.backendReport));
  // ffmpeg.wasm's own worker (src/video/ffmpegCoreWorker.ts, a same-origin module worker, no blob:) is allowed here;
  // where a policy refuses it, the core runs in the library's worker instead: either way the AVI classifies.
  const avi = await p2.evaluate(([m, v, w]) => (window as unknown as { csp: { run(...a: unknown[]): Promise<Record<string, unknown>> } }).csp.run('wasm', m, v, w),
    [LIVE_MODEL_URL, '/test/fixtures/media/example.avi', WASM_PATHS] as const);
  console.log(`AVI under CSP without blob: scripts: ${JSON.stringify(avi)}`);
  assert.equal(avi.ok, true, JSON.stringify(avi));
});
