/**
 * One entry point for frames from any browser source: `readFrames(source, { segments })` returns the RGBA pixels of
 * exactly the frames PaddleVideo's test-mode sampler picks (docs/contract.md §4), with indices over the decoded frame
 * count L (frames presented after the edit list, core/frames/framePlan.ts), like decord and ffmpeg.
 *
 * Paths, in order of preference:
 * 1. 'webcodecs': mediabunny demuxes (Blob/File, URL string, or a <video>'s fetchable src), WebCodecs decodes only
 *    the packets the wanted frames need. Exact frames, BT.601 colour for untagged streams. Works in a Web Worker.
 * 2. 'element': seek a <video> element (main thread only) — for a <video> whose src cannot be fetched, or a
 *    container/codec mediabunny/WebCodecs cannot handle but the browser can play.
 * 3. 'ffmpeg': for a Blob/URL that mediabunny or WebCodecs cannot read (AVI/XviD, MJPEG, codecs the browser lacks),
 *    ffmpeg.wasm when `ffmpegCore` says where it is (the worker does): the CLI's decode, loaded only then.
 * Nothing decodes it → PPTSNError('unsupported-source') naming the container/codec with an ffmpeg command to
 * convert it.
 */
import { PPTSNError } from '../core/errors.js';
import type { FrameConversion } from './color.js';
import { canDecodeTrack, decodeWebCodecsFrames, type RgbaFrame } from './decoder.js';
import { CutShortError, openVideo, presentationTimes, sniffContainer, unsupportedSource, type DemuxedVideo } from './demux.js';
import { elementInfoFromTrack, readFramesFromElement, whenMetadata, type ElementReadResult, type ElementStreamInfo } from './element.js';
import { planFrames } from '../core/frames/framePlan.js';
import { isVideoElement, quotedUrl, throwIfAborted } from './util.js';
import { decodeWithFfmpegWasm, type FfmpegCoreUrls } from './ffmpegWasm.js';

export type { RgbaFrame } from './decoder.js';
export type { FrameConversion } from './color.js';

/** Anything readFrames accepts. HTMLVideoElement only on the main thread. */
export type FrameSource = Blob | File | string | URL | HTMLVideoElement;

export interface ReadFramesOptions {
  /** Number of segments T for PaddleVideo's test-mode sampler (default 8, the 'fast' preset). */
  segments?: number;
  /** Explicit frame indices (or a function of the frame count) instead of the test-mode sampler. */
  indices?: readonly number[] | ((frameCount: number) => number[]);
  signal?: AbortSignal;
  /** VideoFrame → RGBA conversion (default 'yuv': BT.601 for untagged streams, closest to decord/ffmpeg). */
  conversion?: FrameConversion;
  /**
   * 'auto' (default): WebCodecs when the source can be demuxed and decoded, else a <video> element.
   * 'webcodecs' / 'element' force a path (for tests and debugging).
   */
  path?: 'auto' | 'webcodecs' | 'element' | 'ffmpeg';
  /** Where ffmpeg.wasm is served; without it there is no ffmpeg.wasm fallback. */
  ffmpegCore?: FfmpegCoreUrls;
  /** Decode progress 0..1 of the ffmpeg.wasm fallback (the only slow decode). */
  onProgress?: (phase: 'ffmpeg-load' | 'ffmpeg-decode', fraction: number) => void;
}

/** The frames of one read. `frames[k]` is frame `frameIndices[k]`; repeated indices get separate buffers. */
export interface FrameReadResult extends ElementReadResult {
  /** Which path produced the frames. */
  path: 'webcodecs' | 'element' | 'ffmpeg';
  /** Container and codec when the demuxer read them. */
  container: string | null;
  codec: string | null;
  /** The stream read (its index among the file's tracks, ffmpeg's numbering; decord's choice), null when unknown. */
  streamIndex: number | null;
}

/** The error for a file cut short that only ffmpeg.wasm reads as ffmpeg does (the WebCodecs path would miss frames). */
function cutShort(video: DemuxedVideo): PPTSNError {
  return new CutShortError(video.info.container);
}

const hasDom = () => typeof document !== 'undefined' && typeof HTMLVideoElement !== 'undefined';

