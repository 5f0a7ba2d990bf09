/**
 * The worker thread of `workerFeatureSession` (session.ts): one onnxruntime-node session, created from the graph it
 * is sent, run on the images it is sent. onnxruntime-node is required from the path the caller resolved.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';

export type SessionRequest =
  | { id: number; type: 'create'; graph: Uint8Array; options: Ort.InferenceSession.SessionOptions }
  | { id: number; type: 'run'; data: Float32Array; shape: number[] }
  | { id: number; type: 'release' };

export type SessionReply = { id: number; ok: true; data?: Float32Array } | { id: number; ok: false; message: string };

const ort = createRequire(import.meta.url)((workerData as { ortPath: string }).ortPath) as typeof Ort;
const port = parentPort!;
let session: Ort.InferenceSession | undefined;

port.on('message', async (m: SessionRequest) => {
  const reply = (r: SessionReply, transfer: ArrayBuffer[] = []) => port.postMessage(r, transfer);
  try {
    if (m.type === 'create') {
      session = await ort.InferenceSession.create(m.graph, m.options);
      reply({ id: m.id, ok: true });
    } else if (m.type === 'run') {
      const out = await session!.run({ x: new ort.Tensor('float32', m.data, m.shape) }, ['feat']);
      const feat = new Float32Array(out['feat']!.data as Float32Array);
      reply({ id: m.id, ok: true, data: feat }, [feat.buffer]);
    } else {
      if (session) await session.release();
      reply({ id: m.id, ok: true });
    }
  } catch (e) {
    reply({ id: m.id, ok: false, message: e instanceof Error ? e.message : String(e) });
  }
});
