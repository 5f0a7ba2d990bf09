/**
 * Test page for src/video: exposes `window.framesTest` so test/browser/frames.test.ts can call readFrames on each
 * kind of source and get back plain, serialisable results (pixels as base64 RGBA).
 */
import { toBase64 } from './base64.js';
import { readFrames, type FrameReadResult, type ReadFramesOptions } from '../../../src/video/frames.js';
import { decodeWebCodecsFrames } from '../../../src/video/decoder.js';
import { openVideo } from '../../../src/video/demux.js';
import { readFramesFromElement } from '../../../src/video/element.js';
import { grabFrames } from '../../../src/video/stream.js';
import { sampleValidIndices as testModeIndices } from '../../../src/core/preprocess/sampler.js';
import { isPPTSNError } from '../../../src/core/errors.js';

type Kind = 'blob' | 'file' | 'url' | 'element';
interface Call {
  kind: Kind;
  url: string;
  options?: Omit<ReadFramesOptions, 'signal' | 'indices'> & { indices?: number[] };
  /** For 'element': set crossOrigin='anonymous'. */
  crossOrigin?: boolean;
  /** Abort after this many ms (0 = before the call). */
  abortAfterMs?: number;
  /** Abort when ffmpeg.wasm's decode progress reaches this fraction; the result then reports the progress seen. */
  abortAtProgress?: number;
  /** Return pixels (base64). */
  pixels?: boolean;
  /** For 'blob'/'file': keep only the first `truncate` fraction of the bytes. */
  truncate?: number;
  /** Hide `Worker` during the call, as in a browser where ffmpeg.wasm's worker cannot start: its core runs in this thread. */
  noWorker?: boolean;
}


function summarize(r: FrameReadResult, pixels: boolean) {
  return {
    frameIndices: r.frameIndices, timestamps: r.timestamps, frameCount: r.frameCount, fps: r.fps,
    width: r.width, height: r.height, path: r.path, container: r.container, codec: r.codec, streamIndex: r.streamIndex, measured: r.measured, rotation: r.rotation,
    frames: r.frames.map((f) => ({ width: f.width, height: f.height, channels: f.channels, length: f.data.length, data: pixels ? toBase64(f.data) : '' })),
  };
}

async function call(c: Call) {
  const ctrl = new AbortController();
  if (c.abortAfterMs === 0) ctrl.abort();
  else if (c.abortAfterMs !== undefined) setTimeout(() => ctrl.abort(), c.abortAfterMs);
  const t0 = performance.now();
  const progress = { max: 0, atAbort: -1 };
  let el: HTMLVideoElement | null = null;
  try {
    let source: Blob | File | string | HTMLVideoElement;
    if (c.kind === 'url') source = new URL(c.url, location.href).href;
    else if (c.kind === 'element') {
      el = document.createElement('video');
      el.muted = true;
      el.preload = 'auto';
      if (c.crossOrigin) el.crossOrigin = 'anonymous';
      el.src = c.url;
      document.body.append(el);
      source = el;
    } else {
      let blob = await (await fetch(c.url)).blob();
      if (c.truncate !== undefined) blob = blob.slice(0, Math.floor(blob.size * c.truncate), blob.type);
      source = c.kind === 'file' ? new File([blob], c.url.split('/').pop()!, { type: blob.type }) : blob;
    }
    const onProgress = c.abortAtProgress === undefined ? undefined : (phase: string, f: number) => {
      if (phase !== 'ffmpeg-decode') return;
      progress.max = Math.max(progress.max, f);
      if (f >= c.abortAtProgress! && !ctrl.signal.aborted) {
        progress.atAbort = f;
        ctrl.abort();
      }
    };
    const g = globalThis as { Worker?: typeof Worker };
    const worker = g.Worker;
    if (c.noWorker) delete g.Worker;
    let r: FrameReadResult;
    try {
      r = await readFrames(source, { ...c.options, signal: ctrl.signal, ...(onProgress ? { onProgress } : {}) });
    } finally {
      g.Worker = worker;
    }
    return { ok: true as const, ms: performance.now() - t0, progress, result: summarize(r, c.pixels ?? true) };
  } catch (e) {
    const ms = performance.now() - t0;
    // Progress reported after the call settled would still arrive here: wait a moment to see it.
    if (c.abortAtProgress !== undefined) await new Promise((r) => setTimeout(r, 500));
    if (isPPTSNError(e)) return { ok: false as const, ms, code: e.code, message: e.message, progress };
    return { ok: false as const, ms, code: 'not-pptsn', message: String(e) + ((e as Error)?.stack ?? '') };
  } finally {
    el?.remove();
  }
}

/** Colour: decode frames via WebCodecs with a given conversion and return pixels. */
async function decodeWith(url: string, indices: number[], conversion: 'yuv' | 'copyTo' | 'canvas') {
  const video = await openVideo(new URL(url, location.href).href);
  try {
    const m = await decodeWebCodecsFrames(video, indices, { conversion });
    return { colorSpace: video.info.colorSpace, frames: indices.map((i) => toBase64(m.get(i)!.data)) };
  } finally {
    video.dispose();
  }
}

