/**
 * The messages between a thread that runs an ffmpeg.wasm host (host.ts) and the thread that calls it (client.ts),
 * and the loop that serves them. The two worker entries (src/video/ffmpegCoreWorker.ts for a browser worker,
 * src/node/ffmpegCoreWorker.ts for a Node worker thread) are this loop over their port, with their loader and input.
 *
 * `P` is what the transport needs to load the core (URLs, paths), `I` a file to read (a Blob, a path): both are
 * structured-clone data. A run's output buffer is transferred, not copied.
 */
import { CoreFailure, messageOf, type CoreFailureReason, type CoreRunKind, type CoreRunResult, type FfmpegCoreHost } from './host.js';

/** What the calling thread asks: load the core, run ffprobe/ffmpeg on a file, let the file go. */
export type CoreRequestBody<P, I> =
  | { type: 'load'; params: P }
  | { type: 'run'; kind: CoreRunKind; args: string[]; input: I }
  | { type: 'release' };

/** A request, numbered by the client; replies carry its id. */
export type CoreRequest<P, I> = CoreRequestBody<P, I> & { id: number };

export type CoreReply =
  /** A sign of life during a run: ffmpeg's decode time in microseconds. */
  | { id: number; time: number }
  | { id: number; ok: true; result?: CoreRunResult }
  | { id: number; ok: false; reason: CoreFailureReason; message: string };

/** The worker side of a port: what the entry's global scope or `parentPort` offers. */
export interface CoreHostPort<P, I> {
  post(reply: CoreReply, transfer: ArrayBuffer[]): void;
  listen(handler: (request: CoreRequest<P, I>) => void): void;
}

/** Serves `port` with the host `makeHost(params)` creates on the 'load' request. */
export function serveFfmpegCore<P, I>(port: CoreHostPort<P, I>, makeHost: (params: P) => FfmpegCoreHost<I>): void {
  let host: FfmpegCoreHost<I> | null = null;
  port.listen(async (m) => {
    try {
      if (m.type === 'load') {
        host = makeHost(m.params);
        await host.ready();
        port.post({ id: m.id, ok: true }, []);
        return;
      }
      if (!host) throw new CoreFailure('load', 'the core was not loaded');
      if (m.type === 'release') {
        await host.release();
        port.post({ id: m.id, ok: true }, []);
        return;
      }
      const result = await host.run(m.kind, m.args, m.input, (time) => port.post({ id: m.id, time }, []));
      port.post({ id: m.id, ok: true, result }, result.output ? [result.output.buffer as ArrayBuffer] : []);
    } catch (e) {
      const failure = e instanceof CoreFailure ? e : new CoreFailure('crash', messageOf(e));
      port.post({ id: m.id, ok: false, reason: failure.reason, message: failure.message }, []);
    }
  });
}
