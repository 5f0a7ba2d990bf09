/**
 * Frames from an HTMLVideoElement by seeking (main thread only: workers have no <video>). Used for elements whose
 * source cannot be fetched (e.g. a cross-origin video with CORS) and as the fallback when the container or codec is
 * outside mediabunny/WebCodecs but the browser can still play it.
 *
 * Exact frame: seek to the middle of frame i (docs/contract.md §4: (i + 0.5)/fps, or the midpoint of its container
 * timestamps) and wait for both `seeked` and requestVideoFrameCallback; `currentTime = i/fps` lands on frame i−1
 * about 40 % of the time. The element knows neither the frame count nor the fps: they come from the demuxer when the
 * element's src can be fetched, else they are measured by playing a few frames (then L = round(duration · fps), an
 * estimate).
 */
import { PPTSNError } from '../core/errors.js';
import { conversionFor, videoFrameToRgba, type FrameConversion } from './color.js';
import { normalizeRotation, rotatePixels, type Rotation } from '../core/frames/framePlan.js';
import type { RgbaFrame } from './decoder.js';
import { presentationTimes, type VideoTrackInfo } from './demux.js';
import { abortError, once, throwIfAborted } from './util.js';

const HAVE_METADATA = 1;
const HAVE_CURRENT_DATA = 2;

/** What the element path needs to know about the stream; from the demuxer when available. */
export interface ElementStreamInfo {
  frameCount: number;
  fps: number;
  /** Presentation timestamps (seconds) per frame index, when known: seeks go to the middle of each frame. */
  timestamps?: readonly number[];
  /** Colour tags of the stream (undefined = untagged → BT.601). */
  colorSpace?: VideoColorSpaceInit;
  /** Whether frameCount/fps were measured from playback rather than read from the container. */
  measured: boolean;
  /** Clockwise rotation from the container (used when the browser's VideoFrame does not say). */
  rotation?: Rotation;
  /** The codec string says 10/12-bit or 4:2:2/4:4:4 (High 10/4:2:2/4:4:4, VP9 profile 2/3, AV1 10/12-bit, HEVC Main 10). */
  highBitDepth?: boolean;
}

/** Whether a WebCodecs codec string names a stream our 8-bit 4:2:0 assumptions do not cover. */
export function isHighBitDepthCodec(codec: string | null | undefined): boolean {
  if (!codec) return false;
  return /^avc[13]\.(6e|7a|f4)/i.test(codec) || /^vp09\.0[23]\./.test(codec) || /^av01\.\d\.\d+[MH]\.(10|12)/.test(codec) || /^(hvc1|hev1)\.2\./.test(codec);
}

export interface ElementReadOptions {
  /** Frame indices to read (0-based over `info.frameCount`), or a function of the frame count. */
  indices: readonly number[] | ((frameCount: number) => number[]);
  /** Stream facts; when omitted they are measured from playback. */
  info?: ElementStreamInfo | null;
  signal?: AbortSignal;
  conversion?: FrameConversion;
  /** Longest wait for one seek, in ms. Default 10000. */
  seekTimeoutMs?: number;
}

/**
 * What the element path returns; frames.ts's `FrameReadResult` adds the demuxer's fields. `frames[k]` is frame
 * `frameIndices[k]`; repeated indices get separate buffers.
 */
export interface ElementReadResult {
  frameIndices: number[];
  /** Presentation time of each returned frame, seconds. */
  timestamps: number[];
  /** Frame count L: frames presented after the edit list (estimated as round(duration·fps) when `measured`). */
  frameCount: number;
  fps: number;
  width: number;
  height: number;
  frames: RgbaFrame[];
  /** True when frameCount/fps were measured by playing a <video> (its src could not be demuxed). */
  measured: boolean;
  /** Clockwise rotation applied to return display orientation (the container's display matrix), 0/90/180/270. */
  rotation: Rotation;
}

/** Converts a DemuxedVideo's info into what the element path needs. */
export function elementInfoFromTrack(info: VideoTrackInfo): ElementStreamInfo {
  // Presented frames only (edit list applied): the element shows exactly those, from timestamp 0.
  return { frameCount: info.frameCount, fps: info.fps, timestamps: presentationTimes(info), colorSpace: info.colorSpace, measured: false, rotation: info.rotation, highBitDepth: isHighBitDepthCodec(info.codecString) };
}

