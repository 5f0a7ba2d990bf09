/**
 * Inputs besides media files and `<video>`: an array of frames taken as the sampled clip (one frame per segment,
 * in order), and PaddleVideo's own input tensor `[1, T·C, 3, H, W]` (or `[T·C, 3, H, W]`), as `classify --tensor`
 * takes it. Frames are read into RGBA pixels here (a 2D canvas draw, exact for opaque pixels) and their buffers are
 * transferred to the worker, as the `<video>` fallback's are; a tensor's buffer is transferred too (the caller's
 * `data` is detached afterwards: pass a copy to keep it).
 */
import { isRawframesSource } from './rawframes.js';
import { PPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames/pixels.js';
import { MAX_SEGMENTS, type PreprocessOptions } from '../core/preprocess/presets.js';
import type { EngineTensor, EngineVideo } from '../worker/protocol.js';
import { oneClipShape } from '../core/model/paddleInput.js';

/** One frame of a clip given as frames. */
export type ClipFrame = VideoFrame | ImageBitmap | ImageData | HTMLCanvasElement | OffscreenCanvas | HTMLImageElement;

/** PaddleVideo's network input: float32 NCHW, normalised (`pptsn-web classify --tensor`'s `.npy`). */
export interface TensorInput {
  data: Float32Array;
  shape: readonly number[];
}

const has = (name: string) => typeof (globalThis as Record<string, unknown>)[name] === 'function';
const isA = (x: unknown, name: string) => has(name) && x instanceof ((globalThis as unknown as Record<string, new () => unknown>)[name]!);

function isClipFrame(x: unknown): x is ClipFrame {
  return ['VideoFrame', 'ImageBitmap', 'ImageData', 'HTMLCanvasElement', 'OffscreenCanvas', 'HTMLImageElement'].some((n) => isA(x, n));
}

/** An array of decoded frames (an already-sampled clip). An array of Blobs/Files is a rawframes clip instead. */
export function isFrameList(x: unknown): x is readonly ClipFrame[] {
  return Array.isArray(x) && !isRawframesSource(x);
}

export function isTensorInput(x: unknown): x is TensorInput {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && (x as TensorInput).data instanceof Float32Array && Array.isArray((x as TensorInput).shape);
}

/** The preprocessing of a frame list: one segment per frame (a `segments` option must agree). */
export function clipPreprocess(options: PreprocessOptions, source: unknown): PreprocessOptions {
  if (!isFrameList(source)) return options;
  const preprocess = typeof options === 'string' ? { preset: options } : options;
  const n = source.length;
  if (n < 1 || n > MAX_SEGMENTS) throw new PPTSNError('invalid-argument', `a clip given as frames needs 1–${MAX_SEGMENTS} frames, got ${n}`);
  if (preprocess.segments !== undefined && preprocess.segments !== n) {
    throw new PPTSNError('invalid-argument', `${n} frames were given but segments is ${preprocess.segments}: the frames are the sampled clip, so leave segments out or set it to ${n}`);
  }
  return { ...preprocess, segments: n };
}

function sizeOf(f: ClipFrame): [number, number] {
  if (isA(f, 'VideoFrame')) return [(f as VideoFrame).displayWidth, (f as VideoFrame).displayHeight];
  if (isA(f, 'HTMLImageElement')) return [(f as HTMLImageElement).naturalWidth, (f as HTMLImageElement).naturalHeight];
  return [(f as ImageBitmap).width, (f as ImageBitmap).height];
}

/** RGBA pixels of one frame. */
function pixelsOf(f: ClipFrame, i: number): FramePixels {
  if (!isClipFrame(f)) throw new PPTSNError('unsupported-source', `frame ${i} is not a VideoFrame, ImageBitmap, ImageData, canvas or <img>`);
  if (isA(f, 'ImageData')) {
    const d = f as ImageData;
    return { width: d.width, height: d.height, channels: 4, data: new Uint8ClampedArray(d.data) };
  }
  const [w, h] = sizeOf(f);
  if (!(w > 0 && h > 0)) throw new PPTSNError('invalid-argument', `frame ${i} has no pixels (${w}×${h}; an <img> must have loaded, a VideoFrame must not be closed)`);
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new PPTSNError('internal', 'no 2D canvas context to read the frames');
  ctx.drawImage(f as CanvasImageSource, 0, 0, w, h);
  return { width: w, height: h, channels: 4, data: ctx.getImageData(0, 0, w, h).data };
}

/** A frame list as the engine's `frames` video: indices 0…n−1, VideoFrame timestamps (s) or the index. */
export function framesVideo(frames: readonly ClipFrame[]): EngineVideo {
  const pixels = frames.map(pixelsOf);
  const timestamps = frames.map((f, i) => (isA(f, 'VideoFrame') ? (f as VideoFrame).timestamp / 1e6 : i));
  return { kind: 'frames', frames: pixels, frameIndices: frames.map((_, i) => i), timestamps };
}

/**
 * Checks a tensor input against its shape (core/model/paddleInput.ts `oneClipShape`, the one check of tensor inputs):
 * one clip, `[1, T·C, 3, H, W]` or `[T·C, 3, H, W]`; a batch with N > 1 is `invalid-argument` saying how to pass
 * each clip.
 */
export function engineTensor(t: TensorInput): EngineTensor {
  const shape = [...t.shape];
  oneClipShape(shape, t.data.length);
  return { data: t.data, shape };
}
