/**
 * Experiment (issue 23): a whole training step in headless Chromium, cross-origin isolated (tfjs wasm threaded, 2
 * threads on this machine), with our filter-gradient kernel on the worker's thread alone vs split over the kernel
 * helper threads (src/worker/kernelThreads.ts), alternating step by step in one worker
 * (bench/pages/dw-step-worker.ts). Medians.
 *
 *   npx tsx bench/kernels/dw-step-ab-browser.ts [strategy=full] [images=4] [steps=3]
 */
import { startBrowserEnv } from '../../test/helpers/browser.js';
import { WASM_PATHS } from '../../test/helpers/liveModel.js';

const [strategy = 'full', images = '4', steps = '3'] = process.argv.slice(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const env = await startBrowserEnv();
try {
  const { page } = await env.open('/test/browser/pages/dw.html');
  await page.waitForFunction(() => 'dw' in window);
  const request = { wasmPaths: WASM_PATHS, strategy, images: Number(images), steps: Number(steps) };
  const a = await page.evaluate((r) => (window as unknown as { dw: { step(x: unknown): Promise<unknown> } }).dw.step(r), request) as {
    ok: boolean; message?: string; value: { threads: number; helpers: number; one: number[]; split: number[] };
  };
  if (!a.ok) throw new Error(a.message);
  const v = a.value;
  const show = (xs: number[]) => `${xs.map((x) => x.toFixed(2)).join(', ')} (median ${median(xs).toFixed(2)})`;
  console.log(`${strategy} ×${images}, tfjs threads ${v.threads}, kernel helpers ${v.helpers}, s/step: one thread ${show(v.one)} | split ${show(v.split)}`);
} finally {
  await env.close();
}
