/**
 * Container reading for the browser frame path: mediabunny (pure TypeScript, MP4/MOV/WebM/MKV/…) gives the video
 * track, its codec and WebCodecs decoder config, colour tags and packet-level access. Browser-only only in the sense
 * that it is used next to WebCodecs; it has no DOM dependency and runs in a Web Worker.
 *
 * The frame count is the number of frames the container presents (docs/contract.md §4): every video packet, less
 * those an MP4 edit list hides (mediabunny shifts timestamps by the edit's media time, so hidden leading frames come
 * out with negative timestamps), as ffmpeg/decord/players count them; not duration × fps.
 */
import {
  ALL_FORMATS,
  BlobSource,
  EncodedPacketSink,
  Input,
  UrlSource,
  type EncodedPacket,
  type InputVideoTrack,
} from 'mediabunny';
import { messageOf, PPTSNError } from '../core/errors.js';
import { isPresented, normalizeRotation, type Rotation } from '../core/frames/framePlan.js';
import { sniffContainer, type DemuxSource } from './sniff.js';
import { chooseTrack, CutShortError, isCutShort } from './track.js';
import { throwIfAborted, abortable, quotedUrl } from './util.js';

export { sniffContainer } from './sniff.js';
export { CutShortError } from './track.js';

/** One video frame as the container lists it. */
export interface FrameEntry {
  /** Presentation timestamp in seconds, as the container gives it (edit lists applied by mediabunny). */
  timestamp: number;
  /** Duration in seconds (0 when the container does not say). */
  duration: number;
  /** Position of the packet in decode order (0-based). */
  decodeIndex: number;
  /** Whether the container marks the packet as a key frame. */
  key: boolean;
}

/** What the demuxer learned about the video track read (decord's choice: core/frames/streamChoice.ts). */
export interface VideoTrackInfo {
  /** The track's index among all the file's tracks (ffmpeg's stream index where the demuxers list the same tracks). */
  streamIndex: number;
  /** Video tracks in the file (a `<video>` element plays one of its own choosing). */
  videoTracks: number;
  /**
   * The file is cut short (an interrupted download or recording): its last packets are not all there. mediabunny
   * then lists fewer frames than ffmpeg decodes (a WebM's incomplete last cluster) or frames with no data (an MP4
   * whose index comes first): frames.ts hands the file to ffmpeg.wasm, or refuses it.
   */
  truncated: boolean;
  /** Container name as mediabunny reports it, e.g. 'MP4', 'WebM', 'Matroska', 'QuickTime'. */
  container: string;
  /** mediabunny codec id ('avc', 'hevc', 'vp8', 'vp9', 'av1', 'prores') or null when unknown. */
  codec: string | null;
  /** Full codec string (e.g. 'avc1.64001e') or the container's internal codec id when unknown. */
  codecString: string | null;
  /** Frames presented after the edit list = decoded frame count L (docs/contract.md §4). */
  frameCount: number;
  /** Video packets, including those the edit list hides (decoded as references only). */
  packetCount: number;
  /** Frames per second from the median frame interval (1 / median Δpts). */
  fps: number;
  /** Coded picture size before rotation. */
  width: number;
  height: number;
  /** Clockwise rotation the container asks players to apply; the readers apply it (decord ≥ 0.3.8 does too). */
  rotation: Rotation;
  /** Colour tags from the container or bitstream; fields are undefined when untagged. */
  colorSpace: VideoColorSpaceInit;
  /** Presented frames in presentation order: frame index i of the sampler is `frames[i]`. */
  frames: FrameEntry[];
  /** Every packet in decode order (hidden ones included): what the decoder must be fed. */
  packets: FrameEntry[];
}

/** An opened file: track info plus what the decoder needs. Call `dispose()` when done. */
export interface DemuxedVideo {
  info: VideoTrackInfo;
  /** WebCodecs config from the container (null when mediabunny does not know the codec). */
  decoderConfig: VideoDecoderConfig | null;
  track: InputVideoTrack;
  sink: EncodedPacketSink;
  dispose(): void;
}

export type { DemuxSource } from './sniff.js';

