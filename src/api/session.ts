/**
 * The page's hold on one engine worker: a `Session` (the worker, its comlink proxy, and a promise that rejects the
 * moment the worker dies), how it starts (`startSession`: the life lock, then `init`), and what a restart reloads
 * (`restartPlanOf`).
 *
 * Worker lifetime: the worker holds a Web Lock for as long as it lives and the page queues a request for it, so a
 * worker that crashes or is terminated is noticed at once (no heartbeat a long chunk could trip). Calls pending on
 * it reject instead of hanging (or are retried once on a fresh worker, for classify/preprocess), and the next call
 * starts a new worker with the same model: from Cache Storage when it was cached, else from its original source.
 */
import { proxy, releaseProxy, wrap, type Remote } from 'comlink';
import { PPTSNError, isPPTSNError } from '../core/errors.js';
import type { Engine } from '../worker/engine.js';
import type { EngineInit, EngineModelSource, EngineReady } from '../worker/protocol.js';
import type { LoadProgress } from './types.js';

export function abortedError(what: string): PPTSNError {
  return new PPTSNError('aborted', `${what} was aborted`);
}

/** Errors that mean "the worker died under this call" (a retry on a fresh worker may succeed). */
export const workerLostErrors = new WeakSet<Error>();

/** One worker and its comlink proxy; `died` rejects when the worker is gone (crash, terminate, our dispose). */
export interface Session {
  worker: Worker;
  engine: Remote<Engine>;
  died: Promise<never>;
  readonly dead: boolean;
  /** Why the worker stopped (the first `kill` reason), or null while it lives. */
  readonly stoppedBecause: string | null;
  kill(reason: string): void;
  /** Ends the session: closes the comlink port, terminates the worker, and kills it with `reason` (if alive). */
  end(reason: string): void;
}

export function newSession(worker: Worker): Session {
  let stoppedBecause: string | null = null;
  let reject!: (e: PPTSNError) => void;
  const died = new Promise<never>((_, r) => (reject = r));
  died.catch(() => undefined);
  return {
    worker,
    engine: wrap<Engine>(worker),
    died,
    get dead() {
      return stoppedBecause !== null;
    },
    get stoppedBecause() {
      return stoppedBecause;
    },
    kill(reason: string) {
      if (stoppedBecause !== null) return;
      stoppedBecause = reason;
      const e = new PPTSNError('internal', `the pptsn-web worker stopped (${reason}); the next call restarts it with the same model`);
      workerLostErrors.add(e);
      reject(e);
    },
    end(reason: string) {
      try {
        this.engine[releaseProxy]();
      } catch {
        // Its port is closed already.
      }
      worker.terminate();
      this.kill(reason);
    },
  };
}

/** Resolves like `p`, or rejects as soon as the session's worker dies (so no call can hang on a dead worker). */
export function onLive<T>(session: Session, p: Promise<T>): Promise<T> {
  return Promise.race([p, session.died]);
}

/** How to start the engine again after its worker died. */
export interface RestartPlan {
  spawn: () => Worker;
  init: EngineInit;
  /** The original source, when `init` names a cache entry that may be missing (caching is best effort). */
  fallback?: EngineModelSource;
}

/**
 * Starts `worker`'s engine: first the life lock (so a death during loading is noticed too), then `init`.
 * On failure the worker is terminated and the error rethrown as a PPTSNError.
 */
export async function startSession(worker: Worker, init: EngineInit, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<{ session: Session; ready: EngineReady }> {
  const session = newSession(worker);
  // Every event gets its percentage here, whichever worker phase sent it.
  const progress = onProgress ? proxy((p: LoadProgress) => onProgress(p.total > 0 ? { ...p, progress: Math.min(100, (100 * p.loaded) / p.total) } : p)) : undefined;
  const onError = (ev: ErrorEvent) => {
    ev.preventDefault?.();
    session.kill(`it failed to start: ${ev.message || 'script error (check that dist/worker/worker.js is served)'}`);
  };
  worker.addEventListener('error', onError);
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    session.kill('loading was aborted');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    const lockName = `pptsn-web-worker-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
    if (locks && (await onLive(session, session.engine.holdLifeLock(lockName)))) {
      // Granted only once the worker, which holds the lock, has ended.
      void locks.request(lockName, () => session.kill('it crashed or was terminated')).catch(() => undefined);
    }
    const ready = await onLive(session, session.engine.init(init, progress));
    return { session, ready };
  } catch (e) {
    worker.terminate();
    session.kill('loading failed');
    if (aborted) throw abortedError('loading the model');
    // While loading there is no model to restart with: the reason alone.
    if (workerLostErrors.has(e as Error)) throw new PPTSNError('internal', `the pptsn-web worker stopped (${session.stoppedBecause})`);
    throw isPPTSNError(e) ? e : new PPTSNError('internal', `loading the model failed: ${(e as Error)?.message ?? String(e)}`);
  } finally {
    worker.removeEventListener('error', onError);
    signal?.removeEventListener('abort', onAbort);
  }
}


/**
 * What a restart reloads: the same init on the backend the model ended up on, with a converted weight file
 * replaced by its cache entry (no second conversion; the original kept as the fallback).
 */
export function restartPlanOf(init: EngineInit, ready: EngineReady, spawn: () => Worker): RestartPlan {
  const base: EngineInit = { ...init, backend: ready.backend };
  if (init.model.kind === 'bytes' && init.cache && ready.info.source.location) {
    return { spawn, init: { ...base, model: { kind: 'name', name: ready.info.source.location } }, fallback: init.model };
  }
  return { spawn, init: base };
}

/**
 * `running`, or a rejection with `aborted` as soon as `signal` fires, after which `cancel` tells the worker to stop
 * the call (it stops at its next chunk boundary).
 */
export function abortable<T>(running: Promise<T>, signal: AbortSignal | undefined, what: string, cancel: () => void): Promise<T> {
  if (!signal) return running;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(abortedError(what));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    running.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
