/**
 * onnxruntime-node's session in a worker thread. `InferenceSession.run` in onnxruntime-node (1.30) is a synchronous
 * native call (wrapped in `setImmediate`): it holds the JS thread for the whole backbone call (~1 s for 8 images at
 * 224 px), so `eval`'s prefetch could not advance the next items' decoding (ffprobe's answer, starting ffmpeg,
 * reading its frames) until the network was done. Run here, the session computes on its own threads while the main
 * thread keeps decoding; the arithmetic is the same session with the same options.
 *
 * The worker is created from a small CommonJS source (`eval: true`), so it needs no file of its own in `dist/` and
 * runs the same under tsx and from the build; it `require`s onnxruntime-node from the path this module resolves.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';

/** The backbone graph's session: features `[n, F]` (flat) of NCHW images `[n, 3, H, W]`. */
export interface FeatureSession {
  run(data: Float32Array, shape: readonly number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
parentPort.on('message', async (m) => {
  try {
    if (m.type === 'create') {
      session = await ort.InferenceSession.create(m.graph, m.options);
      parentPort.postMessage({ id: m.id, ok: true });
    } else if (m.type === 'run') {
      const out = await session.run({ x: new ort.Tensor('float32', m.data, m.shape) }, ['feat']);
      const feat = new Float32Array(out.feat.data);
      parentPort.postMessage({ id: m.id, ok: true, data: feat }, [feat.buffer]);
    } else if (m.type === 'release') {
      if (session) await session.release();
      parentPort.postMessage({ id: m.id, ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, message: String((e && e.message) || e) });
  }
});
`;

type Reply = { id: number; ok: true; data?: Float32Array } | { id: number; ok: false; message: string };

/**
 * Creates the session in a worker thread. Rejects with an Error carrying onnxruntime's message when the graph does
 * not load (the caller turns it into `backend-unavailable`).
 */
export async function workerFeatureSession(graph: Uint8Array, options: InferenceSession.SessionOptions): Promise<FeatureSession> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath }, execArgv: [] }); // plain Node: no loader, no --input-type
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
  const call = async (msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Extract<Reply, { ok: true }>> => {
    if (dead) throw dead;
    const id = nextId++;
    if (pending.size === 0) worker.ref();
    const reply = new Promise<Reply>((resolve, reject) => pending.set(id, { resolve, reject }));
    worker.postMessage({ ...msg, id }, transfer);
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
