/**
 * The library under a strict Content-Security-Policy (test/helpers/csp.ts: no 'unsafe-eval', workers from 'self'):
 * every response of the test server carries the header (the worker gets its own policy from its script's response),
 * and the page loads the model and classifies a video on wasm and webgl with no CSP violation.
 * Known limit: multi-threaded WASM (tfjs-wasm pthread workers started from blob: URLs) fails to start under this
 * policy even with 'unsafe-eval' added, so the page loads with `wasmThreads: false` (single-threaded SIMD works).
 *
 * Run: node --import tsx --test test/browser/csp.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv } from '../helpers/browser.js';
import { CSP } from '../helpers/csp.js';
import { writeLiveModel, LIVE_MODEL_URL, WASM_PATHS } from '../helpers/liveModel.js';

let env: BrowserEnv;
let page: Page;
let errors: string[];

before(async () => {
  writeLiveModel();
  env = await startBrowserEnv();
  env.server.middlewares.stack.unshift({
    route: '',
    handle: (_req: unknown, res: { setHeader(k: string, v: string): void }, next: () => void) => {
      res.setHeader('Content-Security-Policy', CSP);
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
    assert.deepEqual(errors.filter((e) => /Content Security Policy|unsafe-eval/i.test(e)), [], errors.join('\n'));
  });
}
