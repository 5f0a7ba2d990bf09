/**
 * The tfjs WASM files as build-time assets, for every way the library is served: the library build (dist/worker/,
 * vite.config.ts), the demo (demo/vite.config.ts), and the Vite dev servers of the tests and the bench.
 *
 * - The three `.wasm` binaries, copied next to the compiled worker, where src/worker/wasmFiles.ts points.
 * - `tfjs-backend-wasm-threaded-simd.js`, the unminified Emscripten module of the threaded build, which
 *   src/worker/wasmThreads.ts fetches and hands to tfjs's pthread workers (see there for why). Its first line is
 *   added here: `var PPTSN_WASM_GLUE_VERSION = "<tfjs-backend-wasm version>";`, a statement (not a comment, which
 *   a minifier would strip) that the worker reads to check that the file belongs to the tfjs-backend-wasm it runs.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connect, Plugin } from 'vite';
import { assetPlugin } from './assetPlugin.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const WASM_BINARIES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;
/** The pthread glue's file name, the same everywhere it is served (src/worker/wasmFiles.ts names it too). */
export const WASM_GLUE = 'tfjs-backend-wasm-threaded-simd.js';

function wasmPackageDir(): string {
  return dirname(createRequire(join(ROOT, 'package.json')).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
}

/** The installed tfjs-backend-wasm's version and its threaded Emscripten module, as shipped (wasm-out/). */
export function installedGlue(): { version: string; source: string } {
  const dir = wasmPackageDir();
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return { version, source: readFileSync(join(dir, 'wasm-out', WASM_GLUE), 'utf8') };
}

/** The served glue: the version statement, then the installed module unchanged. */
export function wasmGlueText(): string {
  const { version, source } = installedGlue();
  return `var PPTSN_WASM_GLUE_VERSION = ${JSON.stringify(version)};\n${source}`;
}

/** Writes the three binaries and the glue into `dir`. */
export function copyWasmAssets(dir: string): void {
  const from = join(wasmPackageDir(), 'dist');
  mkdirSync(dir, { recursive: true });
  for (const f of WASM_BINARIES) copyFileSync(join(from, f), join(dir, f));
  writeFileSync(join(dir, WASM_GLUE), wasmGlueText());
}

/** Dev/preview middleware: any path ending in /tfjs-backend-wasm-threaded-simd.js gets the glue, untransformed. */
const serveGlue: Connect.NextHandleFunction = (req, res, next) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (!path.endsWith(`/${WASM_GLUE}`)) return next();
  res.setHeader('content-type', 'text/javascript');
  res.setHeader('cache-control', 'no-store');
  res.end(wasmGlueText());
};

/**
 * Vite plugin. In a dev server it serves the glue at any `…/tfjs-backend-wasm-threaded-simd.js` (the tests' and the
 * bench's wasmPaths prefix, /node_modules/@tensorflow/tfjs-backend-wasm/dist/, then finds it beside the binaries).
 * `copyTo`: a build first copies the binaries and the glue there (the library's dist/worker/). `emit`: a build
 * emits the glue as `tfjs-backend-wasm-threaded-simd.js` at the output root (the demo, which names its URL).
 */
export function wasmAssets(options: { copyTo?: string; emit?: boolean } = {}): Plugin {
  const { copyTo, emit } = options;
  return assetPlugin({
    name: 'pptsn-wasm-assets',
    serve: serveGlue,
    ...(copyTo ? { copy: () => copyWasmAssets(copyTo) } : {}),
    ...(emit ? { emit: () => [{ fileName: WASM_GLUE, source: wasmGlueText() }] } : {}),
  });
}
