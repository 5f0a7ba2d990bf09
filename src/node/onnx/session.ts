/**
 * onnxruntime-node's session in a worker thread. `InferenceSession.run` in onnxruntime-node (1.30) is a synchronous
 * native call (wrapped in `setImmediate`): it holds the JS thread for the whole backbone call (~1 s for 8 images at
 * 224 px), so `eval`'s prefetch could not advance the next items' decoding (ffprobe's answer, starting ffmpeg,
 * reading its frames) until the network was done. Run here, the session computes on its own threads while the main
 * thread keeps decoding; the arithmetic is the same session with the same options.
 *
 * The worker is sessionWorker.ts (started by ../workerThread.ts, from dist/ or from source); it `require`s
 * onnxruntime-node from the path this module resolves.
 */
import { createRequire } from 'node:module';
import type { InferenceSession } from 'onnxruntime-node';
import { startWorkerThread } from '../workerThread.js';
import type { SessionReply as Reply, SessionRequest } from './sessionWorker.js';

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** The backbone graph's session: features `[n, F]` (flat) of NCHW images `[n, 3, H, W]`. */
export interface FeatureSession {
  run(data: Float32Array, shape: readonly number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

/**
 * Creates the session in a worker thread. Rejects with an Error carrying onnxruntime's message when the graph does
 * not load (the caller turns it into `backend-unavailable`).
 */
export async function workerFeatureSession(graph: Uint8Array, options: InferenceSession.SessionOptions): Promise<FeatureSession> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = startWorkerThread(new URL('./sessionWorker.js', import.meta.url), { workerData: { ortPath } });
  // An idle worker must not keep the CLI alive; one with a call in flight must (the caller awaits its answer).
  worker.unref();
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let dead: Error | null = null;
  const failAll = (e: Error) => {
    dead = e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.on('message', (r: Reply) => {
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (pending.size === 0) worker.unref();
    p.resolve(r);
  });
  worker.on('error', (e) => failAll(e instanceof Error ? e : new Error(String(e))));
  worker.on('exit', (code) => failAll(new Error(`the onnxruntime worker thread exited (code ${code})`)));
  const call = async (msg: DistributiveOmit<SessionRequest, 'id'>, transfer: ArrayBuffer[] = []): Promise<Extract<Reply, { ok: true }>> => {
    if (dead) throw dead;
    const id = nextId++;
    if (pending.size === 0) worker.ref();
    const reply = new Promise<Reply>((resolve, reject) => pending.set(id, { resolve, reject }));
    worker.postMessage({ ...msg, id } as SessionRequest, transfer);
    const r = await reply;
    if (!r.ok) throw new Error(r.message);
    return r;
  };
  try {
    // The graph is copied to the worker (structured clone); the caller keeps its bytes.
    await call({ type: 'create', graph, options });
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  return {
    async run(data, shape) {
      // A view into a larger buffer (a slice of a batch) is copied; a whole buffer is handed over.
      const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
      const r = await call({ type: 'run', data: own, shape: [...shape] }, [own.buffer as ArrayBuffer]);
      return r.data!;
    },
    async release() {
      try {
        if (!dead) await call({ type: 'release' });
      } finally {
        await worker.terminate();
      }
    },
  };
}