/**
 * Waits until the element has metadata (or fails): PPTSNError 'unsupported-source' when the browser cannot play
 * the source, 'decode-failed' for a decode error, 'aborted'.
 */
export async function whenMetadata(video: HTMLVideoElement, options: { signal?: AbortSignal; timeoutMs?: number; what?: string } = {}): Promise<void> {
  if (video.error) throw mediaError(video, options.what);
  if (video.readyState >= HAVE_METADATA) return;
  if (video.preload === 'none') video.preload = 'metadata';
  const ok = once(video, 'loadedmetadata', {
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? 15000,
    onTimeout: () => new PPTSNError('unsupported-source', `The <video> element did not load ${options.what ?? 'its source'} (no metadata after ${options.timeoutMs ?? 15000} ms).`),
  });
  const failed = once(video, 'error', { signal: options.signal }).then(() => { throw mediaError(video, options.what); });
  await Promise.race([ok, failed]);
  failed.catch(() => {});
}

function mediaError(video: HTMLVideoElement, what?: string): PPTSNError {
  const err = video.error;
  const subject = what ?? 'this video';
  if (err?.code === 3 /* MEDIA_ERR_DECODE */) return new PPTSNError('decode-failed', `The browser failed to decode ${subject}: ${err.message}`);
  if (err?.code === 2 /* MEDIA_ERR_NETWORK */) return new PPTSNError('network', `Loading ${subject} failed: ${err.message}`);
  return new PPTSNError('unsupported-source', `The browser cannot play ${subject}${err?.message ? ` (${err.message})` : ''}.`);
}

function crossOriginError(video: HTMLVideoElement, cause?: unknown): PPTSNError {
  return new PPTSNError(
    'cross-origin',
    `The video ${video.currentSrc || video.src} comes from another origin without CORS, so its pixels cannot be read. ` +
    'Set `video.crossOrigin = "anonymous"` before setting its src and serve the file with ' +
    '`Access-Control-Allow-Origin` (or serve it from the same origin).',
    { cause },
  );
}

/**
 * Grabs the element's current frame as a VideoFrame; maps the tainted-source SecurityError to 'cross-origin'.
 * Chromium throws InvalidStateError until the first frame is presented (even after `loadeddata`): then wait for a
 * video frame callback and try again.
 */
async function grab(video: HTMLVideoElement, signal?: AbortSignal): Promise<VideoFrame> {
  for (let attempt = 0; ; attempt++) {
    try {
      return new VideoFrame(video);
    } catch (e) {
      if (e instanceof DOMException && e.name === 'SecurityError') throw crossOriginError(video, e);
      if (!(e instanceof DOMException && e.name === 'InvalidStateError') || attempt >= 3) {
        throw new PPTSNError('decode-failed', `Could not read the current frame of the <video> element: ${String(e)}`, { cause: e });
      }
      await nextPresentedFrame(video, 1000, signal);
    }
  }
}

