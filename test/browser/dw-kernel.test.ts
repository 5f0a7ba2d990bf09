/**
 * Our WebAssembly SIMD filter-gradient kernel (src/core/model/filterGradWasm.ts) in a browser worker, headless
 * Chromium, cross-origin isolated: tfjs wasm starts threaded as the engine worker starts it, so its heap is a
 * shared memory, which the kernel's module imports. The kernel's bytes are made at run time (wasmAsm.ts), so no
 * asset has to load; this checks that it validates there (relaxed SIMD in Chromium), runs on the shared heap and
 * equals the per-tap matMul path, for a 3×3 same, a 3×3 on odd sizes and a 1×1.
 *
 *   node --import tsx --test test/browser/dw-kernel.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBrowserEnv, type BrowserEnv } from '../helpers/browser.js';
import { WASM_PATHS } from '../helpers/liveModel.js';

let env: BrowserEnv;
before(async () => { env = await startBrowserEnv(); });
after(async () => { await env?.close(); });

interface Answer {
  ok: boolean;
  message?: string;
  value?: { variant: string | null; shared: boolean; threads: number; rows: Array<{ shape: string; errs: number[]; ran: boolean }>; tensorsLeft: number };
}

test('in a threaded wasm worker the kernel validates with relaxed SIMD, runs on the shared heap and equals the per-tap path', { timeout: 180_000 }, async () => {
  const { page, errors } = await env.open('/test/browser/pages/dw.html');
  await page.waitForFunction(() => 'dw' in window);
  const shapes = [[2, 9, 9, 16, 32, 3], [1, 7, 5, 8, 16, 3], [2, 6, 6, 32, 64, 1]];
  const answer = await page.evaluate((s) => (window as unknown as { dw: { run(r: unknown): Promise<unknown> } }).dw.run({ mode: 'check', shapes: s[0], wasmPaths: s[1] }), [shapes, WASM_PATHS] as const) as Answer;
  assert.ok(answer.ok, `${answer.message}; console: ${errors.join(" | ")}`);
  const v = answer.value!;
  assert.ok(v.shared && v.threads > 1, `threaded wasm with a shared heap (shared ${v.shared}, threads ${v.threads})`);
  assert.equal(v.variant, 'relaxed', 'Chromium validates f32x4.relaxed_madd');
  for (const r of v.rows) {
    assert.ok(r.ran, `${r.shape}: PPTSNConv2DBackpropFilter ran`);
    for (const e of r.errs) assert.ok(e < 1e-5, `${r.shape}: relative difference ${e}`);
  }
  assert.equal(v.tensorsLeft, 0);
});