/**
 * Opens `source` and lists the packets of the video track decord reads (chooseTrack). Throws PPTSNError:
 * 'video-too-short' (empty file, zero packets), 'no-video-stream' (no video track), 'unsupported-source' (container
 * mediabunny cannot read, or video it skips such as MPEG-2 in MPEG-TS; the message names them when the bytes say),
 * 'cross-origin' / 'network' (URL fetch failed), 'decode-failed' (a known container that is truncated or corrupt;
 * an MP4 without its index), 'aborted'.
 */
export async function openVideo(source: DemuxSource, options: { signal?: AbortSignal } = {}): Promise<DemuxedVideo> {
  const { signal } = options;
  throwIfAborted(signal);
  if (source instanceof Blob && source.size === 0) {
    throw new PPTSNError('video-too-short', `${describe(source)} is empty (0 bytes): there is no video to read. Choose the file again (a download or copy may have failed).`);
  }
  let fetchError: unknown = null;
  const url = typeof source === 'string' || source instanceof URL ? String(source) : null;
  const src = url !== null
    ? new UrlSource(url, {
      // One try: a failed fetch is reported to the caller (with CORS advice) instead of being retried forever.
      getRetryDelay: (_n, error) => { fetchError = error; return null; },
    })
    : new BlobSource(source as Blob);
  const input = new Input({ formats: ALL_FORMATS, source: src });
  const onAbort = () => input.dispose();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let readable: boolean;
    try {
      readable = await abortable(input.canRead(), signal);
    } catch (e) {
      throw await classifyOpenError(e, source, url, fetchError, signal);
    }
    if (!readable) {
      const sniffed = await sniffContainer(source, signal).catch(() => null);
      if (sniffed?.empty) throw new PPTSNError('video-too-short', `${describe(source)} is empty (0 bytes): there is no video to read.`);
      throw unsupportedSource(sniffed?.container ?? 'an unknown container', sniffed?.codec ?? null);
    }
    const format = await abortable(input.getFormat(), signal);
    let chosen: { track: InputVideoTrack; streamIndex: number; videoTracks: number } | null;
    try {
      chosen = await abortable(chooseTrack(input, format.name), signal);
    } catch (e) {
      throw await classifyOpenError(e, source, url, fetchError, signal);
    }
    if (!chosen) {
      // No track at all is not an audio file: an MP4 whose recording or download stopped before its index (moov).
      const tracks = await abortable(input.getTracks(), signal).catch(() => []);
      if (tracks.length === 0 && /MP4|QuickTime|MOV/i.test(format.name)) {
        throw new PPTSNError(
          'decode-failed',
          `${describe(source)} (${format.name}) is incomplete (truncated): it has no tracks at all (a recording or download that stopped before the file's index was written). Get the complete file again, or re-export it.`,
        );
      }
      // mediabunny skips video it does not know (MPEG-2 and MPEG-4 Part 2 in MPEG-TS): say which, when the bytes say.
      const sniffed = await sniffContainer(source, signal).catch(() => null);
      if (sniffed?.codec) throw unsupportedSource(sniffed.container ?? format.name, sniffed.codec);
      if (tracks.length === 0 && !/MP4|QuickTime|MOV/i.test(format.name)) throw unsupportedSource(`${format.name} (no track this browser knows)`, null);
      throw new PPTSNError('no-video-stream', `${describe(source)} (${format.name}) has no video stream (an audio-only file?): give a video file.`);
    }
    const { track, streamIndex, videoTracks } = chosen;
    const codec = await abortable(track.getCodec(), signal);
    const internalId = await abortable(track.getInternalCodecId(), signal).catch(() => null);
    const decoderConfig = codec ? await abortable(track.getDecoderConfig(), signal).catch(() => null) : null;
    const sink = new EncodedPacketSink(track);

    // List every packet (metadata only: no sample data is read) to get L, timestamps and key frames.
    const decodeOrder: FrameEntry[] = [];
    try {
      for await (const p of sink.packets(undefined, undefined, { metadataOnly: true })) {
        decodeOrder.push({ timestamp: p.timestamp, duration: p.duration, decodeIndex: decodeOrder.length, key: p.type === 'key' });
        if (decodeOrder.length % 512 === 0) throwIfAborted(signal);
      }
    } catch (e) {
      throw await classifyOpenError(e, source, url, fetchError, signal);
    }
    throwIfAborted(signal);
    if (decodeOrder.length === 0) {
      // A WebM cut inside its first cluster: mediabunny lists none of the frames ffmpeg still decodes from it.
      if (await abortable(isCutShort(input, format.name, sink, decodeOrder, source), signal)) throw new CutShortError(format.name);
      throw new PPTSNError('video-too-short', `${describe(source)} (${format.name}) has a video track with no frames.`);
    }
    // Stable sort by presentation time: frame i of the sampler is the i-th frame shown, as decord numbers them.
    // Frames before the edit list's start (negative timestamps) are never shown: not counted, never returned.
    const frames = decodeOrder
      .filter((f) => isPresented(f.timestamp))
      .sort((a, b) => a.timestamp - b.timestamp || a.decodeIndex - b.decodeIndex);
    if (frames.length === 0) {
      throw new PPTSNError('video-too-short', `${describe(source)} (${format.name}): its edit list shows none of its ${decodeOrder.length} video frames.`);
    }
    const info: VideoTrackInfo = {
      streamIndex,
      videoTracks,
      truncated: await abortable(isCutShort(input, format.name, sink, decodeOrder, source), signal),
      container: format.name,
      codec,
      codecString: decoderConfig?.codec ?? (typeof internalId === 'string' ? internalId : null),
      frameCount: frames.length,
      packetCount: decodeOrder.length,
      fps: estimateFps(frames, await track.getTimeResolution().catch(() => 1000)),
      width: await track.getCodedWidth(),
      height: await track.getCodedHeight(),
      rotation: normalizeRotation(await track.getRotation()),
      colorSpace: await track.getColorSpace().catch(() => ({})),
      frames,
      packets: decodeOrder,
    };
    signal?.removeEventListener('abort', onAbort);
    return {
      info,
      decoderConfig,
      track,
      sink,
      dispose: () => input.dispose(),
    };
  } catch (e) {
    signal?.removeEventListener('abort', onAbort);
    input.dispose();
    throw e;
  }
}

