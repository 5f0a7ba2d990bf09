/**
 * Helper threads for our own WebAssembly kernels (today the filter gradient, filterGradWasm.ts), as an interface the
 * core calls and a host injects: the core knows no Worker, Atomics or thread API. The browser's engine worker
 * installs a Worker-based factory where tfjs-backend-wasm runs threaded (src/worker/kernelThreads.ts: one helper per
 * further logical core, each instantiating the kernel's module against tfjs's shared heap); Node installs none
 * (tfjs wasm in Node is single-threaded, its heap is not shared), and the kernels then run on the calling thread.
 *
 * A kernel's work is handed over as packed calls of one exported function with i32 arguments (pointers and sizes
 * into the shared heap) in groups that write disjoint memory ({@link WorkRound}), so a helper needs no code of ours
 * beyond calling that export, and the threads share the groups out as they go.
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

/** i32 at the head of each group of a {@link WorkRound}: its first call and the call after its last. */
export const GROUP_HEAD = 2;

/**
 * One round of work: calls of the kernel export, `argc` i32 each back to back in `calls`, and groups of them,
 * {@link GROUP_HEAD} + `argc` i32 each in `groups`: first call, end call, then `argc` deltas added to every argument
 * of those calls (so one list of calls serves several channel ranges). A group's calls run in order on one thread;
 * different groups must write disjoint memory.
 */
export interface WorkRound {
  calls: Int32Array;
  groups: Int32Array;
}

/** Threads that run groups of calls of one kernel beside the calling thread. */
export interface ParallelExecutor {
  /** Helper threads that take work now: 0 while they start (the kernels run alone meanwhile) or after a failure. */
  readonly helpers: number;
  /** Resolves with {@link helpers} once every helper has started or failed to. */
  readonly ready: Promise<number>;
  /** The most calls and groups one round may hold. */
  readonly capacity: { calls: number; groups: number };
  /**
   * Runs every group of `round` once, on this thread (through `here`, the kernel export as this thread has it) and
   * on the helpers: thread t (this one 0, helper h h + 1) first takes group t, then each takes the next group left
   * until none is, so a helper that is slow to wake or shares its core costs little. Blocks the calling thread
   * until all are done (only from a thread that may block: a worker) and returns how many groups the helpers ran.
   * Throws if a helper failed or does not answer; the executor then takes no more work (helpers 0).
   */
  run(round: WorkRound, here: (...args: number[]) => void): number;
  /** Stops the helpers. */
  dispose(): void;
}

/** Runs group `g` of `round` with `fn` (what every thread does with a group it takes). */
export function runGroup(round: WorkRound, g: number, argc: number, fn: (...args: number[]) => void): void {
  const { calls, groups } = round;
  const at = g * (GROUP_HEAD + argc);
  const delta = groups.subarray(at + GROUP_HEAD, at + GROUP_HEAD + argc);
  const args = new Array<number>(argc);
  for (let k = groups[at]!; k < groups[at + 1]!; k++) {
    for (let j = 0; j < argc; j++) args[j] = calls[k * argc + j]! + delta[j]!;
    fn(...args);
  }
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
