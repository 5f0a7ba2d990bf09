/**
 * Source resolution on the page: what the engine gets for a video source. Blobs and URLs go to the worker as they
 * are (it decodes them), and so do a rawframes folder's files (or directory handle); a frame list is sent as frames; a `<video>` goes as
 * its URL when it has a fetchable one, else (or when the worker cannot decode it) its frames are grabbed here by
 * seeking the element. Frame buffers are transferred to the worker, not copied.
 */
import { transfer } from 'comlink';
import { PPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames/pixels.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';
import { sampleIndices } from '../core/preprocess/sampler.js';
import { readFrames } from '../video/frames.js';
import { isVideoElement } from '../video/util.js';
import type { EngineVideo } from '../worker/protocol.js';
import { framesVideo, isFrameList, isTensorInput } from './inputs.js';
import { baseUrl } from './modelSource.js';
import { isRawframesSource, rawframesVideo } from './rawframes.js';
import type { VideoSource } from './types.js';

/** A video for the engine, and where the worker cannot decode it, how to read it here instead. */
export interface ResolvedVideo {
  video: EngineVideo;
  fallback?: () => Promise<EngineVideo>;
}

/**
 * Prepares a video for the engine. Blobs and URLs are decoded in the worker. A `<video>` with a fetchable source
 * is decoded in the worker from its URL (exact frames); otherwise (cross-origin without CORS) its frames are
 * grabbed here by seeking and transferred. A `<video>` playing a live MediaStream is refused at once
 * ('unsupported-source', use classifyStream): readFrames says so.
 */
export async function videoFor(source: VideoSource, config: PreprocessConfig, signal: AbortSignal | undefined): Promise<ResolvedVideo> {
  if (isFrameList(source)) return { video: framesVideo(source) };
  // Rawframes: the files (or the handle) cross; the worker reads and decodes only the sampled JPEGs.
  if (isRawframesSource(source)) return { video: rawframesVideo(source) };
  // The source the call was made with, so frames of a different one are never returned for it.
  const elementSrc = isVideoElement(source) && !source.srcObject ? source.currentSrc || source.src : undefined;
  const grab = async (from: Blob | string | HTMLVideoElement): Promise<EngineVideo> => {
    // A <video> whose source changes while it is being seeked would hand over frames of the new source (or
    // stall): a src change ('emptied'/'loadstart') aborts the read with a typed error instead.
    const changed = new AbortController();
    const el = isVideoElement(from) ? from : null;
    // An element that had not started loading fires its first 'loadstart' for this very source: only another src
    // is a change (a data: URL <video>, never fetched by the worker, was refused as "source changed").
    const onChange = () => {
      if (!el || (el.currentSrc || el.src) !== elementSrc) changed.abort();
    };
    el?.addEventListener('emptied', onChange);
    el?.addEventListener('loadstart', onChange);
    // Changed before the read even started (e.g. while the worker tried the URL): same error, not the new video.
    if (el && elementSrc !== undefined && (el.currentSrc || el.src) !== elementSrc) changed.abort();
    try {
      if (changed.signal.aborted) throw changed.signal.reason;
      const r = await readFrames(from, {
        indices: (frameCount: number) => sampleIndices(config.sampling, frameCount, config.segments),
        path: 'element',
        signal: signal ? AbortSignal.any([signal, changed.signal]) : changed.signal,
      });
      return { kind: 'frames', frames: r.frames, frameIndices: r.frameIndices, timestamps: r.timestamps, frameCount: r.frameCount, rotation: r.rotation, ...(r.streamIndex !== null ? { stream: r.streamIndex } : {}) };
    } catch (e) {
      if (changed.signal.aborted && !signal?.aborted) {
        throw new PPTSNError('decode-failed', "the <video> element's source changed while its frames were being read; classify it again once the new source has loaded", { cause: e });
      }
      throw e;
    } finally {
      el?.removeEventListener('emptied', onChange);
      el?.removeEventListener('loadstart', onChange);
    }
  };
  if (isVideoElement(source)) {
    const src = source.currentSrc || source.src;
    if (src && !source.srcObject && /^(https?|blob):/i.test(src)) return { video: { kind: 'media', source: src }, fallback: () => grab(source) };
    return { video: await grab(source) };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) return { video: { kind: 'media', source }, fallback: () => grab(source) };
  if (typeof source === 'string' || source instanceof URL) {
    const url = new URL(String(source), baseUrl()).href;
    return { video: { kind: 'media', source: url }, fallback: () => grab(url) };
  }
  throw new PPTSNError('unsupported-source', 'classify accepts a File, Blob, URL (string or URL), HTMLVideoElement or a rawframes folder (image Files/Blobs or a FileSystemDirectoryHandle)');
}

/** Marks an EngineVideo's frame buffers for transfer (comlink attaches the list to the value for the next postMessage). */
export function transferFrames(v: EngineVideo): EngineVideo {
  if (v.kind !== 'frames') return v;
  const seen = new Set<ArrayBuffer>();
  for (const f of v.frames) if (f.data.buffer instanceof ArrayBuffer) seen.add(f.data.buffer);
  return transfer(v, [...seen]);
}

/** Transfers a frame's pixel buffer with it. */
export function transferPixels(pixels: FramePixels): FramePixels {
  return transfer(pixels, pixels.data.buffer instanceof ArrayBuffer ? [pixels.data.buffer] : []);
}

/** A training clip's source as the trainer's worker reads it: a Blob or an absolute URL (api/trainer.ts). */
export function trainerClipSource(source: VideoSource): Blob | string {
  // The trainer reads rawframes itself (api/trainer.ts); they never get here.
  if (isRawframesSource(source)) throw new PPTSNError('internal', 'rawframes sources are read by the trainer');
  if (isVideoElement(source)) {
    const src = source.currentSrc || source.src;
    if (!src) throw new PPTSNError('invalid-argument', 'the <video> element has no source to read clips from');
    return new URL(src, location.href).href;
  }
  if (isFrameList(source) || isTensorInput(source)) throw new PPTSNError('unsupported-source', 'training clips are videos: a File, Blob, URL or <video>');
  if (source instanceof URL) return source.href;
  if (typeof source === 'string') return typeof location !== 'undefined' ? new URL(source, location.href).href : source;
  return source;
}