/** Fetches the packets of decode positions [from, to] (inclusive) with their data, in decode order. */
export async function* packetRun(video: DemuxedVideo, from: number, to: number, signal?: AbortSignal): AsyncGenerator<EncodedPacket> {
  const byDecode = decodeOrderOf(video.info);
  const first = byDecode[from]!;
  // getPacket(t) returns the last packet (presentation order) starting at or before t: the key packet itself.
  const start = await abortable(video.sink.getPacket(first.timestamp, { verifyKeyPackets: false }), signal);
  if (!start || Math.abs(start.timestamp - first.timestamp) > 1e-9) {
    throw new PPTSNError('decode-failed', `Could not locate the key frame at ${first.timestamp.toFixed(3)} s.`);
  }
  let pos = from;
  for await (const p of video.sink.packets(start)) {
    throwIfAborted(signal);
    if (p.byteLength > 0 && p.data.byteLength === 0) {
      throw new PPTSNError('decode-failed', `Packet ${pos} has no data: the file looks truncated.`);
    }
    yield p;
    if (++pos > to) return;
  }
  if (pos <= to) throw new PPTSNError('decode-failed', `The file ended after ${pos} of ${byDecode.length} video packets: it looks truncated.`);
}

/**
 * Presentation times (seconds) of the presented frames on the player's timeline: ffmpeg and Chromium's <video>
 * start an edit-listed track at its first shown frame, whereas mediabunny keeps the edit's sub-frame offset (a
 * stream-copy trim at 0.5 s of a 25 fps clip starts its first frame at +0.02 s). Seeking to the middle of a frame
 * must use these times, or every seek lands on the next frame.
 */
export function presentationTimes(info: VideoTrackInfo): number[] {
  const first = info.frames[0]?.timestamp ?? 0;
  const shift = first > 0 && first < 1 / info.fps ? first : 0;
  return info.frames.map((f) => f.timestamp - shift);
}

/** Every packet in decode order, hidden ones included. */
export function decodeOrderOf(info: VideoTrackInfo): FrameEntry[] {
  return info.packets;
}

/**
 * Frames per second: the mean interval over the whole track when it agrees with the median (constant frame rate;
 * averaging cancels timestamp rounding, e.g. WebM's millisecond ticks make 12 fps read as 83 ms = 12.048 fps per
 * frame), else 1 / median interval. Snapped to an integer or N·1000/1001 rate when within the timestamp resolution.
 */
