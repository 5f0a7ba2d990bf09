/**
 * Experiment (issue 23): a whole training step in headless Chromium, cross-origin isolated (tfjs wasm threaded, 2
 * threads on this machine), with our filter-gradient kernel on the worker's thread alone vs split over the kernel
 * helper threads (src/worker/kernelThreads.ts), alternating step by step in one worker
 * (bench/pages/dw-step-worker.ts). Medians.
 *
 * `--bn`: the BN backward's tfjs ops vs our BN kernel (batchNormGradWasm.ts) instead, filter-gradient kernel split.
 *
 *   npx tsx bench/kernels/dw-step-ab-browser.ts [strategy=full] [images=4] [steps=3] [--profile] [--bn]
 */
import { startBrowserEnv } from '../../test/helpers/browser.js';
import { WASM_PATHS } from '../../test/helpers/liveModel.js';

const profile = process.argv.includes('--profile');
const bn = process.argv.includes('--bn');
const [strategy = 'full', images = '4', steps = '3'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const env = await startBrowserEnv();
try {
  const { page } = await env.open('/test/browser/pages/dw.html');
  await page.waitForFunction(() => 'dw' in window);
  const request = { wasmPaths: WASM_PATHS, strategy, images: Number(images), steps: Number(steps), profile, toggle: bn ? 'bn' : 'threads' };
  const a = await page.evaluate((r) => (window as unknown as { dw: { step(x: unknown): Promise<unknown> } }).dw.step(r), request) as {
    ok: boolean; message?: string; value: { threads: number; helpers: number; one: number[]; split: number[]; profiles: Record<string, Array<{ group: string; calls: number; ms: number; share: number; gmacs?: number }>> };
  };
  if (!a.ok) throw new Error(a.message);
  const v = a.value;
  const show = (xs: number[]) => `${xs.map((x) => x.toFixed(2)).join(', ')} (median ${median(xs).toFixed(2)})`;
  console.log(`${strategy} ×${images}, tfjs threads ${v.threads}, kernel helpers ${v.helpers}, s/step: ${bn ? 'BN ops' : 'one thread'} ${show(v.one)} | ${bn ? 'our BN kernel' : 'split'} ${show(v.split)}`);
  for (const [k, rows] of Object.entries(v.profiles)) {
    const total = rows.reduce((a, r) => a + r.ms, 0);
    console.log(`profile, ${bn ? { one: 'BN ops', split: 'our BN kernel' }[k] ?? k : k}: summed kernel time ${total.toFixed(0)} ms; ` + rows.filter((r, i) => i < 12 || (bn && /BatchNorm|Multiply|Step/.test(r.group))).map((r) => `${r.group} ${r.ms.toFixed(0)} ms (${(100 * r.share).toFixed(0)} %${r.gmacs ? `, ${r.gmacs} GMAC/s` : ''})`).join('; '));
  }
} finally {
  await env.close();
}
