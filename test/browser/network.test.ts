/**
 * The inference network in headless Chromium on webgpu, webgl and wasm (WebGPU and WebGL run on SwiftShader
 * here, so the cases stay tiny): the golden depth-18 64×64 case within 1e-3 relative, an odd-size case against
 * the in-page cpu backend (checks the vd AvgPool's ceil/exclusive behaviour and the symmetric padding on GPU
 * kernels), and the golden depth-50 224×224 case on wasm.
 *
 *   node --import tsx --test test/browser/network.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv } from '../helpers/browser.js';
import type { CaseSpec, RunResult } from './pages/network.js';
import { relErr } from '../helpers/numerics.js';


interface PageApi {
  golden: Array<CaseSpec & { logits: number[][] }>;
  run(backend: string, spec: CaseSpec, repeats?: number): Promise<RunResult>;
}
declare const window: { pptsnNetwork: PageApi };

const ODD: CaseSpec = { depth: 18, num_classes: 4, weight_seed: 21, input_shape: [1, 1, 3, 33, 39], input_seed: 5 };

describe('network in Chromium', () => {
  let env: BrowserEnv;
  let page: Page;
  let errors: string[];
  let golden: Array<CaseSpec & { logits: number[][] }>;

  before(async () => {
    env = await startBrowserEnv();
    ({ page, errors } = await env.open('/test/browser/pages/network.html'));
    await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 120_000 });
    golden = await page.evaluate(() => window.pptsnNetwork.golden);
  });
  after(async () => {
    await env?.close();
  });

  const run = (backend: string, spec: CaseSpec, repeats = 2) =>
    page.evaluate(([b, s, r]) => window.pptsnNetwork.run(b, s, r), [backend, spec, repeats] as const);

  for (const backend of ['webgpu', 'webgl', 'wasm']) {
    it(`golden depth 18, 64×64 on ${backend} within 1e-3`, async (t) => {
      const c = golden.find((g) => g.depth === 18)!;
      // SwiftShader makes WebGPU/WebGL slow (about 1 min / 15 s per predict here): one run there.
      const r = await run(backend, c, backend === 'wasm' ? 2 : 1);
      const err = relErr(r.logits, c.logits.flat());
      t.diagnostic(`${backend}: max |Δlogit| / max |logit| = ${err.toExponential(2)}; predict ${r.firstMs.toFixed(0)} ms first${r.ms ? `, ${r.ms.toFixed(0)} ms warm` : ''}`);
      assert.equal(r.leaked, 0, 'no tensors leaked');
      assert.ok(err <= 1e-3, `error ${err}`);
    });
  }

  it('odd size 33×39 on webgpu and webgl matches the in-page cpu backend', async (t) => {
    const ref = await run('cpu', ODD, 1);
    for (const backend of ['webgpu', 'webgl']) {
      const r = await run(backend, ODD, 1);
      const err = relErr(r.logits, ref.logits);
      t.diagnostic(`${backend} vs cpu at 33×39: ${err.toExponential(2)}`);
      assert.ok(err <= 1e-3, `${backend} error ${err}`);
    }
  });

  it('golden depth 50, 224×224 × 2 on wasm', async (t) => {
    const c = golden.find((g) => g.depth === 50)!;
    const r = await run('wasm', c);
    const err = relErr(r.logits, c.logits.flat());
    t.diagnostic(`wasm depth 50: ${err.toExponential(2)}; predict ${r.firstMs.toFixed(0)} ms first, ${r.ms.toFixed(0)} ms warm`);
    assert.ok(err <= 1e-4, `error ${err}`);
    // The only expected console error is the dev server's 404 for /favicon.ico.
    assert.deepEqual(errors.filter((e) => !/status of 404/.test(e)), []);
  });
});
