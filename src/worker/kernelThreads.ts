/**
 * The engine worker's helper threads for our own wasm kernels (src/core/model/parallelExecutor.ts): where
 * tfjs-backend-wasm runs threaded, its heap is a shared WebAssembly.Memory, and one dedicated Worker per further
 * logical core instantiates the kernel's module against that same memory. Work is handed over without messages,
 * through two SharedArrayBuffers all threads see: control words (a generation counter, the next group nobody took,
 * how many helpers are done) and the round's groups and calls. The engine worker writes a round, bumps the
 * generation and `Atomics.notify`s; every thread, the engine worker included, takes its first group by number and
 * then the next one left (`Atomics.add`), so a helper that wakes late or shares its core with another process
 * costs one short group, not half the work; the engine worker then `Atomics.wait`s for the helpers' done count (a
 * worker may block).
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
import { disposeParallelExecutors, GROUP_HEAD, runGroup, setParallelExecutorFactory, type KernelSpec, type ParallelExecutor, type WorkRound } from '../core/model/parallelExecutor.js';
import { PPTSNError } from '../core/errors.js';

/** Control words, shared by the engine worker and every helper. */
const GEN = 0; // bumped to start a round
const NEXT = 1; // the next group nobody took yet
const DONE = 2; // helpers finished with this round
const FAILED = 3; // a helper's call trapped
const GROUPS = 4; // groups in this round
const CALLS_AT = 5; // where the calls start in the data buffer (after the groups)
const HELPER_GROUPS = 6; // groups the helpers ran in this round
const CONTROL_WORDS = 8;

/** The most calls and groups one round holds (a larger filter gradient runs in several): ~1.9 MB shared. */
const CAPACITY = { calls: 32768, groups: 4096 };

/** How long the engine worker waits for the helpers' round before it gives up on them (a dead or hung one). */
const ROUND_TIMEOUT_MS = 120_000;

/**
 * The helper's script for a kernel of `argc` arguments, helper number `t` (the engine worker is thread 0): on each
 * round, its first group is group t, then the next one left (`Atomics.add` on NEXT). The call is spelt out: spreading
 * an array per call costs more.
 */
const helperSource = (argc: number) => {
  const args = Array.from({ length: argc }, (_, j) => `d[o + ${j}] + d[at + ${GROUP_HEAD + j}]`).join(', ');
  return `
onmessage = (e) => {
  const { memory, module, exportName, control, data, t } = e.data;
  const ctl = new Int32Array(control);
  const d = new Int32Array(data);
  let fn;
  try {
    fn = new WebAssembly.Instance(module, { env: { memory } }).exports[exportName];
  } catch (err) {
    postMessage({ ok: false, message: String(err && err.message || err) });
    return;
  }
  // Read before answering: the engine worker hands out a round only after every answer arrived.
  let seen = Atomics.load(ctl, ${GEN});
  postMessage({ ok: true });
  for (;;) {
    Atomics.wait(ctl, ${GEN}, seen);
    seen = Atomics.load(ctl, ${GEN});
    const groups = ctl[${GROUPS}];
    const callsAt = ctl[${CALLS_AT}];
    let ran = 0;
    try {
      for (let g = t; g < groups; g = Atomics.add(ctl, ${NEXT}, 1)) {
        const at = g * ${GROUP_HEAD + argc};
        for (let k = d[at]; k < d[at + 1]; k++) {
          const o = callsAt + k * ${argc};
          fn(${args});
        }
        ran++;
      }
    } catch (err) {
      Atomics.store(ctl, ${FAILED}, 1);
    }
    Atomics.add(ctl, ${HELPER_GROUPS}, ran);
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
};
`;
};

/** Whether this context can run helpers at all: a worker (may block), shared memory, Workers, blob: URLs. */
function helpersPossible(): boolean {
  const g = globalThis as { WorkerGlobalScope?: unknown; Worker?: unknown };
  return g.WorkerGlobalScope !== undefined && typeof g.Worker === 'function' && typeof SharedArrayBuffer !== 'undefined' && typeof Atomics?.wait === 'function' && typeof URL.createObjectURL === 'function';
}

