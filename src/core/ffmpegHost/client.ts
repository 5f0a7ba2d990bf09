/**
 * The calling side of an ffmpeg.wasm host that runs in a thread of its own (a browser worker, a Node worker thread):
 * one thread at a time, started on first use, and ended when a call must not wait for it. The core's `exec` is one
 * synchronous call inside its thread, so ending the thread is the only way to stop it:
 *
 * - an abort (the caller's signal) ends the thread at once: the call rejects with 'aborted';
 * - the watchdog: a run with no answer and no progress report for the stall limit (`STALL_S`, or the transport's
 *   `stallMs()`) counts as hung and ends the thread: 'stalled' (a core hung after ~100 runs before EXECS_PER_CORE;
 *   `eval` over a data set must not wait on one for ever). Loading is not watched: a browser's first load fetches
 *   32 MB;
 * - a thread that dies fails its calls as 'crash' (host.ts's `coreRunner` tries once more, on a new thread).
 *
 * The next call after any of these starts a new thread. The transports give only `spawn()` (src/video/
 * ffmpegCoreThread.ts, src/node/ffmpegWasm.ts).
 */
import { CoreFailure, type CoreRunKind, type CoreRunResult } from './host.js';
import type { CoreReply, CoreRequest, CoreRequestBody } from './serve.js';

/** Seconds without an answer or a progress report after which a run counts as hung (the core reports progress about every half second while ffmpeg decodes). */
export const STALL_S = 120;

/** A started worker, as the client sees it. */
export interface CoreThreadPort<P, I> {
  post(request: CoreRequest<P, I>): void;
  /** Replies, and the thread's death (a failed start, an uncaught error, an exit). */
  listen(onReply: (reply: CoreReply) => void, onDeath: (error: Error) => void): void;
  terminate(): unknown;
  /** Whether the thread keeps the process alive (Node: while a call is in flight; an idle one must not). */
  hold?(busy: boolean): void;
}

export interface CoreClientOptions<P, I> {
  /** Starts the worker entry (it runs `serveFfmpegCore`). May throw (no workers here, a policy). */
  spawn(): CoreThreadPort<P, I>;
  /** The load request's parameters. */
  params: P;
  /** The watchdog's limit in milliseconds, read at each run; undefined: STALL_S. */
  stallMs?: () => number | undefined;
}

interface Pending {
  resolve(result: CoreRunResult | undefined): void;
  reject(error: unknown): void;
  onTime?: ((microseconds: number) => void) | undefined;
  /** A sign of life (a progress report): the watchdog starts over. */
  alive?: (() => void) | undefined;
}

/** One worker and its calls in flight. */
class CoreThread<P, I> {
  private readonly calls = new Map<number, Pending>();
  private nextId = 0;
  dead: unknown = null;
  /** Settles when the thread has ended (after `end`). */
  ended: Promise<unknown> = Promise.resolve();
  readonly ready: Promise<void>;

  constructor(private readonly port: CoreThreadPort<P, I>, params: P) {
    port.listen((r) => {
      const c = this.calls.get(r.id);
      if (!c) return;
      if ('time' in r) {
        c.alive?.();
        c.onTime?.(r.time);
        return;
      }
      this.calls.delete(r.id);
      if (!this.dead) this.hold();
      if (r.ok) c.resolve(r.result);
      else c.reject(new CoreFailure(r.reason, r.message));
    }, (e) => this.end(new CoreFailure('crash', e.message)));
    this.ready = this.send({ type: 'load', params }).then(
      () => {},
      (e: unknown) => {
        const failure = new CoreFailure('load', e instanceof Error ? e.message : String(e));
        this.end(failure);
        throw failure;
      },
    );
  }

  send(body: CoreRequestBody<P, I>, onTime?: (microseconds: number) => void, alive?: () => void): Promise<CoreRunResult | undefined> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject, onTime, alive });
      this.hold();
      this.port.post({ ...body, id } as CoreRequest<P, I>);
    });
  }

  /** Ends the thread; its calls in flight reject with `reason`. */
  end(reason: unknown): void {
    if (this.dead) return;
    this.dead = reason;
    // Held until it has exited: a caller awaiting `ended` (close) must not see the process leave first.
    this.port.hold?.(true);
    this.ended = Promise.resolve(this.port.terminate()).catch(() => {});
    for (const c of this.calls.values()) c.reject(reason);
    this.calls.clear();
  }

  private hold(): void {
    this.port.hold?.(this.calls.size > 0);
  }
}

/** A host in a thread of its own (module doc). */
export class FfmpegCoreClient<P, I> {
  private thread: CoreThread<P, I> | null = null;

  constructor(private readonly options: CoreClientOptions<P, I>) {}

  /** Starts the thread and loads the core in it, unless done. Rejects with CoreFailure('load'). */
  async ready(): Promise<void> {
    await this.started();
  }

  /**
   * Runs ffprobe or ffmpeg in the thread (host.ts `run`) under the watchdog and `signal`. Rejects with CoreFailure:
   * 'load', 'file', 'crash', 'stalled', 'aborted'.
   */
  async run(kind: CoreRunKind, args: readonly string[], input: I, options: { signal?: AbortSignal | undefined; onTime?: ((microseconds: number) => void) | undefined } = {}): Promise<CoreRunResult> {
    const { signal, onTime } = options;
    const aborted = () => new CoreFailure('aborted', 'aborted');
    if (signal?.aborted) throw aborted();
    const thread = await this.started();
    if (signal?.aborted) throw aborted();
    const limit = this.options.stallMs?.() ?? STALL_S * 1000;
    return new Promise<CoreRunResult>((resolve, reject) => {
      let watchdog: ReturnType<typeof setTimeout> | undefined;
      const settle = <T>(f: (v: T) => void) => (v: T) => {
        clearTimeout(watchdog);
        signal?.removeEventListener('abort', onAbort);
        f(v);
      };
      // Rejects this call with why, then ends the thread (its other calls, if any, fail as the thread's death).
      const kill = (failure: CoreFailure) => {
        settle(reject)(failure);
        if (this.thread === thread) this.thread = null;
        thread.end(failure);
      };
      const onAbort = () => kill(aborted());
      const alive = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => kill(new CoreFailure('stalled', `no answer and no progress for ${limit / 1000} s`)), limit);
        // Node: the watchdog alone must not keep the process alive (the call in flight does).
        (watchdog as { unref?: () => void }).unref?.();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      alive();
      thread.send({ type: 'run', kind, args: [...args], input }, onTime, alive).then(
        (r) => settle(resolve)(r!),
        settle(reject),
      );
    });
  }

  /** Lets the current file go in the thread (a browser session's end); nothing when no thread runs. */
  async release(): Promise<void> {
    const thread = this.thread;
    if (thread && !thread.dead) await thread.send({ type: 'release' }).catch(() => {});
  }

  /** Ends the thread (tests; a process's exit ends it anyway). */
  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    thread?.end(new CoreFailure('aborted', 'the ffmpeg.wasm thread was closed'));
    await thread?.ended;
  }

  private started(): Promise<CoreThread<P, I>> {
    let thread = this.thread;
    if (!thread || thread.dead) {
      let port: CoreThreadPort<P, I>;
      try {
        port = this.options.spawn();
      } catch (e) {
        return Promise.reject(new CoreFailure('load', e instanceof Error ? e.message : String(e)));
      }
      const t = new CoreThread(port, this.options.params);
      thread = this.thread = t;
      // A failed load ends the thread: the next call starts another.
      t.ready.catch(() => { if (this.thread === t) this.thread = null; });
    }
    const t = thread;
    return t.ready.then(() => t);
  }
}
