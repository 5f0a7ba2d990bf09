/**
 * Experiment (issue 23): a whole training step in headless Chromium, cross-origin isolated (tfjs wasm threaded, 2
 * threads on this machine), with our filter-gradient kernel on the worker's thread alone vs split over the kernel
 * helper threads (src/worker/kernelThreads.ts), alternating step by step in one worker
 * (bench/pages/dw-step-worker.ts). Medians.
 *
 *   npx tsx bench/kernels/dw-step-ab-browser.ts [strategy=full] [images=4] [steps=3] [--profile]
 */
import { startBrowserEnv } from '../../test/helpers/browser.js';
import { WASM_PATHS } from '../../test/helpers/liveModel.js';

const profile = process.argv.includes('--profile');
const [strategy = 'full', images = '4', steps = '3'] = process.argv.slice(2).filter((a) => a !== '--profile');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const env = await startBrowserEnv();
try {
  const { page } = await env.open('/test/browser/pages/dw.html');
  await page.waitForFunction(() => 'dw' in window);
  const request = { wasmPaths: WASM_PATHS, strategy, images: Number(images), steps: Number(steps), profile };
  const a = await page.evaluate((r) => (window as unknown as { dw: { step(x: unknown): Promise<unknown> } }).dw.step(r), request) as {
    ok: boolean; message?: string; value: { threads: number; helpers: number; one: number[]; split: number[]; profiles: Record<string, Array<{ group: string; calls: number; ms: number; share: number; gmacs?: number }>> };
  };
  if (!a.ok) throw new Error(a.message);
  const v = a.value;
  const show = (xs: number[]) => `${xs.map((x) => x.toFixed(2)).join(', ')} (median ${median(xs).toFixed(2)})`;
  console.log(`${strategy} ×${images}, tfjs threads ${v.threads}, kernel helpers ${v.helpers}, s/step: one thread ${show(v.one)} | split ${show(v.split)}`);
  for (const [k, rows] of Object.entries(v.profiles)) {
    const total = rows.reduce((a, r) => a + r.ms, 0);
    console.log(`profile, ${k}: summed kernel time ${total.toFixed(0)} ms; ` + rows.slice(0, 12).map((r) => `${r.group} ${r.ms.toFixed(0)} ms (${(100 * r.share).toFixed(0)} %${r.gmacs ? `, ${r.gmacs} GMAC/s` : ''})`).join('; '));
  }
} finally {
  await env.close();
}
