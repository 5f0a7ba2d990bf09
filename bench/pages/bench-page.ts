/**
 * The benchmark page: `window.bench` for bench/run.ts (driven by playwright). Network measurements run in bench
 * workers (one per runtime, kept open so run.ts can interleave them rep by rep); end to end goes through the
 * public API (PPTSN.load + classify, i.e. the library's own worker) exactly as an app would.
 */
import { wrap, releaseProxy, type Remote } from 'comlink';
import type { NetOptions, NetWorkerApi, SetupInfo } from './net-worker.js';
import type { BackendName } from '../../src/api/types.js';
import { e2e, trainBench, type E2EOptions, type TrainBenchOptions } from './e2e.js';
import { trainDefaultsBench, type TrainDefaultsOptions } from './trainDefaults.js';

const open = new Map<number, { worker: Worker; api: Remote<NetWorkerApi> }>();
let nextId = 1;

const bench = {
  environment() {
    const nav = navigator as Navigator & { deviceMemory?: number };
    return { userAgent: nav.userAgent, hardwareConcurrency: nav.hardwareConcurrency, deviceMemory: nav.deviceMemory ?? null, crossOriginIsolated: globalThis.crossOriginIsolated };
  },
  async open(kind: 'tfjs' | 'ort' | 'train', backend: BackendName, o: NetOptions): Promise<{ id: number; info: SetupInfo }> {
    const worker = new Worker(new URL('./net-worker.ts', import.meta.url), { type: 'module' });
    const api = wrap<NetWorkerApi>(worker);
    const id = nextId++;
    open.set(id, { worker, api });
    return { id, info: await api.setup(kind, backend, o) };
  },
  time(id: number, n: number): Promise<number> {
    return open.get(id)!.api.time(n);
  },
  check(id: number): Promise<number[]> {
    return open.get(id)!.api.check();
  },
  profile(id: number, n: number) {
    return open.get(id)!.api.profile(n);
  },
  memory(id: number) {
    return open.get(id)!.api.memory();
  },
  close(id: number): void {
    const w = open.get(id);
    if (!w) return;
    w.api[releaseProxy]();
    w.worker.terminate();
    open.delete(id);
  },
  e2e(o: E2EOptions) {
    return e2e(o);
  },
  train(o: TrainBenchOptions) {
    return trainBench(o);
  },
  trainDefaults(o: TrainDefaultsOptions) {
    return trainDefaultsBench(o);
  },
};

(window as unknown as { bench: typeof bench }).bench = bench;
document.title = 'ready';