/** Resolves at the next video frame callback, or after `ms`. */
function nextPresentedFrame(video: HTMLVideoElement, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = () => { clearTimeout(timer); video.cancelVideoFrameCallback(handle); signal?.removeEventListener('abort', onAbort); resolve(); };
    const onAbort = () => { clearTimeout(timer); video.cancelVideoFrameCallback(handle); reject(abortError(signal)); };
    const timer = setTimeout(done, ms);
    const handle = video.requestVideoFrameCallback(() => done());
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Throws PPTSNError('cross-origin') when the element's pixels cannot be read (checked before any seeking). */
export async function assertReadable(video: HTMLVideoElement, signal?: AbortSignal): Promise<void> {
  if (video.readyState < HAVE_CURRENT_DATA) {
    await once(video, 'loadeddata', { signal, timeoutMs: 15000, onTimeout: () => new PPTSNError('decode-failed', 'The <video> element produced no frame within 15 s.') });
  }
  // A canvas read is the portable origin check (and works before the first frame is presented).
  const c = new OffscreenCanvas(1, 1).getContext('2d');
  if (c) {
    try {
      c.drawImage(video, 0, 0, 1, 1);
      c.getImageData(0, 0, 1, 1);
    } catch (e) {
      if (e instanceof DOMException && e.name === 'SecurityError') throw crossOriginError(video, e);
    }
  }
  (await grab(video, signal)).close();
}

/** Measures fps from the media times of frames presented while playing (muted), and L = round(duration · fps). */
export async function measureStream(video: HTMLVideoElement, signal?: AbortSignal): Promise<ElementStreamInfo> {
  const times: number[] = [];
  const wasMuted = video.muted;
  video.muted = true;
  let handle = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(done, 2000);
    const onAbort = () => { clearTimeout(timer); video.cancelVideoFrameCallback(handle); reject(abortError(signal)); };
    signal?.addEventListener('abort', onAbort, { once: true });
    function done() {
      clearTimeout(timer);
      video.cancelVideoFrameCallback(handle);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
      times.push(meta.mediaTime);
      if (times.length >= 16) done();
      else handle = video.requestVideoFrameCallback(onFrame);
    };
    handle = video.requestVideoFrameCallback(onFrame);
    video.play().catch(() => done());
  });
  video.pause();
  video.muted = wasMuted;
  // Frames can be skipped on presentation but never split: the smallest step between distinct media times is 1/fps.
  let step = Infinity;
  const sorted = [...new Set(times)].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) step = Math.min(step, sorted[i]! - sorted[i - 1]!);
  const fps = Number.isFinite(step) && step > 0 ? Math.round(1000 / step) / 1000 : 25;
  const duration = Number.isFinite(video.duration) ? video.duration : 0;
  return { frameCount: Math.max(1, Math.round(duration * fps)), fps, measured: true };
}

/**
 * Reads the wanted frames from `video` by seeking, then restores its currentTime and play state. Main thread only.
 * Throws PPTSNError 'cross-origin' (tainted, checked first), 'unsupported-source', 'decode-failed' (seek stalled),
 * 'aborted'.
 */
export async function readFramesFromElement(video: HTMLVideoElement, options: ElementReadOptions): Promise<ElementReadResult> {
  const { signal } = options;
  const seekTimeoutMs = options.seekTimeoutMs ?? 10000;
  throwIfAborted(signal);
  await whenMetadata(video, { signal });
  if (video.videoWidth === 0 && video.videoHeight === 0) {
    // Audio only, or a video track the browser cannot play next to audio it can: it would play the sound and never
    // present a frame (each seek then times out). Said at once.
    const src = video.currentSrc || video.src || '(srcObject)';
    if (options.info) throw new PPTSNError('unsupported-source', `The <video> element plays only the audio of ${src}: this browser cannot decode its video track. Convert it to MP4 (H.264), e.g. \`ffmpeg -i input -c:v libx264 -pix_fmt yuv420p output.mp4\`, or pass the File/Blob or URL (ffmpeg.wasm reads more codecs).`);
    throw new PPTSNError('no-video-stream', `The <video> element's source ${src} has no video stream it can show: an audio-only file, or a video codec this browser cannot play. Give a video file (MP4 with H.264 plays everywhere).`);
  }
  const wasPaused = video.paused;
  const savedTime = video.currentTime;
  const savedRate = video.playbackRate;
  video.pause();
  try {
    await assertReadable(video, signal);
    const info = options.info ?? await measureStream(video, signal);
    const indices = typeof options.indices === 'function' ? options.indices(info.frameCount) : [...options.indices];
    const wanted = [...new Set(indices)].sort((a, b) => a - b);
    for (const i of wanted) {
      if (!Number.isInteger(i) || i < 0 || i >= info.frameCount) throw new PPTSNError('invalid-argument', `Frame index ${i} is outside 0..${info.frameCount - 1}.`);
    }
    const got = new Map<number, { px: RgbaFrame; time: number }>();
    let rotation: Rotation = info.rotation ?? 0;
    for (const i of wanted) {
      throwIfAborted(signal);
      const target = seekTarget(i, info, video.duration);
      const time = await seekTo(video, target, { signal, timeoutMs: seekTimeoutMs });
      const frame = await grab(video, signal);
      try {
        // Tags: the container's (untagged → BT.601 like ffmpeg); when measured, the frame's own (Chromium tags
        // untagged H.264 frames smpte170m).
        const color = info.measured ? undefined : conversionFor(info.colorSpace);
        if (frame.format === null && info.highBitDepth) {
          // Chromium hands a 10-bit/4:4:4 <video> frame over only as RGB it converted itself (its matrix, its
          // tone mapping): refuse rather than return colours that differ from ffmpeg's.
          throw new PPTSNError('unsupported-source', `The <video> element gives the frames of this high-bit-depth stream only as RGB converted by the browser, which differs from ffmpeg's conversion. Pass the File/Blob or URL instead (decoded with WebCodecs and converted like ffmpeg).`);
        }
        // VideoFrame(video) gives the coded picture and says how the player turns it (Chromium's `rotation`);
        // we turn it the same way, so the element path returns display orientation like the other paths.
        rotation = frameRotation(frame) ?? info.rotation ?? 0;
        const px = await videoFrameToRgba(frame, options.conversion ?? 'yuv', color);
        got.set(i, { px: rotatePixels(px, rotation), time });
      } finally {
        frame.close();
      }
    }
    const first = got.get(wanted[0]!)!.px;
    const seen = new Set<number>();
    return {
      frameIndices: indices,
      timestamps: indices.map((i) => info.timestamps?.[i] ?? got.get(i)!.time),
      frameCount: info.frameCount,
      fps: info.fps,
      width: first.width,
      height: first.height,
      // Repeated indices get their own copy so every buffer can be transferred on its own.
      frames: indices.map((i) => {
        const px = got.get(i)!.px;
        if (!seen.has(i)) { seen.add(i); return px; }
        return { ...px, data: px.data.slice() };
      }),
      measured: info.measured,
      rotation,
    };
  } finally {
    video.playbackRate = savedRate;
    if (Math.abs(video.currentTime - savedTime) > 1e-6) video.currentTime = savedTime;
    if (!wasPaused) video.play().catch(() => {});
  }
}

