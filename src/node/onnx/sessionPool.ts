/**
 * Several onnxruntime sessions of one graph behind one `FeatureSession`: each `run` goes to an idle session (or
 * waits for the first to free up). `eval` classifies `lanes` items at once this way, each session on
 * `threads / lanes` threads, instead of one session on every thread.
 *
 * Why: on a small machine the decoder of the next items (ffmpeg.wasm's thread, or the system ffmpeg) takes a core
 * from onnxruntime now and then. A session on two threads then stalls at its barriers: the thread that kept its
 * core waits for the preempted one, so a decode costs the network about twice its own CPU time. Independent
 * single-thread sessions have no barriers; the one that loses its core slows alone. Measured on 2 cores with a
 * competitor busy ~13–20 % of one core: 1 session × 2 threads lost 8–12 % of its rate, 2 sessions × 1 thread
 * 3–9 % (bench/README.md, "Inference lanes"). Each session holds its own copy of the weights (~100 MB at depth 50).
 */
import type { FeatureSession } from './session.js';

export function featureSessionPool(sessions: readonly FeatureSession[]): FeatureSession {
  if (sessions.length === 1) return sessions[0]!;
  const idle = [...sessions];
  const waiting: ((s: FeatureSession) => void)[] = [];
  const acquire = (): Promise<FeatureSession> => (idle.length > 0 ? Promise.resolve(idle.pop()!) : new Promise((resolve) => waiting.push(resolve)));
  const release = (s: FeatureSession) => {
    const next = waiting.shift();
    if (next) next(s);
    else idle.push(s);
  };
  return {
    async run(data, shape) {
      const session = await acquire();
      try {
        return await session.run(data, shape);
      } finally {
        release(session);
      }
    },
    async release() {
      const results = await Promise.allSettled(sessions.map((s) => s.release()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
