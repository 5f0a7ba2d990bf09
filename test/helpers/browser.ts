/**
 * Headless Chromium for tests: Debian's /usr/bin/chromium driven by playwright-core, pages served by a Vite
 * dev server on localhost (TypeScript, workers and node_modules resolved as in an app; Range requests so
 * <video> can seek; COOP/COEP so WASM threads work). One server and one browser per test file.
 */
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { wasmAssets } from '../../tools/wasmAssets.js';
import { fileURLToPath } from 'node:url';
import type { Outcome } from '../browser/pages/outcome.js';
import { ffmpegCoreAssets } from '../../tools/ffmpegCore.js';

export type { Outcome };

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--autoplay-policy=no-user-gesture-required',
];

export interface BrowserEnv {
  server: ViteDevServer;
  browser: Browser;
  /** http://localhost:PORT */
  origin: string;
  /** Opens a page; console errors and page errors are collected in `errors`. */
  open(path: string): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export async function startBrowserEnv(options: { isolated?: boolean } = {}): Promise<BrowserEnv> {
  const isolated = options.isolated ?? true;
  const server = await createServer({
    root: ROOT,
    configFile: false,
    logLevel: 'error',
    // Serves tfjs-backend-wasm-threaded-simd.js (the pthread glue) beside the WASM_PATHS binaries, and ffmpeg.wasm
    // where the worker looks for it when it runs from source.
    plugins: [wasmAssets(), ffmpegCoreAssets()],
    server: {
      host: '127.0.0.1',
      port: 0,
      headers: isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {},
      fs: { strict: false },
      hmr: false,
      watch: null,
    },
    // tfjs-backend-wasm ships CommonJS pieces: pre-bundle the tfjs packages so the browser gets ESM.
    optimizeDeps: {
      include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-core/dist/register_all_gradients.js', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', '@jsquash/jpeg/decode.js', 'comlink', 'mediabunny'],
    },
  });
  await server.listen();
  const addr = server.httpServer!.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const origin = `http://127.0.0.1:${port}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  return {
    server,
    browser,
    origin,
    async open(path: string) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(origin + path);
      return { page, errors };
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** The value of a page call's Outcome (test/browser/pages/outcome.ts); fails the test with its code and message. */
export function ok<T>(r: Outcome<T>, what: string): T {
  if (!r.ok) assert.fail(`${what}: ${r.code}: ${r.message}`);
  return r.value;
}

/** Calls `window[api][method](...args)` in `page`: each test page exposes its calls as one object (`rt`, `live`, `tr`). */
export function callPage<T>(page: Page, api: string, method: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(([o, m, a]) => (window as unknown as Record<string, Record<string, (...x: unknown[]) => unknown>>)[o]![m]!(...a), [api, method, args] as const) as Promise<T>;
}