/** The indices for L presented frames: core/frames/framePlan.ts decides, as for the CLI. */
function pickIndices(options: ReadFramesOptions, frameCount: number): number[] {
  const selection = options.indices ? { indices: options.indices } : { sampling: 'valid' as const, segments: options.segments ?? 8 };
  return planFrames({ presentedFrames: frameCount, codedWidth: 1, codedHeight: 1, rotation: 0 }, selection).indices;
}

/**
 * Reads the sampled frames of `source` as RGBA. Throws PPTSNError: 'unsupported-source', 'video-too-short'
 * (empty file, no video track), 'decode-failed' (truncated/corrupt), 'cross-origin', 'network', 'aborted',
 * 'invalid-argument'.
 */
export async function readFrames(source: FrameSource, options: ReadFramesOptions = {}): Promise<FrameReadResult> {
  const { signal } = options;
  const path = options.path ?? 'auto';
  throwIfAborted(signal);
  if (isVideoElement(source)) return readElementSource(source, options);
  if (!(source instanceof Blob) && typeof source !== 'string' && !(source instanceof URL)) {
    throw new PPTSNError('unsupported-source', 'readFrames accepts a File, Blob, URL (string or URL) or HTMLVideoElement.');
  }
  if (path === 'element') {
    // Forced element path: still take L, fps and timestamps from the container when it can be demuxed.
    const demuxed = await openVideo(source, { signal }).catch((e) => {
      if (e instanceof PPTSNError && e.code === 'aborted') throw e;
      return null;
    });
    demuxed?.dispose();
    return readViaNewElement(source, options, demuxed, null);
  }

  if (path === 'ffmpeg') return readViaFfmpeg(source, options, null);
  let video: DemuxedVideo | null = null;
  let failure: PPTSNError;
  try {
    video = await openVideo(source, { signal });
    if (video.info.truncated) failure = cutShort(video);
    else if (await canDecodeTrack(video)) return await readDemuxed(video, options);
    else failure = unsupportedSource(video.info.container, video.info.codecString ?? video.info.codec ?? 'an unknown codec');
  } catch (e) {
    if (!(e instanceof CutShortError) && (!(e instanceof PPTSNError) || e.code !== 'unsupported-source')) throw e;
    failure = e;
  } finally {
    video?.dispose();
  }
  // WebCodecs or mediabunny cannot: ffmpeg.wasm reads nearly anything, exactly as the CLI does.
  if (path !== 'webcodecs' && options.ffmpegCore) return readViaFfmpeg(source, options, failure);
  // Else a <video> element might (main thread only); not a file cut short, whose frames it cannot count.
  if (path === 'webcodecs' || !hasDom() || failure instanceof CutShortError) throw failure;
  return readViaNewElement(source, options, video, failure);
}

/** The ffmpeg.wasm fallback; `failure` (what the browser said) is rethrown when ffmpeg.wasm cannot read it either. */
async function readViaFfmpeg(source: Blob | string | URL, options: ReadFramesOptions, failure: PPTSNError | null): Promise<FrameReadResult> {
  if (!options.ffmpegCore) throw failure ?? new PPTSNError('invalid-argument', "path 'ffmpeg' needs the ffmpegCore URLs.");
  const blob = source instanceof Blob ? source : await fetchBlob(String(source), options.signal);
  const name = source instanceof Blob ? ((source as File).name ? `'${(source as File).name}'` : 'the video') : quotedUrl(String(source));
  const selection = options.indices ? { indices: options.indices } : { sampling: 'valid' as const, segments: options.segments ?? 8 };
  options.onProgress?.('ffmpeg-load', 0);
  try {
    const r = await decodeWithFfmpegWasm(blob, name, selection, {
      urls: options.ffmpegCore,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (f) => options.onProgress?.('ffmpeg-decode', f),
    });
    return {
      frameIndices: r.plan.indices,
      timestamps: r.timestamps,
      frameCount: r.plan.frameCount,
      fps: r.fps,
      width: r.plan.width,
      height: r.plan.height,
      frames: r.frames,
      path: 'ffmpeg',
      container: r.container,
      codec: r.codec,
      streamIndex: r.streamIndex,
      measured: false,
      rotation: r.plan.rotation,
    };
  } catch (e) {
    // ffmpeg.wasm's message already says neither could read it and how to convert it; the browser's adds only
    // what the container and codec are, when it knew (else two conversion recipes for one file).
    if (failure && e instanceof PPTSNError && e.code === 'unsupported-source') {
      const known = !/an unknown (or damaged )?container/.test(failure.message);
      throw known ? new PPTSNError('unsupported-source', `${failure.message} (ffmpeg.wasm: ${e.message})`, { cause: e }) : e;
    }
    throw e;
  }
}