function estimateFps(frames: FrameEntry[], ticksPerSecond: number): number {
  const deltas: number[] = [];
  for (let i = 1; i < frames.length; i++) {
    const d = frames[i]!.timestamp - frames[i - 1]!.timestamp;
    if (d > 1e-6) deltas.push(d);
  }
  if (deltas.length === 0) {
    const only = frames[0];
    return only && only.duration > 0 ? Math.round((1 / only.duration) * 1000) / 1000 : 25;
  }
  const sorted = deltas.slice().sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1]!;
  const span = frames[frames.length - 1]!.timestamp - frames[0]!.timestamp;
  const mean = span / deltas.length;
  const interval = Math.abs(mean - median) < 0.05 * median ? mean : median;
  const fps = 1 / interval;
  // Relative error of the estimate: one tick over the measured time (span, or one interval for the median).
  const measuredOver = interval === mean ? span : median;
  const tol = Math.max(1e-6, 1.5 / (Math.max(ticksPerSecond, 1) * measuredOver));
  let best = fps;
  let bestErr = Infinity;
  for (const c of [Math.round(fps), Math.round(fps * 1.001) / 1.001]) {
    const err = Math.abs(c - fps) / fps;
    if (c > 0 && err <= tol && err < bestErr) { best = c; bestErr = err; }
  }
  return Math.round(best * 1000) / 1000;
}

function describe(source: DemuxSource): string {
  if (typeof source === 'string' || source instanceof URL) return quotedUrl(String(source));
  const name = (source as File).name;
  return name ? `'${name}'` : 'The video';
}

/** The error to throw for a container or codec nothing here can decode. */
export function unsupportedSource(container: string, codec: string | null): PPTSNError {
  const what = codec ? `${codec} video in ${container}` : container;
  return new PPTSNError(
    'unsupported-source',
    `This browser cannot decode ${what}. Convert it to MP4 (H.264) or WebM (VP9), e.g. ` +
    '`ffmpeg -i input -c:v libx264 -pix_fmt yuv420p -an output.mp4` or ' +
    '`ffmpeg -i input -c:v libvpx-vp9 -b:v 0 -crf 32 -an output.webm`.',
  );
}

async function classifyOpenError(e: unknown, source: DemuxSource, url: string | null, fetchError: unknown, signal?: AbortSignal): Promise<unknown> {
  if (signal?.aborted) return new PPTSNError('aborted', 'Reading the video was aborted.', { cause: signal.reason });
  if (e instanceof PPTSNError) return e;
  if (url !== null) {
    const err = fetchError ?? e;
    const msg = messageOf(err);
    // mediabunny says "Error fetching <url>: 404 Not Found": keep the status, say what to check.
    const status = /\b([45]\d\d)\b(?:\s+([A-Za-z][A-Za-z ]*))?/.exec(msg.split(url).join(''));
    if (status) {
      return new PPTSNError(
        'network',
        `Fetching ${url} failed: the server answered HTTP ${status[1]}${status[2] ? ` ${status[2].trim()}` : ''}. Check the URL (a relative one resolves against the page's address) and that the server serves the file.`,
        { cause: err },
      );
    }
    if (/status/i.test(msg) && !/fetch/i.test(msg)) {
      return new PPTSNError('network', `Fetching ${url} failed: ${msg}`, { cause: err });
    }
    if (isCrossOriginUrl(url) && (err instanceof TypeError || /fetch|cors|network/i.test(msg))) {
      return new PPTSNError(
        'cross-origin',
        `Fetching ${url} failed, most likely because the server does not send CORS headers. Serve it with ` +
        '`Access-Control-Allow-Origin` (and allow Range requests), or load it from the same origin.',
        { cause: err },
      );
    }
    if (err instanceof TypeError || /fetch|network/i.test(msg)) {
      return new PPTSNError('network', `Fetching ${url} failed: ${msg}`, { cause: err });
    }
  }
  const sniffed = await sniffContainer(source, signal).catch(() => null);
  const msg = messageOf(e);
  return new PPTSNError(
    'decode-failed',
    `${describe(source)}${sniffed?.container ? ` (${sniffed.container})` : ''} could not be read; it looks truncated or corrupt: ${msg}`,
    { cause: e },
  );
}

function isCrossOriginUrl(url: string): boolean {
  const here = (globalThis as { location?: { href: string; origin: string } }).location;
  if (!here) return false;
  try {
    return new URL(url, here.href).origin !== here.origin;
  } catch {
    return false;
  }
}
