/**
 * Our WebAssembly SIMD filter-gradient kernel (src/core/model/filterGradWasm.ts) in a browser worker, headless
 * Chromium, cross-origin isolated: tfjs wasm starts threaded as the engine worker starts it, so its heap is a
 * shared memory, which the kernel's module imports, and the kernel splits its work over the helper threads of
 * src/worker/kernelThreads.ts (one on a 2-core machine) that instantiate the same module on that memory. The
 * kernel's bytes are made at run time (wasmAsm.ts), so no asset has to load; this checks that it validates there
 * (relaxed SIMD in Chromium), runs on the shared heap, equals the per-tap matMul path, and that the threaded run
 * (every shape of at least MIN_PARALLEL_MACS, input channels split 8/8, 5/4 blocks of 4, a 1×1, a 3×3 stride 2)
 * equals the one-thread run bit for bit, also on tensors in heap memory grown after the helpers started, while the
 * small shapes stay on one thread; after the engine's dispose stops the helpers, the kernel runs (right) on one.
 * On a page that is not isolated (single-threaded tfjs, an unshared heap) no helper starts and the kernel runs alone.
 * The BN backward and forward kernels (batchNormGradWasm.ts, batchNormForwardWasm.ts) run on both heaps and equal
 * their tfjs ops; on the shared heap the gradients' transpose and row copies equal tf.transpose / tf.gather bit for
 * bit, and a small-map conv by im2col + product equals tf.conv2d, and the pooling gradients (poolGradWasm.ts) tfjs's.
 *
 *   node --import tsx --test test/browser/dw-kernel.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBrowserEnv, type BrowserEnv } from '../helpers/browser.js';
import { WASM_PATHS } from '../helpers/liveModel.js';
import { MIN_PARALLEL_MACS } from '../../src/core/model/filterGradWasm.js';

let env: BrowserEnv;
before(async () => { env = await startBrowserEnv(); });
after(async () => { await env?.close(); });

interface Row { shape: string; macs: number; inGrownHeap: boolean; errs: number[]; identical: boolean; ran: boolean; split: boolean; helperGroups: number }
interface Answer {
  ok: boolean;
  message?: string;
  value?: { variant: string | null; shared: boolean; threads: number; helpers: number; heapGrewBy: number; afterUninstall: { helpers: number; executor: boolean; split: boolean; err: number } | null; bn: { usable: boolean; ran: boolean; errs: number[] } | null; copies: { transposeRan: boolean; transposeExact: boolean; takeRowsExact: boolean; im2colUsed: boolean; convErr: number; poolRan: boolean; poolExact: boolean } | null; rows: Row[]; tensorsLeft: number };
}

test('in a threaded wasm worker the kernel validates with relaxed SIMD, runs split over the helper threads on the shared heap and equals the per-tap path and its one-thread run', { timeout: 180_000 }, async () => {
  const { page, errors } = await env.open('/test/browser/pages/dw.html');
  await page.waitForFunction(() => 'dw' in window);
  const shapes = [[2, 9, 9, 16, 32, 3], [1, 7, 5, 8, 16, 3], [2, 6, 6, 32, 64, 1], [2, 14, 14, 32, 64, 3], [2, 13, 11, 36, 24, 3], [2, 24, 24, 64, 64, 1], [2, 17, 15, 32, 64, 3, 2]];
  const answer = await page.evaluate((s) => (window as unknown as { dw: { run(r: unknown): Promise<unknown> } }).dw.run({ mode: 'check', shapes: s[0], wasmPaths: s[1], grow: true }), [shapes, WASM_PATHS] as const) as Answer;
  assert.ok(answer.ok, `${answer.message}; console: ${errors.join(" | ")}`);
  const v = answer.value!;
  assert.ok(v.shared && v.threads > 1, `threaded wasm with a shared heap (shared ${v.shared}, threads ${v.threads})`);
  assert.equal(v.helpers, v.threads - 1, 'one kernel helper per further tfjs thread');
  assert.equal(v.variant, 'relaxed', 'Chromium validates f32x4.relaxed_madd');
  // The heap grew after the helpers instantiated the kernel on it: they still reach tensors in the new memory.
  assert.ok(v.heapGrewBy > 0 && v.rows.some((r) => r.split && r.inGrownHeap), `split rows with x in memory grown after the helpers started (grew by ${v.heapGrewBy} bytes): ${v.rows.map((r) => `${r.shape} ${r.inGrownHeap}`).join(', ')}`);
  assert.equal(v.rows.filter((r) => r.split).length, 4, `four shapes run split: ${v.rows.map((r) => `${r.shape} ${r.split}`).join(', ')}`);
  for (const r of v.rows) {
    assert.ok(r.ran, `${r.shape}: PPTSNConv2DBackpropFilter ran`);
    assert.equal(r.split, r.macs >= MIN_PARALLEL_MACS, `${r.shape} (${r.macs} MACs): split over the helpers exactly from MIN_PARALLEL_MACS`);
    // Each helper takes its first group by number, so a split one ran at least one group on every helper.
    if (r.split) assert.ok(r.helperGroups >= v.helpers, `${r.shape}: the helpers ran ${r.helperGroups} groups`);
    for (const e of r.errs) assert.ok(e < 1e-5, `${r.shape}: relative difference to the per-tap path ${e}`);
    assert.ok(r.identical, `${r.shape}: the threaded run equals the one-thread run bit for bit`);
  }
  // The BN backward and forward kernels on the same shared heap equal their ops.
  assert.ok(v.bn!.usable && v.bn!.ran, `PPTSNBatchNormGrad and PPTSNBatchNormTrain run on the shared heap: ${JSON.stringify(v.bn)}`);
  for (const e of v.bn!.errs) assert.ok(e < 1e-5, `BN backward, forward: relative difference to the ops ${e}`);
  // The gradients' copy kernels (transposeWasm.ts, takeRows.ts) and the im2col conv (im2col.ts) on the shared heap.
  const c = v.copies!;
  assert.ok(c.transposeRan && c.transposeExact && c.takeRowsExact, `transpose and takeRows on the shared heap: ${JSON.stringify(c)}`);
  assert.ok(c.im2colUsed && c.convErr < 1e-5, `a small-map conv by im2col + product equals tf.conv2d: ${JSON.stringify(c)}`);
  assert.ok(c.poolRan && c.poolExact, `the pooling gradients equal tfjs's MaxPoolGrad / AvgPoolGrad on the shared heap: ${JSON.stringify(c)}`);
  // The engine's dispose (uninstallKernelThreads): helpers stopped, the kernel on one thread, still right.
  assert.deepEqual({ ...v.afterUninstall, err: undefined }, { helpers: 0, executor: false, split: false, err: undefined });
  assert.ok(v.afterUninstall!.err < 1e-5, `after the helpers stopped: relative difference ${v.afterUninstall!.err}`);
  assert.equal(v.tensorsLeft, 0);
});

test('on a page that is not cross-origin isolated (single-threaded tfjs, no shared heap) the kernel runs alone, no helper started', { timeout: 180_000 }, async () => {
  const plain = await startBrowserEnv({ isolated: false });
  try {
    const { page, errors } = await plain.open('/test/browser/pages/dw.html');
    await page.waitForFunction(() => 'dw' in window);
    const answer = await page.evaluate((s) => (window as unknown as { dw: { run(r: unknown): Promise<unknown> } }).dw.run({ mode: 'check', shapes: s[0], wasmPaths: s[1] }), [[[2, 14, 14, 32, 64, 3]], WASM_PATHS] as const) as Answer;
    assert.ok(answer.ok, `${answer.message}; console: ${errors.join(" | ")}`);
    const v = answer.value!;
    assert.deepEqual([v.shared, v.threads, v.helpers], [false, 1, 0]);
    const r = v.rows[0]!;
    assert.ok(r.ran && !r.split && r.identical, `${r.shape}: ran ${r.ran}, split ${r.split}, identical ${r.identical}`);
    for (const e of r.errs) assert.ok(e < 1e-5, `${r.shape}: relative difference to the per-tap path ${e}`);
    assert.ok(v.bn!.usable && v.bn!.ran && v.bn!.errs.every((e) => e < 1e-5), `BN backward and forward kernels on an unshared heap: ${JSON.stringify(v.bn)}`);
    assert.equal(v.tensorsLeft, 0);
  } finally {
    await plain.close();
  }
});
