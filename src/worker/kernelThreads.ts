/**
 * The engine worker's helper threads for our own wasm kernels (src/core/model/parallelExecutor.ts): where
 * tfjs-backend-wasm runs threaded, its heap is a shared WebAssembly.Memory, and one dedicated Worker per further
 * logical core instantiates the kernel's module against that same memory. Work is handed over without messages:
 * each helper has a small SharedArrayBuffer (a generation counter, a state, a call count and the packed calls); the
 * engine worker writes the calls, bumps the generation and `Atomics.notify`s; the helper runs them and sets its
 * state to done, which the engine worker `Atomics.wait`s for after doing its own share (a worker may block).
 *
 * The helpers run from a blob: URL of the small classic script below, kept as a string so that no bundler has to
 * find, rewrite or emit it (a minifier would rename a function's own text; tfjs's pthreads come from blob: URLs
 * for the same reason, and threads only start where the page's CSP allows those, backends.ts).
 *
 * Fallback: no helpers (the kernels run on the engine worker alone, as in Node) where the heap is not shared,
 * `Worker` or `Atomics.wait` is missing, or a helper fails to start; until the helpers answer after their start
 * the kernels run alone too. Helpers are closed by {@link uninstallKernelThreads} (the engine's dispose) and die
 * with the engine worker anyway.
 */
import { disposeParallelExecutors, setParallelExecutorFactory, type KernelSpec, type ParallelExecutor } from '../core/model/parallelExecutor.js';
import { PPTSNError } from '../core/errors.js';

/** Control words of a helper's buffer; the calls follow. */
const GEN = 0;
const STATE = 1;
const COUNT = 2;
const HEADER = 3;
const RUNNING = 0;
const DONE = 1;
const FAILED = 2;

/** Calls one round hands a helper at most (a longer list runs in several rounds): ~0.9 MB of 14-argument calls. */
const ROUND_CALLS = 16384;

/** How long the engine worker waits for a helper's round before it gives up on the helpers (a dead or hung one). */
const ROUND_TIMEOUT_MS = 120_000;

/** The helper's script for a kernel of `argc` arguments (spelt out: spreading a subarray per call costs more). */
const helperSource = (argc: number) => `
onmessage = (e) => {
  const { memory, module, exportName, control } = e.data;
  const ctl = new Int32Array(control);
  let fn;
  try {
    fn = new WebAssembly.Instance(module, { env: { memory } }).exports[exportName];
  } catch (err) {
    postMessage({ ok: false, message: String(err && err.message || err) });
    return;
  }
  // Read before answering: the engine worker hands out a round only after this answer arrives.
  let seen = Atomics.load(ctl, ${GEN});
  postMessage({ ok: true });
  for (;;) {
    Atomics.wait(ctl, ${GEN}, seen);
    seen = Atomics.load(ctl, ${GEN});
    let state = ${DONE};
    try {
      const n = ctl[${COUNT}];
      for (let k = 0, o = ${HEADER}; k < n; k++, o += ${argc}) fn(${Array.from({ length: argc }, (_, i) => `ctl[o + ${i}]`).join(', ')});
    } catch (err) {
      state = ${FAILED};
    }
    Atomics.store(ctl, ${STATE}, state);
    Atomics.notify(ctl, ${STATE});
  }
};
`;

/** Whether this context can run helpers at all: a worker (may block), shared memory, Workers, blob: URLs. */
function helpersPossible(): boolean {
  const g = globalThis as { WorkerGlobalScope?: unknown; Worker?: unknown };
  return g.WorkerGlobalScope !== undefined && typeof g.Worker === 'function' && typeof SharedArrayBuffer !== 'undefined' && typeof Atomics?.wait === 'function' && typeof URL.createObjectURL === 'function';
}

class WorkerExecutor implements ParallelExecutor {
  private started = 0;
  private failed = false;
  private readonly workers: Worker[] = [];
  private readonly controls: Int32Array[] = [];
  readonly ready: Promise<number>;
  private readonly argc: number;

