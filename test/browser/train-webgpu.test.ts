/**
 * WebGPU training keeps working (issue 23): one `full` training step of the trainable network (depth 18, two clips
 * of one 48×48 image, 3 classes, dropout off) on webgpu equals the same step on wasm within float32 rounding: the
 * loss, every trainable variable's gradient norm, the stem's and the FC's gradients in full, and the parameters and
 * BN running mean after Paddle's momentum step. WebGPU runs the training conv's input gradient as tfjs's
 * conv2dTranspose where wasm runs our own (src/core/model/convGrad.ts), so this is the check of that path; wasm's
 * own gradients are checked against the cpu backend in test/unit/train-gradients.test.ts. Every read is async and
 * the step leaves no tensor behind. WebGPU is SwiftShader here: the sizes stay tiny.
 *
 *   node --import tsx --test test/browser/train-webgpu.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv } from '../helpers/browser.js';
import { relErr } from '../helpers/numerics.js';
import type { StepResult, StepSpec } from './pages/train-webgpu.js';

declare const window: { pptsnTrainStep: { run(backend: string, s: StepSpec): Promise<StepResult> } };

/**
 * Relative tolerance of gradients: batch-statistics BN over a few values (2 images, res5 at 2×2) amplifies the
 * forward's float32 rounding through the backward pass: on this step tfjs's reference cpu backend and wasm differ by
 * up to 1.5e-3 in a gradient norm, webgpu and cpu by up to 3.5e-3 (at 64 px; webgpu and wasm 1.5e-3 at 48). A wrong kernel is
 * off by far more: the conv's input gradient on webgpu scaled by 1.01 fails it.
 */
const GRAD_TOLERANCE = 1e-2;

const SPEC: StepSpec = { depth: 18, classes: 3, n: 2, segments: 1, size: 48, strategy: 'full' };

let env: BrowserEnv;
let page: Page;
let errors: string[];

before(async () => {
  env = await startBrowserEnv();
  ({ page, errors } = await env.open('/test/browser/pages/train-webgpu.html'));
  await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 120_000 });
});
after(async () => {
  await env?.close();
});

test('a full training step on webgpu equals the one on wasm (loss, gradients, the updated parameters), no leaks', async (t) => {
  const step = (backend: string) => page.evaluate(([b, s]) => window.pptsnTrainStep.run(b, s), [backend, SPEC] as const);
  const t0 = Date.now();
  const wasm = await step('wasm');
  const t1 = Date.now();
  const gpu = await step('webgpu');
  t.diagnostic(`wasm ${t1 - t0} ms, webgpu (SwiftShader) ${Date.now() - t1} ms; loss wasm ${wasm.loss} webgpu ${gpu.loss}`);
  assert.equal(wasm.backend, 'wasm');
  assert.equal(gpu.backend, 'webgpu');
  assert.deepEqual(errors.filter((e) => !/status of 404/.test(e)), [], 'no page errors (the favicon 404 aside)');
  for (const r of [wasm, gpu]) assert.equal(r.leaked, 0, `${r.backend}: tensors left after the step`);

  assert.ok(Number.isFinite(wasm.loss) && wasm.loss > 0, `wasm loss ${wasm.loss}`);
  assert.ok(Math.abs(gpu.loss - wasm.loss) <= 1e-5 * Math.abs(wasm.loss), `loss webgpu ${gpu.loss} vs wasm ${wasm.loss}`);

  const keys = Object.keys(wasm.gradNorms);
  assert.ok(keys.length > 40, `every layer of depth 18 is trainable in full (${keys.length} gradients)`);
  assert.deepEqual(Object.keys(gpu.gradNorms), keys, 'same trainable variables');
  let worst = { key: '', err: 0 };
  for (const k of keys) {
    const w = wasm.gradNorms[k]!;
    const g = gpu.gradNorms[k]!;
    assert.ok(Number.isFinite(g) && w > 0, `${k}: gradient norm webgpu ${g}, wasm ${w}`);
    const err = Math.abs(g - w) / w;
    if (err > worst.err) worst = { key: k, err };
  }
  t.diagnostic(`worst gradient-norm difference ${worst.err.toExponential(2)} (${worst.key})`);
  assert.ok(worst.err <= GRAD_TOLERANCE, `gradient norm of ${worst.key}: relative difference ${worst.err}`);

  for (const part of ['grads', 'after'] as const) {
    assert.deepEqual(Object.keys(gpu[part]), Object.keys(wasm[part]));
    for (const [k, want] of Object.entries(wasm[part])) {
      const err = relErr(gpu[part][k]!, want);
      t.diagnostic(`${part} ${k}: ${err.toExponential(2)}`);
      assert.ok(err <= GRAD_TOLERANCE, `${part} ${k}: max |webgpu − wasm| / max |wasm| = ${err}`);
    }
  }
});
