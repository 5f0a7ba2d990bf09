/**
 * Live frame grabber for a playing <video> or a MediaStream (camera, screen, canvas.captureStream): calls
 * `onFrame` with the current frame at most `rate` times per second, until stopped. The runtime keeps a ring buffer
 * of the last T grabbed frames for streaming classification; this module only delivers frames.
 *
 * Sources: MediaStreamTrackProcessor when the browser has it (Chromium: window and workers; no <video> needed),
 * else requestVideoFrameCallback on a <video> (for a MediaStream, a hidden muted one). Frames are dropped, not
 * queued, while the previous `onFrame` is still running: a live classifier wants the newest frame, not a backlog.
 */
import { PPTSNError } from '../core/errors.js';
import { quotedUrl } from './util.js';
import { videoFrameToRgba, type FrameConversion } from './color.js';
import type { RgbaFrame } from './decoder.js';

/** One grabbed frame. */
export interface GrabbedFrame {
  /** Media time (seconds) for a <video>, the track's capture timestamp (seconds) for a MediaStream. */
  timestamp: number;
  /** Sequence number of delivered frames, 0-based. */
  index: number;
  /** RGBA pixels (output 'rgba', the default). */
  pixels?: RgbaFrame;
  /** The VideoFrame itself (output 'videoframe'); the callee owns it and must close() it (or transfer it). */
  frame?: VideoFrame;
}

export interface FrameGrabberOptions {
  /** Frames per second to deliver at most (default 8). */
  rate?: number;
  onFrame: (frame: GrabbedFrame) => void | Promise<void>;
  /** Called once if grabbing fails (e.g. PPTSNError('cross-origin')); grabbing stops. */
  onError?: (error: unknown) => void;
  /** 'rgba' (default) delivers pixels; 'videoframe' delivers transferable VideoFrames (no copy). */
  output?: 'rgba' | 'videoframe';
  conversion?: FrameConversion;
  /** Stops grabbing when it fires. */
  signal?: AbortSignal;
}

/** A running grabber. */
export interface FrameGrabber {
  stop(): void;
  /** Resolves when grabbing has stopped (stop(), signal, track ended, or error). */
  readonly done: Promise<void>;
  /** Frames delivered so far. */
  readonly delivered: number;
  /** Frames skipped because `onFrame` was still busy. */
  readonly dropped: number;
}

type Processor = { readable: ReadableStream<VideoFrame> };
type ProcessorCtor = new (init: { track: MediaStreamTrack; maxBufferSize?: number }) => Processor;

/**
 * Starts grabbing frames from `source`. For a MediaStream the first video track is used. Main thread for
 * <video>; a MediaStreamTrack can also be grabbed in a worker where MediaStreamTrackProcessor exists.
 */
export function grabFrames(source: HTMLVideoElement | MediaStream | MediaStreamTrack, options: FrameGrabberOptions): FrameGrabber {
  const rate = options.rate ?? 8;
  if (!(rate > 0)) throw new PPTSNError('invalid-argument', `rate must be > 0 (got ${rate}).`);
  const minGap = 1 / rate;
  let stopped = false;
  let busy = false;
  let delivered = 0;
  let dropped = 0;
  let last = -Infinity;
  let finish!: () => void;
  const done = new Promise<void>((r) => { finish = r; });
  const cleanups: (() => void)[] = [];
  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const c of cleanups.splice(0)) { try { c(); } catch { /* already gone */ } }
    finish();
  };
  const fail = (e: unknown) => { if (!stopped) { options.onError?.(e); stop(); } };
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });

  /** Delivers `frame` (taking ownership) unless it comes too soon or the callee is busy. */
  const offer = (frame: VideoFrame, t: number) => {
    // Rate limit on the media clock, with 5 % slack so 30 fps → 10 fps takes every third frame despite jitter.
    if (stopped || t - last < minGap * 0.95) { frame.close(); return; }
    if (busy) { dropped++; frame.close(); return; }
    last = t;
    busy = true;
    const index = delivered++;
    const run = async () => {
      if (options.output === 'videoframe') {
        await options.onFrame({ timestamp: t, index, frame });
      } else {
        let pixels: RgbaFrame;
        try {
          pixels = await videoFrameToRgba(frame, options.conversion ?? 'yuv');
        } finally {
          frame.close();
        }
        await options.onFrame({ timestamp: t, index, pixels });
      }
    };
    run().catch(fail).finally(() => { busy = false; });
  };

  const track = source instanceof MediaStreamTrack ? source
    : typeof MediaStream !== 'undefined' && source instanceof MediaStream ? source.getVideoTracks()[0] ?? null
      : null;
  if ((source instanceof MediaStream || source instanceof MediaStreamTrack) && !track) {
    throw new PPTSNError('unsupported-source', 'The MediaStream has no video track.');
  }
  const Processor = (globalThis as { MediaStreamTrackProcessor?: ProcessorCtor }).MediaStreamTrackProcessor;

  if (track && Processor) {
    const reader = new Processor({ track, maxBufferSize: 1 }).readable.getReader();
    cleanups.push(() => { reader.cancel().catch(() => {}); });
    (async () => {
      while (!stopped) {
        const { value, done: ended } = await reader.read();
        if (ended || !value) break;
        offer(value, value.timestamp / 1e6);
      }
    })().catch(fail).finally(stop);
  } else {
    let video: HTMLVideoElement;
    if (track) {
      if (typeof document === 'undefined') throw new PPTSNError('unsupported-source', 'Grabbing a MediaStream in a worker needs MediaStreamTrackProcessor.');
      video = document.createElement('video');
      video.muted = true;
      video.playsInline = true;
      video.srcObject = new MediaStream([track]);
      video.play().catch(fail);
      cleanups.push(() => { video.pause(); video.srcObject = null; });
    } else {
      video = source as HTMLVideoElement;
      // A <video> that cannot load its source (a 404, a codec it cannot play) never plays: say so instead of
      // waiting for frames forever.
      const onError = () => fail(new PPTSNError(
        'unsupported-source',
        `The <video> could not load ${quotedUrl(video.currentSrc || video.src) || 'its source'} (${video.error?.message || `media error ${video.error?.code ?? '?'}`}): check that the URL serves a video this browser plays.`,
      ));
      if (video.error) queueMicrotask(onError);
      else video.addEventListener('error', onError);
      cleanups.push(() => video.removeEventListener('error', onError));
    }
    let handle = 0;
    const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
      if (stopped) return;
      handle = video.requestVideoFrameCallback(onFrame);
      let frame: VideoFrame;
      try {
        frame = new VideoFrame(video, { timestamp: Math.round(meta.mediaTime * 1e6) });
      } catch (e) {
        if (e instanceof DOMException && e.name === 'SecurityError') {
          fail(new PPTSNError('cross-origin', 'The <video> is cross-origin without CORS: set crossOrigin="anonymous" and serve it with Access-Control-Allow-Origin.', { cause: e }));
        }
        return; // InvalidStateError: no frame yet
      }
      offer(frame, meta.mediaTime);
    };
    handle = video.requestVideoFrameCallback(onFrame);
    cleanups.push(() => video.cancelVideoFrameCallback(handle));
    const onEnded = () => stop();
    if (track) track.addEventListener('ended', onEnded);
    else video.addEventListener('ended', onEnded);
    cleanups.push(() => { track?.removeEventListener('ended', onEnded); video.removeEventListener('ended', onEnded); });
  }

  return {
    stop,
    done,
    get delivered() { return delivered; },
    get dropped() { return dropped; },
  };
}