class WorkerExecutor implements ParallelExecutor {
  private started = 0;
  private failed = false;
  private readonly workers: Worker[] = [];
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private readonly data: Int32Array;
  private readonly argc: number;
  readonly capacity = CAPACITY;
  readonly ready: Promise<number>;

  constructor(spec: KernelSpec, count: number) {
    this.argc = spec.argc;
    this.data = new Int32Array(new SharedArrayBuffer((CAPACITY.groups * (GROUP_HEAD + spec.argc) + CAPACITY.calls * spec.argc) * 4));
    const url = URL.createObjectURL(new Blob([helperSource(spec.argc)], { type: 'text/javascript' }));
    const answers: Promise<void>[] = [];
    try {
      for (let h = 0; h < count; h++) {
        const worker = new Worker(url, { name: `pptsn-web kernel helper ${h + 1}` });
        this.workers.push(worker);
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
        worker.postMessage({ memory: spec.memory, module: spec.module, exportName: spec.exportName, control: this.control.buffer, data: this.data.buffer, t: h + 1 });
      }
    } catch (e) {
      // A browser that cannot start a worker or clone a shared memory or module into one: none keeps running.
      this.dispose();
      URL.revokeObjectURL(url);
      throw e;
    }
    // The workers have fetched their script once they answer; revoking earlier could race their start.
    void Promise.all(answers).then(() => URL.revokeObjectURL(url));
    this.ready = Promise.all(answers).then(() => {
      if (this.failed) this.dispose();
      else this.started = this.workers.length;
      return this.helpers;
    });
  }

  get helpers(): number {
    return this.failed ? 0 : this.started;
  }

  run(round: WorkRound, here: (...args: number[]) => void): number {
    const helpers = this.helpers;
    const G = round.groups.length / (GROUP_HEAD + this.argc);
    if (helpers === 0 || G > CAPACITY.groups || round.calls.length > CAPACITY.calls * this.argc) throw new PPTSNError('internal', `kernel helpers: a round of ${G} groups for ${helpers} helpers`);
    const ctl = this.control;
    this.data.set(round.groups, 0);
    this.data.set(round.calls, round.groups.length);
    ctl[GROUPS] = G;
    ctl[CALLS_AT] = round.groups.length;
    ctl[FAILED] = 0;
    ctl[HELPER_GROUPS] = 0;
    Atomics.store(ctl, DONE, 0);
    // Threads 0 … helpers take their first group by number; the shared counter hands out the rest.
    Atomics.store(ctl, NEXT, helpers + 1);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    let failure: unknown;
    let failed = false;
    try {
      for (let g = 0; g < G; g = Atomics.add(ctl, NEXT, 1)) runGroup(round, g, this.argc, here);
    } catch (e) {
      [failed, failure] = [true, e];
    }
    // Always wait: the helpers write into tensors the caller is about to hand back (or free, on an error).
    this.awaitHelpers(helpers);
    if (failed) throw failure;
    return Atomics.load(ctl, HELPER_GROUPS);
  }

  /** Blocks until `helpers` helpers finished the round; throws (and stops them) if one failed or never answers. */
  private awaitHelpers(helpers: number): void {
    const ctl = this.control;
    const t0 = performance.now();
    for (let done = Atomics.load(ctl, DONE); done < helpers; done = Atomics.load(ctl, DONE)) {
      const left = ROUND_TIMEOUT_MS - (performance.now() - t0);
      if (left <= 0) {
        this.dispose();
        throw new PPTSNError('internal', `a kernel helper thread did not answer in ${ROUND_TIMEOUT_MS / 1000} s; the kernels now run on one thread`);
      }
      Atomics.wait(ctl, DONE, done, left);
    }
    if (Atomics.load(ctl, FAILED) !== 0) {
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