  constructor(spec: KernelSpec, count: number) {
    this.argc = spec.argc;
    const url = URL.createObjectURL(new Blob([helperSource(spec.argc)], { type: 'text/javascript' }));
    const answers: Promise<void>[] = [];
    try {
      for (let h = 0; h < count; h++) {
        const control = new SharedArrayBuffer((HEADER + ROUND_CALLS * spec.argc) * 4);
        const worker = new Worker(url, { name: `pptsn-web kernel helper ${h + 1}` });
        this.workers.push(worker);
        this.controls.push(new Int32Array(control));
        answers.push(new Promise<void>((resolve) => {
          worker.onmessage = (e: MessageEvent<{ ok: boolean }>) => {
            if (!e.data.ok) this.failed = true;
            resolve();
          };
          worker.onerror = () => {
            this.failed = true;
            resolve();
          };
        }));
        worker.postMessage({ memory: spec.memory, module: spec.module, exportName: spec.exportName, control });
      }
    } finally {
      // The workers have fetched their script once they answer; revoking earlier could race their start.
      void Promise.all(answers).then(() => URL.revokeObjectURL(url));
    }
    this.ready = Promise.all(answers).then(() => {
      if (this.failed) this.dispose();
      else this.started = this.workers.length;
      return this.helpers;
    });
  }

  get helpers(): number {
    return this.failed ? 0 : this.started;
  }

  run(calls: Int32Array[], own: () => void): void {
    if (calls.length > this.helpers) throw new PPTSNError('internal', `kernel helpers: ${calls.length} call lists for ${this.helpers} helpers`);
    const sent = calls.map(() => 0);
    let ownDone = false;
    let ownFailed = false;
    let ownError: unknown;
    do {
      const active: number[] = [];
      calls.forEach((list, h) => {
        if (sent[h]! >= list.length) return;
        const ctl = this.controls[h]!;
        const take = Math.min(list.length - sent[h]!, ROUND_CALLS * this.argc);
        ctl.set(list.subarray(sent[h]!, sent[h]! + take), HEADER);
        ctl[COUNT] = take / this.argc;
        sent[h] = sent[h]! + take;
        Atomics.store(ctl, STATE, RUNNING);
        Atomics.add(ctl, GEN, 1);
        Atomics.notify(ctl, GEN);
        active.push(h);
      });
      if (!ownDone) {
        ownDone = true;
        try {
          own();
        } catch (e) {
          [ownFailed, ownError] = [true, e];
        }
      }
      // Always wait: the helpers write into tensors the caller is about to hand back (or free, on an error).
      for (const h of active) this.await(h);
    } while (calls.some((l, h) => sent[h]! < l.length));
    if (ownFailed) throw ownError;
  }

  /** Blocks until helper h finished its round; throws (and stops the helpers) if it failed or never answers. */
  private await(h: number): void {
    const ctl = this.controls[h]!;
    const t0 = performance.now();
    while (Atomics.load(ctl, STATE) === RUNNING) {
      const left = ROUND_TIMEOUT_MS - (performance.now() - t0);
      if (left <= 0) {
        this.failed = true;
        this.dispose();
        throw new PPTSNError('internal', `a kernel helper thread did not answer in ${ROUND_TIMEOUT_MS / 1000} s; the kernels now run on one thread`);
      }
      Atomics.wait(ctl, STATE, RUNNING, left);
    }
    if (Atomics.load(ctl, STATE) === FAILED) {
      this.failed = true;
      this.dispose();
      throw new PPTSNError('internal', 'a kernel helper thread failed (its calls trapped); the kernels now run on one thread');
    }
  }

  dispose(): void {
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    this.failed = true;
  }
}

/**
 * Installs the Worker-based executor for the core's kernels, with `helpers` helper threads (the wasm backend's
 * thread count − 1: tfjs's own pthreads idle while our kernel runs). Does nothing with fewer than 1 helper or where
 * helpers cannot run (see the file comment).
 */
export function installKernelThreads(helpers: number): void {
  if (helpers < 1 || !helpersPossible()) {
    setParallelExecutorFactory(null);
    return;
  }
  setParallelExecutorFactory((spec) => (spec.memory.buffer instanceof SharedArrayBuffer ? new WorkerExecutor(spec, helpers) : null));
}

/** Closes the helper threads and removes the factory (the kernels run on the calling thread from then on). */
export function uninstallKernelThreads(): void {
  disposeParallelExecutors();
  setParallelExecutorFactory(null);
}
