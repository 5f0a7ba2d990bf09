/**
 * Multi-threaded WASM for tfjs-backend-wasm 4.x, made to work by default on cross-origin isolated pages.
 *
 * Two things stand in the way, and both are fixed only while the wasm backend initialises (`withWasmThreads`):
 *
 * 1. Minified bundles. tfjs starts its pthread workers from `factory.toString()` of its Emscripten module: the
 *    workers `importScripts` a Blob of `var WasmBackendModuleThreadedSimd = <that text>`. Once an app's bundler
 *    minifies the factory, the text refers to renamed variables of the enclosing bundle and every pthread dies
 *    with "e is not defined", which hangs the backend. The build serves tfjs's own unminified module,
 *    `tfjs-backend-wasm-threaded-simd.js`, next to the worker as an asset (tools/wasmAssets.ts; bundlers copy
 *    assets without rewriting them), `loadPthreadGlue` fetches its text, and it replaces that one Blob. The
 *    pthread side is then the original Emscripten code, talking to the (minified, but behaviourally identical)
 *    main-thread side through string-keyed messages; the file's first statement names the tfjs-backend-wasm
 *    version it came from, which must be the one running.
 * 2. Half the cores. tfjs sizes its XNNPACK thread pool as hardwareConcurrency / 2 (it assumes two hyperthreads
 *    per core) and caps any `setThreadsCount` at that: on a 2-core machine the "threaded" backend runs one
 *    thread. `navigator.hardwareConcurrency` is read once, by the module's C++ static initialiser during
 *    initialisation, so reporting twice the wanted count for that moment gives a pool of the wanted size.
 *
 * Without cross-origin isolation (no SharedArrayBuffer) tfjs picks the single-threaded SIMD binary on its own and
 * none of this runs; neither does it when the glue is missing or from another version (backends.ts then starts
 * one thread and says why).
 */
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { messageOf } from '../core/errors.js';

/** tfjs-backend-wasm pre-creates 8 pthread workers: more threads than that are never used. */
const MAX_THREADS = 8;
const FACTORY_PREFIX = 'var WasmBackendModuleThreadedSimd = ';

/** Whether this context can run WASM threads at all (cross-origin isolated, SharedArrayBuffer present). */
export function wasmThreadsPossible(): boolean {
  return globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';
}

/**
 * Whether this context's Content-Security-Policy lets script load from a blob: URL. tfjs-wasm's pthread workers
 * are started from blob: URLs (so they inherit this context's policy) and `importScripts` the Emscripten module
 * from another blob: URL, which obeys `script-src`: without `blob:` there they die on start and take the engine
 * worker down. Probed with a dynamic import of an empty module, which `script-src` governs the same way.
 */
export async function blobScriptsAllowed(): Promise<boolean> {
  if (typeof Blob === 'undefined' || typeof URL.createObjectURL !== 'function') return false;
  const url = URL.createObjectURL(new Blob(['export {};'], { type: 'text/javascript' }));
  try {
    await import(/* @vite-ignore */ /* webpackIgnore: true */ url);
    return true;
  } catch {
    return false;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Threads to ask for: every logical core (the compute runs in a worker, so the page's thread stays free). */
export function defaultWasmThreadCount(): number {
  const n = globalThis.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(MAX_THREADS, Math.floor(n)));
}

/** The version statement tools/wasmAssets.ts puts first in the glue (a minifier keeps a statement and its string). */
const VERSION_STATEMENT = /^\s*var\s+PPTSN_WASM_GLUE_VERSION\s*=\s*["']([^"']+)["']/;

/** The tfjs-backend-wasm version a glue text was copied from, or null when it does not say. */
export function glueVersion(text: string): string | null {
  return VERSION_STATEMENT.exec(text)?.[1] ?? null;
}

/**
 * Fetches the pthread glue from the first of `urls` that serves it and checks it is for the tfjs-backend-wasm in
 * this bundle. Returns its text, or why threads cannot use it (a sentence for the backend report); never throws.
 */
export async function loadPthreadGlue(urls: readonly string[]): Promise<{ text: string } | { reason: string }> {
  if (urls.length === 0) return { reason: 'no URL for tfjs-backend-wasm-threaded-simd.js in wasmPaths' };
  const reasons: string[] = [];
  for (const url of urls) {
    const r = await fetchGlue(url);
    if ('text' in r) return r;
    reasons.push(r.reason);
  }
  return { reason: reasons.join('; ') };
}

async function fetchGlue(url: string): Promise<{ text: string } | { reason: string }> {
  let text: string;
  try {
    const res = await fetch(url);
    if (!res.ok) return { reason: `${url} answered HTTP ${res.status}: serve tfjs-backend-wasm-threaded-simd.js beside the .wasm files` };
    text = await res.text();
  } catch (e) {
    return { reason: `could not fetch ${url} (${messageOf(e)})` };
  }
  const version = glueVersion(text);
  if (version === null) return { reason: `${url} is not pptsn-web's pthread glue (no PPTSN_WASM_GLUE_VERSION statement)` };
  if (version !== version_wasm) return { reason: `pptsn-web's pthread source is for tfjs-backend-wasm ${version}, this app has ${version_wasm}` };
  return { text };
}

/**
 * Runs `init` (the wasm backend's `tf.setBackend`) with the pthread Blob replaced by `glue` (the text
 * `loadPthreadGlue` returned: it defines `WasmBackendModuleThreadedSimd` itself) and `navigator.hardwareConcurrency`
 * reporting 2·`threads`, then puts both globals back.
 */
export async function withWasmThreads<T>(threads: number, glue: string, init: () => Promise<T>): Promise<T> {
  const g = globalThis as { Blob: typeof Blob };
  const OriginalBlob = g.Blob;
  class PthreadScriptBlob extends OriginalBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      const only = parts?.length === 1 ? parts[0] : undefined;
      // Only the one Blob tfjs builds for its pthreads' importScripts; everything else passes through untouched.
      if (typeof only === 'string' && only.startsWith(FACTORY_PREFIX)) parts = [glue];
      super(parts, options);
    }
  }
  const nav = globalThis.navigator as unknown as Record<string, unknown>;
  const own = Object.getOwnPropertyDescriptor(nav, 'hardwareConcurrency');
  g.Blob = PthreadScriptBlob;
  Object.defineProperty(nav, 'hardwareConcurrency', { value: 2 * threads, configurable: true });
  try {
    return await init();
  } finally {
    g.Blob = OriginalBlob;
    if (own) Object.defineProperty(nav, 'hardwareConcurrency', own);
    else delete nav.hardwareConcurrency;
  }
}