/** The element path with no demuxer info: fps and frame count are measured. */
async function measured(url: string, T: number) {
  const el = document.createElement('video');
  el.muted = true;
  el.preload = 'auto';
  el.src = url;
  document.body.append(el);
  const t0 = performance.now();
  try {
    const r = await readFramesFromElement(el, { indices: (n) => testModeIndices(n, T) });
    return { ok: true as const, ms: performance.now() - t0, result: summarize({ ...r, path: 'element', container: null, codec: null, streamIndex: null }, true) };
  } catch (e) {
    return { ok: false as const, ms: performance.now() - t0, code: isPPTSNError(e) ? e.code : 'not-pptsn', message: String(e) };
  } finally {
    el.remove();
  }
}

/** Live grabbing for `ms` from a looping <video> (url) or a canvas.captureStream() MediaStream (url = null). */
async function stream(url: string | null, rate: number, ms: number) {
  let source: HTMLVideoElement | MediaStream;
  let el: HTMLVideoElement | null = null;
  let raf = 0;
  if (url) {
    el = document.createElement('video');
    el.muted = true;
    el.loop = true;
    el.src = url;
    document.body.append(el);
    await el.play();
    source = el;
  } else {
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 48;
    const ctx = canvas.getContext('2d')!;
    let n = 0;
    const draw = () => { ctx.fillStyle = `rgb(${(n++ * 40) % 256}, 100, 50)`; ctx.fillRect(0, 0, 64, 48); raf = requestAnimationFrame(draw); };
    draw();
    source = canvas.captureStream(30);
  }
  const got: { timestamp: number; index: number; width: number; height: number; data: string }[] = [];
  const g = grabFrames(source, { rate, onFrame: (f) => { got.push({ timestamp: f.timestamp, index: f.index, width: f.pixels!.width, height: f.pixels!.height, data: got.length < 12 ? toBase64(f.pixels!.data) : '' }); } });
  await new Promise((r) => setTimeout(r, ms));
  g.stop();
  await g.done;
  const after = g.delivered;
  await new Promise((r) => setTimeout(r, 300));
  cancelAnimationFrame(raf);
  el?.pause();
  el?.remove();
  if (source instanceof MediaStream) source.getTracks().forEach((t) => t.stop());
  return { delivered: g.delivered, deliveredAfterStop: g.delivered - after, dropped: g.dropped, frames: got, processor: 'MediaStreamTrackProcessor' in globalThis };
}

/** readFrames on a <video> playing a live MediaStream (canvas.captureStream): must reject at once. */
async function liveElement() {
  const canvas = document.createElement('canvas');
  canvas.width = 64;
  canvas.height = 48;
  canvas.getContext('2d')!.fillRect(0, 0, 64, 48);
  const stream = canvas.captureStream(10);
  const el = document.createElement('video');
  el.muted = true;
  el.srcObject = stream;
  document.body.append(el);
  await el.play().catch(() => {});
  const t0 = performance.now();
  try {
    await readFrames(el, { segments: 8 });
    return { ok: true as const, ms: performance.now() - t0 };
  } catch (e) {
    return { ok: false as const, ms: performance.now() - t0, code: isPPTSNError(e) ? e.code : 'not-pptsn', message: String(e) };
  } finally {
    stream.getTracks().forEach((t) => t.stop());
    el.remove();
  }
}

/** readFrames inside a Web Worker on a fetched Blob. */
async function inWorker(url: string, segments: number, ffmpegCore?: { js: string; wasm: string }) {
  const blob = await (await fetch(url)).blob();
  const worker = new Worker(new URL('./frames-worker.ts', import.meta.url), { type: 'module' });
  const t0 = performance.now();
  try {
    const reply = await new Promise<{ ok: true; result: FrameReadResult } | { ok: false; code: string; message: string }>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage({ blob, segments, ffmpegCore });
    });
    if (!reply.ok) return { ...reply, ms: performance.now() - t0 };
    return { ok: true as const, ms: performance.now() - t0, result: summarize(reply.result, true) };
  } finally {
    worker.terminate();
  }
}

/** Decodes `url` `n` times through ffmpeg.wasm; the outcome of each (a crashed core fails or hangs the next ones). */
async function repeatFfmpeg(url: string, n: number, ffmpegCore: { js: string; wasm: string }) {
  const blob = await (await fetch(url)).blob();
  const outcomes: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const r = await readFrames(blob, { segments: 2, path: 'ffmpeg', ffmpegCore });
      outcomes.push(r.path === 'ffmpeg' && r.frames.length === 2 ? 'ok' : `unexpected ${r.path} ${r.frames.length}`);
    } catch (e) {
      outcomes.push(isPPTSNError(e) ? `${e.code}: ${e.message}` : String(e));
    }
  }
  return outcomes;
}

(window as unknown as { framesTest: unknown }).framesTest = { call, decodeWith, measured, stream, inWorker, liveElement, repeatFfmpeg };
document.title = 'ready';
