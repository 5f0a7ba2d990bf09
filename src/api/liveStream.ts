/**
 * The page side of a live stream (`model.classifyStream`): frames grabbed from a playing `<video>` or a MediaStream
 * (video/stream.ts) at `segments / windowSeconds` per second, each transferred to the worker (`streamPush`),
 * results handed to `onResult`; a frame that arrives while the model is busy is dropped, never queued.
 */
import { PPTSNError, isPPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames/pixels.js';
import { isVideoElement } from '../video/util.js';
import { grabFrames, type FrameGrabber } from '../video/stream.js';
import type { EngineStreamResult } from '../worker/protocol.js';
import { validateStreamConfig } from './config.js';
import { onLive, type Session } from './session.js';
import type { StreamHandle, StreamOptions, StreamResult } from './types.js';
import { transferPixels } from './videoSource.js';
import { checkElementHasSource } from './sourceErrors.js';

/** What a stream needs of its `PPTSN`. */
export interface StreamHost {
  /** A fresh call id. */
  nextId(): number;
  /** The live session (restarted after a crash). */
  current(): Promise<Session>;
  /** Takes the backend state a result reports. */
  update(r: EngineStreamResult): void;
  /** Stop functions of the running streams (dispose stops them). */
  streams: Set<() => void>;
  /** The model's labels (one per class), for the `classes` filter. */
  labels: readonly string[];
}

/** Starts a live stream on `host`'s worker; see `PPTSN.classifyStream`. */
export function openStream(host: StreamHost, source: HTMLVideoElement | MediaStream, options: StreamOptions): StreamHandle {
  if (!options || typeof options.onResult !== 'function') throw new PPTSNError('invalid-argument', 'classifyStream needs options with an onResult callback');
  const isStream = typeof MediaStream !== 'undefined' && source instanceof MediaStream;
  if (!isStream && !isVideoElement(source)) throw new PPTSNError('unsupported-source', 'classifyStream accepts an HTMLVideoElement or a MediaStream');
  checkElementHasSource(source);
  const { preprocess, topK, filter, windowFrames, windowSeconds } = validateStreamConfig(options, host.labels);
  const id = host.nextId();
  let stopped = false;
  let failure: Error | undefined;
  let results = 0;
  let inflight: Promise<void> = Promise.resolve();
  const opened = host.current().then(async (s) => {
    await onLive(s, s.engine.streamOpen(id, { preprocess, topK, ...(filter ? { filter } : {}), windowFrames }));
    return s;
  });
  opened.catch(() => undefined);
  let grabber: FrameGrabber | undefined;
  const fail = (e: unknown) => {
    if (stopped || failure) return;
    failure = isPPTSNError(e) ? e : new PPTSNError('internal', `live classification failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    try {
      options.onError?.(failure);
    } finally {
      grabber?.stop();
    }
  };
  const onFrame = async (frame: { index: number; timestamp: number; pixels?: FramePixels }) => {
    const t0 = performance.now();
    const pixels = frame.pixels;
    if (stopped || failure || !pixels) return;
    const work = (async () => {
      const s = await opened;
      if (stopped) return;
      const r = await onLive(s, s.engine.streamPush(id, transferPixels(pixels), { index: frame.index, timestamp: frame.timestamp }));
      if (stopped || failure) return;
      results++;
      host.update(r);
      const { backendReport: _report, ...result } = r;
      result.timings.totalMs = performance.now() - t0;
      try {
        options.onResult(result as StreamResult);
      } catch (e) {
        // A throwing callback is the page's bug, not the stream's: surface it like an event handler's error.
        queueMicrotask(() => {
          throw e;
        });
      }
    })();
    inflight = work.catch(() => undefined);
    return work;
  };
  try {
    grabber = grabFrames(source, { rate: windowFrames / windowSeconds, output: 'rgba', onFrame, onError: fail, ...(options.signal ? { signal: options.signal } : {}) });
  } catch (e) {
    void opened.then((s) => s.engine.streamClose(id)).catch(() => undefined);
    throw e;
  }
  const running = grabber;
  opened.catch(fail);
  const stop = () => {
    stopped = true;
    running.stop();
  };
  host.streams.add(stop);
  const done = (async () => {
    await running.done;
    stopped = true;
    await inflight;
    const s = await opened.catch(() => null);
    if (s && !s.dead) await onLive(s, s.engine.streamClose(id)).catch(() => undefined);
    host.streams.delete(stop);
    if (failure) throw failure;
  })();
  done.catch(() => undefined);
  return {
    stop: async () => {
      stop();
      await done.catch(() => undefined);
    },
    done,
    get results() {
      return results;
    },
    get dropped() {
      return running.dropped;
    },
  };
}
