/**
 * The bench's browser: the test helper's Vite dev server setup (COOP/COEP so the page is cross-origin isolated and
 * WASM threads and measureUserAgentSpecificMemory are available) and Debian's headless Chromium with the same
 * SwiftShader flags, plus eager memory measurement so measureUserAgentSpecificMemory answers in seconds.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { wasmAssets } from '../tools/wasmAssets.js';
import { join } from 'node:path';
import { CHROMIUM_FLAGS, ROOT } from '../test/helpers/browser.js';

export interface BenchBrowser {
  origin: string;
  browser: Browser;
  server: ViteDevServer;
  page(): Promise<Page>;
  close(): Promise<void>;
}

/** `flags`: Chromium's flags (default: the tests' SwiftShader set; bench/gpu.ts has the hardware-GPU set). */
export async function startBenchBrowser(log: (s: string) => void, flags: readonly string[] = CHROMIUM_FLAGS): Promise<BenchBrowser> {
  const server = await createServer({
    root: ROOT,
    configFile: false,
    logLevel: 'error',
    // Serves tfjs-backend-wasm-threaded-simd.js (the pthread glue) beside the WASM_PATHS binaries.
    plugins: [wasmAssets()],
    // Its own optimised-deps cache: tests running beside the bench re-optimise node_modules/.vite under our feet.
    cacheDir: join(ROOT, 'bench/.cache/vite'),
    server: {
      host: '127.0.0.1',
      port: 0,
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
      fs: { strict: false },
      hmr: false,
      watch: null,
    },
    optimizeDeps: {
      include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-core/dist/register_all_gradients.js', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', 'comlink', 'mediabunny'],
      // One optimisation pass, decided up front: a dependency discovered later (in a worker) re-optimises and the
      // page would end up with two copies of tfjs-core, one of them without the backend registered.
      noDiscovery: true,
      entries: [],
      // onnxruntime-web loads its own .mjs/.wasm from wasmPaths at run time: serve it untouched.
      exclude: ['onnxruntime-web'],
    },
  });
  await server.listen();
  const addr = server.httpServer!.address();
  const origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  // $PPTSN_CHROMIUM: another Chromium build (a GPU machine without Debian's; bench/gpu-session.sh passes it on).
  const browser = await chromium.launch({ executablePath: process.env['PPTSN_CHROMIUM'] ?? '/usr/bin/chromium', args: [...flags, '--enable-blink-features=ForceEagerMeasureMemory'] });
  return {
    origin,
    browser,
    server,
    async page() {
      const page = await browser.newPage();
      page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log(`  [page ${m.type()}] ${m.text().slice(0, 300)}`); });
      page.on('pageerror', (e) => log(`  [page error] ${String(e).slice(0, 300)}`));
      await page.goto(`${origin}/bench/pages/bench.html`);
      await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 120_000 });
      return page;
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
