/**
 * Default locations of the tfjs WASM files. The build copies them next to the compiled worker (dist/worker/,
 * tools/wasmAssets.ts), and these `new URL('./…', import.meta.url)` references are the pattern Vite, webpack and
 * Rollup recognise: an app that bundles pptsn-web emits the files as assets and rewrites the URLs, and an unbundled
 * copy of dist/ (or the self-contained bundle) finds them beside the worker script. Each is a literal so bundlers
 * can see it.
 */
import type { WasmPaths } from '../common/types.js';

/** The pthread glue (wasmThreads.ts): tfjs-backend-wasm's unminified threaded Emscripten module. */
export const WASM_GLUE_FILE = 'tfjs-backend-wasm-threaded-simd.js';

export function defaultWasmPaths(): Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm' | typeof WASM_GLUE_FILE, string> {
  return {
    'tfjs-backend-wasm.wasm': new URL('./tfjs-backend-wasm.wasm', import.meta.url).href,
    'tfjs-backend-wasm-simd.wasm': new URL('./tfjs-backend-wasm-simd.wasm', import.meta.url).href,
    'tfjs-backend-wasm-threaded-simd.wasm': new URL('./tfjs-backend-wasm-threaded-simd.wasm', import.meta.url).href,
    'tfjs-backend-wasm-threaded-simd.js': new URL('./tfjs-backend-wasm-threaded-simd.js', import.meta.url).href,
  };
}

/**
 * Where the pthread glue is for `paths`: beside the binaries for a prefix, the record's own entry, else beside its
 * threaded binary (same name, `.js`).
 */
export function wasmGlueUrl(paths: WasmPaths): string | null {
  if (typeof paths === 'string') return paths + WASM_GLUE_FILE;
  const own = paths[WASM_GLUE_FILE];
  if (own !== undefined) return own;
  const threaded = paths['tfjs-backend-wasm-threaded-simd.wasm'];
  return threaded !== undefined && /\.wasm(?=$|[?#])/.test(threaded) ? threaded.replace(/\.wasm(?=$|[?#])/, '.js') : null;
}
