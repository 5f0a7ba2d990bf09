/**
 * Helper threads for our own WebAssembly kernels (today the filter gradient, filterGradWasm.ts), as an interface the
 * core calls and a host injects: the core knows no Worker, Atomics or thread API. The browser's engine worker
 * installs a Worker-based factory where tfjs-backend-wasm runs threaded (src/worker/kernelThreads.ts: one helper per
 * further logical core, each instantiating the kernel's module against tfjs's shared heap); Node installs none
 * (tfjs wasm in Node is single-threaded, its heap is not shared), and the kernels then run on the calling thread.
 *
 * A kernel's work is handed over as packed calls of one exported function with i32 arguments (pointers and sizes
 * into the shared heap), so a helper needs no code of ours beyond calling that export: the calls a kernel gives to
 * different threads must write disjoint memory.
 */

/** The kernel a set of helpers runs: `exportName` of `module`, instantiated with `env.memory` = `memory`. */
export interface KernelSpec {
  /** tfjs's heap; shared (a SharedArrayBuffer behind it), or no helper can see it. */
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  exportName: string;
  /** i32 arguments per call. */
  argc: number;
}

/** Threads that run packed calls of one kernel beside the calling thread. */
export interface ParallelExecutor {
  /** Helper threads that take work now: 0 while they start (the kernels run alone meanwhile) or after a failure. */
  readonly helpers: number;
  /** Resolves with {@link helpers} once every helper has started or failed to. */
  readonly ready: Promise<number>;
  /**
   * Runs `calls[h]` (`argc` i32 a call, back to back; `calls.length` ≤ helpers) on helper h while this thread runs
   * `own`, and returns once all have finished. Blocks the calling thread: only from a thread that may block (a
   * worker). Throws if a helper failed or does not answer; the executor then takes no more work (helpers 0).
   */
  run(calls: Int32Array[], own: () => void): void;
  /** Stops the helpers. */
  dispose(): void;
}

/** Makes the executor for a kernel, or null where helper threads cannot run (the caller then works alone). */
export type ExecutorFactory = (spec: KernelSpec) => ParallelExecutor | null;

let factory: ExecutorFactory | null = null;
const executors = new Map<WebAssembly.Memory, ParallelExecutor | null>();

/** Installs (or, with null, removes) the host's factory; executors made by an earlier one are disposed. */
export function setParallelExecutorFactory(f: ExecutorFactory | null): void {
  disposeParallelExecutors();
  factory = f;
}

/** Disposes every executor made so far (a later kernel call makes a fresh one if a factory is installed). */
export function disposeParallelExecutors(): void {
  for (const e of executors.values()) e?.dispose();
  executors.clear();
}

/**
 * The executor for the kernel `spec()` describes on `memory` (made on the first call, then reused; the spec is only
 * built then), or null without a factory.
 */
export function executorFor(memory: WebAssembly.Memory, spec: () => KernelSpec): ParallelExecutor | null {
  if (!factory) return null;
  if (!executors.has(memory)) {
    let e: ParallelExecutor | null = null;
    try {
      e = factory(spec());
    } catch {
      // No helpers (e.g. Worker creation refused): the kernels run on the calling thread.
    }
    executors.set(memory, e);
  }
  return executors.get(memory)!;
}
