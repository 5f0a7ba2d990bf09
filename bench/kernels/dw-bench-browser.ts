/**
 * Experiment (issue 23): dw-bench.ts's comparison in headless Chromium, in a module worker that starts tfjs wasm
 * as the engine worker does (test/browser/pages/dw-worker.ts): cross-origin isolated (tfjs threaded, 2 threads on
 * this machine, shared heap; our kernel on this thread alone, and split over it and the kernel helper threads as
 * the trainer runs it) and not isolated (single-threaded tfjs, no helpers). Interleaved rep by rep; medians.
 *
 *   npx tsx bench/kernels/dw-bench-browser.ts [reps=5]
 */
import { startBrowserEnv } from '../../test/helpers/browser.js';
import { WASM_PATHS } from '../../test/helpers/liveModel.js';

const SHAPES = [[4, 56, 56, 64, 64, 3], [4, 28, 28, 128, 128, 3], [4, 14, 14, 256, 256, 3], [4, 7, 7, 512, 512, 3], [4, 56, 56, 64, 256, 1], [4, 28, 28, 512, 128, 1]];
const reps = Number(process.argv[2] ?? 5);

for (const isolated of [true, false]) {
  const env = await startBrowserEnv({ isolated });
  try {
    const { page } = await env.open('/test/browser/pages/dw.html');
    await page.waitForFunction(() => 'dw' in window);
    const a = await page.evaluate((r) => (window as unknown as { dw: { run(x: unknown): Promise<unknown> } }).dw.run(r), { mode: 'bench', shapes: SHAPES, wasmPaths: WASM_PATHS, reps }) as {
      ok: boolean; message?: string;
      value: { variant: string; shared: boolean; threads: number; helpers: number; userAgent: string; rows: Array<{ shape: string; errs: number[]; timings: Array<{ name: string; ms: number; gmacs: number }> }> };
    };
    if (!a.ok) throw new Error(a.message);
    const v = a.value;
    console.log(`${v.userAgent.match(/Chrome\/[\d.]+/)?.[0]}, isolated ${isolated}: tfjs threads ${v.threads}, kernel helpers ${v.helpers}, shared heap ${v.shared}, variant ${v.variant}`);
    for (const r of v.rows) console.log(`  ${r.shape}: ` + r.timings.map((t) => `${t.name} ${t.ms.toFixed(1)} ms ${t.gmacs.toFixed(1)} GMAC/s`).join(' | ') + ` (rel.err ${r.errs.map((e) => e.toExponential(0)).join(', ')})`);
  } finally {
    await env.close();
  }
}
