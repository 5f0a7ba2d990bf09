/**
 * The ffmpeg.wasm core in a worker of its own, so that an abort stops a decode at once. The core's `exec` is one
 * synchronous call: run in our worker, it held that thread until the decode ended, and an abort (a message to the
 * worker) could not be seen before. Here the calling thread only exchanges messages (core/ffmpegHost/client.ts: an
 * abort or a stalled run ends the core's worker, and the next file starts a fresh one; the browser's code cache
 * keeps the recompile short).
 *
 * The worker is ffmpegCoreWorker.ts, a module worker started with the literal
 * `new Worker(new URL('./ffmpegCoreWorker.js', import.meta.url), …)` that Vite, webpack 5 and Rollup recognise and
 * bundle (in dist/ it is dist/video/ffmpegCoreWorker.js, beside this file). Where it cannot start (a policy, a
 * browser without module workers, a server without the file), `openCoreThread` returns null and ffmpegWasm.ts runs
 * the core in the calling thread, where aborts wait for the current step.
 */
import { FfmpegCoreClient, type CoreThreadPort } from '../core/ffmpegHost/client.js';
import { coreRunner, INPUT, type FfmpegCoreHost } from '../core/ffmpegHost/host.js';
import type { FfmpegCoreRunner } from '../core/frames/ffmpegCore.js';
import { absoluteCoreUrls, browserCoreError, sessionKey, type BlobInput, type FfmpegCoreUrls } from './ffmpegCoreBrowser.js';

export type { FfmpegCoreUrls } from './ffmpegCoreBrowser.js';

/** The core's worker (module doc) as the client's port. */
function spawnCoreWorker(): CoreThreadPort<FfmpegCoreUrls, BlobInput> {
  const worker = new Worker(new URL('./ffmpegCoreWorker.js', import.meta.url), { type: 'module', name: 'pptsn-ffmpeg' });
  return {
    post: (request) => worker.postMessage(request),
    listen(onReply, onDeath) {
      worker.onmessage = ({ data }: MessageEvent) => onReply(data);
      worker.onerror = (e) => {
        e.preventDefault();
        onDeath(new Error(e.message || 'the ffmpeg.wasm worker failed to start'));
      };
    },
    terminate: () => worker.terminate(),
  };
}

/** One client (one worker at a time) per core URL. */
const clients = new Map<string, FfmpegCoreClient<FfmpegCoreUrls, BlobInput>>();
/** Set when a core worker could not start here: the caller's thread is used from then on. */
let unavailable = false;

/** A runner for one file, at `input` in the core's file system; `close()` lets the file go. */
export interface CoreThreadSession {
  runner: FfmpegCoreRunner;
  input: string;
  close(): Promise<void>;
}

/**
 * A session on the core's worker (started and loaded on first use) for `blob`. Returns null where no worker can run
 * the core (the caller then runs it itself, `hostSession`). Aborting `signal` ends the worker: the pending call
 * rejects with PPTSNError('aborted') and the next file gets a new worker. A crash of the core is tried once more on
 * a fresh instance, then rejects with 'decode-failed' naming `name`.
 */
export async function openCoreThread(urls: FfmpegCoreUrls, blob: Blob, name: string, signal?: AbortSignal): Promise<CoreThreadSession | null> {
  if (unavailable || typeof Worker === 'undefined') return null;
  const abs = absoluteCoreUrls(urls);
  let client = clients.get(abs.js);
  if (!client) {
    client = new FfmpegCoreClient({ spawn: spawnCoreWorker, params: abs });
    clients.set(abs.js, client);
  }
  try {
    await client.ready();
  } catch {
    // The worker cannot start or cannot import the core (a policy, an unreachable URL): the calling thread's own
    // loader reports what is wrong, if anything.
    unavailable = true;
    clients.delete(abs.js);
    return null;
  }
  const c = client;
  const input: BlobInput = { blob, key: sessionKey() };
  return {
    input: INPUT,
    runner: coreRunner((kind, args, onTime) => c.run(kind, args, input, { signal, onTime }), (f) => browserCoreError(f, name, urls, signal)),
    close: () => c.release(),
  };
}

/** The same session on a host run by the calling thread (synchronous calls: an abort waits for the current step). */
export function hostSession(host: FfmpegCoreHost<BlobInput>, urls: FfmpegCoreUrls, blob: Blob, name: string, signal?: AbortSignal): CoreThreadSession {
  const input: BlobInput = { blob, key: sessionKey() };
  return {
    input: INPUT,
    runner: coreRunner((kind, args, onTime) => host.run(kind, args, input, onTime), (f) => browserCoreError(f, name, urls, signal)),
    close: () => host.release(),
  };
}
