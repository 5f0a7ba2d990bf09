/**
 * The demo app (demo/): `npm start` serves it, `npm run build:demo` writes static files to demo-dist/.
 *
 * - COOP/COEP on every response (dev and preview) make the page cross-origin isolated, which the multi-threaded
 *   WASM backend needs (SharedArrayBuffer). COEP is `credentialless` rather than `require-corp` so that a pasted
 *   cross-origin video or model URL without a Cross-Origin-Resource-Policy header still loads (CORS still applies
 *   to what the worker reads); browsers without `credentialless` simply are not isolated and run WASM single-threaded.
 * - The recommended Content-Security-Policy (src/csp.ts, quoted in README.md's Security section) on every
 *   response too, so the demo runs under the policy we tell pages to use: no 'unsafe-eval', WASM threads working.
 *   The demo adds https: to connect-src and media-src, because it lets people paste a video or model URL.
 * - `/weights/…` is served from the repository's weights/ folder (outside the demo root), where the CLI's
 *   `download`/`convert` put converted models, and `/weights/index.json` lists the folders that hold a model.json,
 *   so the page can offer them. A static build has neither: the page then probes weights/pptsn-k400/model.json next
 *   to itself, and explains how to get weights when there are none.
 */
import { defineConfig, type Plugin, type Connect } from 'vite';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { extname, join, normalize, sep } from 'node:path';
import { RECOMMENDED_CSP } from '../src/csp.js';
import { wasmAssets } from '../tools/wasmAssets.js';
import { ffmpegCoreAssets } from '../tools/ffmpegCore.js';

const DEMO = fileURLToPath(new URL('.', import.meta.url));
const WEIGHTS = fileURLToPath(new URL('../weights/', import.meta.url));

/** The recommended policy, plus https: sources for pasted video and model URLs. */
export const DEMO_CSP = RECOMMENDED_CSP.replace("connect-src 'self'", "connect-src 'self' https:").replace("media-src 'self'", "media-src 'self' https:");

const HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'credentialless', 'Content-Security-Policy': DEMO_CSP };

const TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
};

/** The folders under weights/ with a model.json (a converted model), for the page's "weights/ folder" list. */
function listWeightModels(): string[] {
  if (!existsSync(WEIGHTS)) return [];
  return readdirSync(WEIGHTS, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(WEIGHTS, d.name, 'model.json')))
    .map((d) => `weights/${d.name}/model.json`)
    .sort();
}

/** PaddleVideo weight files in weights/ or one folder down, which the page can convert without a CLI step. */
function listWeightFiles(): string[] {
  if (!existsSync(WEIGHTS)) return [];
  const out: string[] = [];
  const isWeights = (n: string) => /\.(pdparams|pdiparams)$/i.test(n);
  for (const d of readdirSync(WEIGHTS, { withFileTypes: true })) {
    if (d.isFile() && isWeights(d.name)) out.push(`weights/${d.name}`);
    else if (d.isDirectory()) for (const f of readdirSync(join(WEIGHTS, d.name))) if (isWeights(f)) out.push(`weights/${d.name}/${f}`);
  }
  return out.sort();
}

const serveWeights: Connect.NextHandleFunction = (req, res, next) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (!url.pathname.startsWith('/weights/')) return next();
  if (url.pathname === '/weights/index.json') {
    res.setHeader('content-type', 'application/json');
    res.setHeader('cache-control', 'no-store');
    res.end(JSON.stringify({ models: listWeightModels(), weightFiles: listWeightFiles(), download: K400_ROUTE.slice(1) }));
    return;
  }
  // Resolve inside weights/ only: a `..` in the path must not reach the rest of the disk.
  const file = normalize(join(WEIGHTS, decodeURIComponent(url.pathname.slice('/weights/'.length))));
  if (!file.startsWith(WEIGHTS.endsWith(sep) ? WEIGHTS : WEIGHTS + sep) || !existsSync(file) || !statSync(file).isFile()) {
    // A real 404 (not the SPA fallback's index.html), so the page can tell "no model here" from a model.
    res.statusCode = 404;
    res.end('not found');
    return;
  }
  res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
  res.setHeader('content-length', String(statSync(file).size));
  createReadStream(file).pipe(res);
};

/**
 * PaddleVideo's host sends no CORS headers: the page fetches the released K400 weights through this same-origin
 * route, which the dev server proxies (PPTSN_WEIGHTS_HOST replaces the host, for tests and mirrors).
 */
const K400_ROUTE = '/paddlevideo/PaddleVideo-release2.2/ppTSN_k400.pdparams';
const WEIGHTS_HOST = process.env['PPTSN_WEIGHTS_HOST'] ?? 'https://videotag.bj.bcebos.com';

function weightsFolder(): Plugin {
  return {
    name: 'pptsn-demo-weights',
    // The static build's manifest: no models (weights/ is not copied) and no proxy, so the page offers neither
    // and never probes for files that would 404.
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'weights/index.json', source: JSON.stringify({ models: [], weightFiles: [] }) });
    },
    configureServer(server) {
      server.middlewares.use(serveWeights);
    },
    configurePreviewServer(server) {
      server.middlewares.use(serveWeights);
    },
  };
}

export default defineConfig({
  root: DEMO,
  // Relative URLs: the built demo works from any sub-path it is deployed under.
  base: './',
  // One page, no client-side routes: a wrong URL (a model.json typo) must be a 404, not index.html.
  appType: 'mpa',
  publicDir: false,
  // The pthread glue for WASM threads: served in dev, emitted as ./tfjs-backend-wasm-threaded-simd.js in a build.
  // ffmpeg.wasm (the fallback decoder) served in dev where the worker looks for it.
  plugins: [weightsFolder(), wasmAssets({ emit: true }), ffmpegCoreAssets({ emitTo: 'assets' })],
  server: { headers: HEADERS, open: false, proxy: { '/paddlevideo/': { target: WEIGHTS_HOST, changeOrigin: true, rewrite: (p) => p.replace(/^\/paddlevideo/, '') } } },
  preview: { headers: HEADERS },
  // tfjs-backend-wasm ships CommonJS pieces: pre-bundle the tfjs packages so the browser gets ESM. Every bare import
  // the page or its worker can reach is listed, lazy ones included (the trainer's gradients, the rawframes JPEG
  // decoder): one Vite discovers on first use is bundled by a second optimiser run, and the page reloads, losing the
  // user's classes and clips (issue 26; test/unit/demo-deps.test.ts).
  optimizeDeps: {
    include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-core/dist/register_all_gradients.js', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', '@jsquash/jpeg/decode.js', 'comlink', 'mediabunny'],
  },
  build: {
    outDir: fileURLToPath(new URL('../demo-dist/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
  },
  worker: { format: 'es' },
});
