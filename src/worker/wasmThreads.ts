/**
 * Multi-threaded WASM for tfjs-backend-wasm 4.x, made to work by default on cross-origin isolated pages.
 *
 * Two things stand in the way, and both are fixed only while the wasm backend initialises (`withWasmThreads`):
 *
 * 1. Minified bundles. tfjs starts its pthread workers from `factory.toString()` of its Emscripten module: the
 *    workers `importScripts` a Blob of `var WasmBackendModuleThreadedSimd = <that text>`. Once an app's bundler
 *    minifies the factory, the text refers to renamed variables of the enclosing bundle and every pthread dies
 *    with "e is not defined", which hangs the backend. We ship the factory's unminified text as a string literal
 *    (wasmPthreadGlue.ts, generated from the installed package; minifiers never rewrite string contents) and
 *    swap it into that one Blob. The pthread side is then the original Emscripten code, talking to the
 *    (minified, but behaviourally identical) main-thread side through string-keyed messages.
 * 2. Half the cores. tfjs sizes its XNNPACK thread pool as hardwareConcurrency / 2 (it assumes two hyperthreads
 *    per core) and caps any `setThreadsCount` at that: on a 2-core machine the "threaded" backend runs one
 *    thread. `navigator.hardwareConcurrency` is read once, by the module's C++ static initialiser during
 *    initialisation, so reporting twice the wanted count for that moment gives a pool of the wanted size.
 *
 * Without cross-origin isolation (no SharedArrayBuffer) tfjs picks the single-threaded SIMD binary on its own and
 * none of this runs.
 */
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { PTHREAD_GLUE_SOURCE, PTHREAD_GLUE_VERSION } from './wasmPthreadGlue.js';

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

/** Whether the shipped pthread source matches the tfjs-backend-wasm in this bundle. */
export function pthreadGlueMatches(): boolean {
  return version_wasm === PTHREAD_GLUE_VERSION;
}

/**
 * Runs `init` (the wasm backend's `tf.setBackend`) with the pthread Blob replaced by the unminified factory and
 * `navigator.hardwareConcurrency` reporting 2·`threads`, then puts both globals back.
 */
export async function withWasmThreads<T>(threads: number, init: () => Promise<T>): Promise<T> {
  const g = globalThis as { Blob: typeof Blob };
  const OriginalBlob = g.Blob;
  const glueMatches = pthreadGlueMatches();
  class PthreadScriptBlob extends OriginalBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      const only = parts?.length === 1 ? parts[0] : undefined;
      // Only the one Blob tfjs builds for its pthreads' importScripts; everything else passes through untouched.
      if (glueMatches && typeof only === 'string' && only.startsWith(FACTORY_PREFIX)) parts = [FACTORY_PREFIX + PTHREAD_GLUE_SOURCE];
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
