/**
 * The benchmark page: `window.bench` runs one measurement per call for bench/run.ts (driven by playwright).
 * Network throughput runs in a fresh bench worker per call; end to end goes through the public API (PPTSN.load +
 * classify, i.e. the library's own worker), exactly as an app would.
 */
import { wrap, releaseProxy } from 'comlink';
import type { NetOptions, NetResult, NetWorkerApi } from './net-worker.js';
import type { BackendName } from '../../src/api/types.js';
import { e2e, type E2EOptions, type E2EResult } from './e2e.js';

async function inWorker<T>(f: (api: ReturnType<typeof wrap<NetWorkerApi>>) => Promise<T>): Promise<T> {
  const worker = new Worker(new URL('./net-worker.ts', import.meta.url), { type: 'module' });
  const api = wrap<NetWorkerApi>(worker);
  try {
    return await f(api);
  } finally {
    api[releaseProxy]();
    worker.terminate();
  }
}

const bench = {
  environment() {
    const nav = navigator as Navigator & { deviceMemory?: number; userAgentData?: { brands: { brand: string; version: string }[] } };
    return { userAgent: nav.userAgent, hardwareConcurrency: nav.hardwareConcurrency, deviceMemory: nav.deviceMemory ?? null, crossOriginIsolated: globalThis.crossOriginIsolated };
  },
  tfjs(backend: BackendName, o: NetOptions): Promise<NetResult> {
    return inWorker((api) => api.tfjs(backend, o));
  },
  ort(o: NetOptions & { numThreads?: number }): Promise<NetResult> {
    return inWorker((api) => api.ort(o));
  },
  e2e(o: E2EOptions): Promise<E2EResult> {
    return e2e(o);
  },
};

(window as unknown as { bench: typeof bench }).bench = bench;
document.title = 'ready';