async function fetchBlob(url: string, signal?: AbortSignal): Promise<Blob> {
  let r: Response;
  try {
    r = await fetch(url, { signal: signal ?? null });
  } catch (e) {
    throwIfAborted(signal);
    throw new PPTSNError('network', `Fetching ${url} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!r.ok) throw new PPTSNError('network', `Fetching ${url} failed: HTTP ${r.status}.`);
  return r.blob();
}

async function readDemuxed(video: DemuxedVideo, options: ReadFramesOptions): Promise<FrameReadResult> {
  const info = video.info;
  const indices = pickIndices(options, info.frameCount);
  const pixels = await decodeWebCodecsFrames(video, indices, { signal: options.signal, conversion: options.conversion });
  const seen = new Set<number>();
  const frames = indices.map((i) => {
    const px = pixels.get(i)!;
    if (!seen.has(i)) { seen.add(i); return px; }
    return { ...px, data: px.data.slice() };
  });
  return {
    frameIndices: indices,
    timestamps: ((t) => indices.map((i) => t[i]!))(presentationTimes(info)),
    frameCount: info.frameCount,
    fps: info.fps,
    width: frames[0]?.width ?? info.width,
    height: frames[0]?.height ?? info.height,
    frames,
    path: 'webcodecs',
    container: info.container,
    codec: info.codecString ?? info.codec,
    streamIndex: info.streamIndex,
    measured: false,
    rotation: info.rotation,
  };
}

/** A <video> given by the caller: WebCodecs on its fetchable src when possible ('auto'), else seeking. */
async function readElementSource(el: HTMLVideoElement, options: ReadFramesOptions): Promise<FrameReadResult> {
  const { signal } = options;
  if (typeof MediaStream !== 'undefined' && el.srcObject instanceof MediaStream) {
    // A live stream has no frame count to sample over: say so at once instead of waiting for seeks that never end.
    throw new PPTSNError(
      'unsupported-source',
      'This <video> plays a live MediaStream (camera, screen or WebRTC): it has no frame count to sample a clip from. ' +
      'Use model.classifyStream(video) for live sources, or record a clip (MediaRecorder) and classify the Blob.',
    );
  }
  const src = el.currentSrc || el.src;
  try {
    await whenMetadata(el, { signal });
  } catch (e) {
    // The element cannot play it: name the container/codec when the bytes say (e.g. AVI with MPEG-4 Part 2).
    if (!(e instanceof PPTSNError) || e.code !== 'unsupported-source' || !src || el.srcObject) throw e;
    // What the demuxer says of a file that is there but broken or empty of video (an MP4 without its index), as the
    // URL and Blob paths say it.
    const opened = await openVideo(src, { signal }).then((v) => { v.dispose(); return null; }, (err: unknown) => err);
    if (opened instanceof PPTSNError && ['decode-failed', 'no-video-stream', 'aborted'].includes(opened.code)) throw opened;
    const sniffed = await sniffContainer(src, signal).catch(() => null);
    throw sniffed?.container ? unsupportedSource(sniffed.container, sniffed.codec) : e;
  }
  let video: DemuxedVideo | null = null;
  if (src && !el.srcObject) {
    try {
      video = await openVideo(src, { signal });
    } catch (e) {
      // Not fetchable (cross-origin without CORS, …) or not demuxable: the element path measures what it needs.
      if (e instanceof PPTSNError && e.code === 'aborted') throw e;
      // Cut short: ffmpeg.wasm counts the frames ffmpeg decodes (the worker's path for a <video>); seeking cannot.
      if (e instanceof CutShortError) {
        if (options.ffmpegCore && options.path !== 'element' && options.path !== 'webcodecs') return await readViaFfmpeg(src, options, e);
        throw e;
      }
    }
  }
  try {
    // Cut short: ffmpeg.wasm counts the frames ffmpeg decodes (the worker's path for a <video>); else refused, as
    // neither WebCodecs nor seeking can.
    if (video?.info.truncated) {
      if (options.ffmpegCore && options.path !== 'element' && options.path !== 'webcodecs') return await readViaFfmpeg(src, options, cutShort(video));
      throw cutShort(video);
    }
    if (video && options.path !== 'element' && (await canDecodeTrack(video))) return await readDemuxed(video, options);
    if (options.path === 'webcodecs') {
      throw video
        ? unsupportedSource(video.info.container, video.info.codecString ?? video.info.codec)
        : new PPTSNError('unsupported-source', `The <video> source ${src || '(srcObject)'} cannot be demuxed for WebCodecs.`);
    }
    if (video && video.info.videoTracks > 1) {
      // The element plays a video track of its own choosing, maybe not decord's: seeking it could return another
      // track's frames without a sign.
      throw new PPTSNError('unsupported-source', `${src} has ${video.info.videoTracks} video tracks and a <video> element cannot be told which to play: pass the File/Blob or URL (read with the track decord reads, stream ${video.info.streamIndex}).`);
    }
    const info: ElementStreamInfo | null = video ? elementInfoFromTrack(video.info) : null;
    const r = await readFramesFromElement(el, { indices: (n) => pickIndices(options, n), info, signal, conversion: options.conversion });
    return { ...r, path: 'element', container: video?.info.container ?? null, codec: video ? (video.info.codecString ?? video.info.codec) : null, streamIndex: video?.info.streamIndex ?? null };
  } finally {
    video?.dispose();
  }
}

/** Plays a Blob/URL in a detached <video> and seeks it; `failure` is rethrown (it names the codec) if that fails too. */
async function readViaNewElement(source: Blob | string | URL, options: ReadFramesOptions, demuxed: DemuxedVideo | null, failure: PPTSNError | null): Promise<FrameReadResult> {
  if (!hasDom()) throw failure ?? new PPTSNError('unsupported-source', 'The <video> element path needs the main thread (no DOM in a worker).');
  const objectUrl = source instanceof Blob ? URL.createObjectURL(source) : null;
  const el = document.createElement('video');
  el.muted = true;
  el.preload = 'auto';
  el.playsInline = true;
  if (typeof source !== 'object' || source instanceof URL) el.crossOrigin = 'anonymous';
  el.src = objectUrl ?? String(source);
  try {
    try {
      await whenMetadata(el, { signal: options.signal, timeoutMs: 10000 });
    } catch (e) {
      if (e instanceof PPTSNError && e.code === 'aborted') throw e;
      if (failure) throw failure;
      const sniffed = await sniffContainer(source, options.signal).catch(() => null);
      if (sniffed?.container) throw unsupportedSource(sniffed.container, sniffed.codec);
      // Neither WebCodecs, ffmpeg.wasm nor the element can read it: still say how to convert it.
      throw e instanceof PPTSNError && e.code === 'unsupported-source' ? unsupportedSource('this file (an unknown or damaged container)', null) : e;
    }
    if (demuxed?.info.truncated) throw cutShort(demuxed);
    if (demuxed && demuxed.info.videoTracks > 1) throw new PPTSNError('unsupported-source', `The file has ${demuxed.info.videoTracks} video tracks and a <video> element cannot be told which to play: read it as a File/Blob or URL (WebCodecs or ffmpeg.wasm, with the track decord reads).`);
    const info = demuxed ? elementInfoFromTrack(demuxed.info) : null;
    const r = await readFramesFromElement(el, { indices: (n) => pickIndices(options, n), info, signal: options.signal, conversion: options.conversion });
    return { ...r, path: 'element', container: demuxed?.info.container ?? null, codec: demuxed ? (demuxed.info.codecString ?? demuxed.info.codec) : null, streamIndex: demuxed?.info.streamIndex ?? null };
  } finally {
    el.removeAttribute('src');
    el.load();
    if (objectUrl) URL.revokeObjectURL(objectUrl);
  }
}