/** The clockwise rotation a VideoFrame carries (WebCodecs `rotation`, Chromium ≥ 131), or null when not exposed. */
function frameRotation(frame: VideoFrame): Rotation | null {
  const r = (frame as VideoFrame & { rotation?: number }).rotation;
  return typeof r === 'number' ? normalizeRotation(r) : null;
}

/** The middle of frame i: midpoint of its timestamp and the next one when known, else (i + 0.5)/fps. */
function seekTarget(i: number, info: ElementStreamInfo, duration: number): number {
  const ts = info.timestamps;
  if (ts && ts[i] !== undefined) {
    const next = ts[i + 1] ?? (ts[i]! + 1 / info.fps);
    return (ts[i]! + next) / 2;
  }
  const t = (i + 0.5) / info.fps;
  return Number.isFinite(duration) ? Math.min(t, Math.max(0, duration - 0.25 / info.fps)) : t;
}

/**
 * Seeks and resolves once the frame at `t` is presented (`seeked` plus a video frame callback), with the
 * presented frame's media time. A seek within the frame already shown fires no frame callback: after `seeked` we
 * wait a short grace period, then read what is shown.
 */
async function seekTo(video: HTMLVideoElement, t: number, options: { signal?: AbortSignal; timeoutMs: number }): Promise<number> {
  const { signal, timeoutMs } = options;
  return new Promise<number>((resolve, reject) => {
    let seeked = false;
    let presented: number | null = null;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const finish = (err?: unknown) => {
      clearTimeout(timer);
      if (grace !== undefined) clearTimeout(grace);
      video.removeEventListener('seeked', onSeeked);
      video.removeEventListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
      video.cancelVideoFrameCallback(handle);
      if (err) reject(err);
      else resolve(presented ?? video.currentTime);
    };
    const onSeeked = () => {
      seeked = true;
      if (presented !== null) finish();
      else grace = setTimeout(() => finish(), 250);
    };
    const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
      presented = meta.mediaTime;
      if (seeked) finish();
    };
    const onError = () => finish(mediaError(video));
    const onAbort = () => finish(abortError(signal));
    const timer = setTimeout(() => finish(new PPTSNError('decode-failed', `Seeking the <video> element to ${t.toFixed(3)} s did not finish within ${timeoutMs} ms.`)), timeoutMs);
    const handle = video.requestVideoFrameCallback(onFrame);
    video.addEventListener('seeked', onSeeked);
    video.addEventListener('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    video.currentTime = t;
  });
}
