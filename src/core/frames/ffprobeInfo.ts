/**
 * What ffprobe's JSON (`-show_entries FFPROBE_ENTRIES -select_streams v -of json`, ffmpegFilter.ts) says about the
 * video stream decord reads (streamChoice.ts: av_find_best_stream's rule, not simply the first), as the frame plan
 * needs it. One parser for the three ffprobes pptsn-web runs: the system ffprobe (CLI,
 * src/node/ffmpeg.ts), ffmpeg.wasm's in Node (src/node/ffmpegWasm.ts) and in the browser (src/video/ffmpegWasm.ts),
 * so the three agree on L, rotation and colour (core/frames/framePlan.ts decides them). Pure: no I/O.
 */
import { PPTSNError } from '../errors.js';
import { clockwiseFromDisplayMatrix, planFrames, type ColorMatrix, type Rotation } from './framePlan.js';
import { bestVideoStream } from './streamChoice.js';

/** What ffprobe says about the video stream read (decord's choice, streamChoice.ts). */
export interface VideoInfo {
  /** The stream's index in the file (ffmpeg's `-map 0:<index>`; audio and other streams count). */
  streamIndex: number;
  /** Video streams in the file (cover images and attached pictures included). */
  videoStreams: number;
  /** Container short name(s) as ffmpeg calls them, e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`. */
  container: string;
  containerLongName: string;
  /** Codec short name, e.g. `h264`, `vp9`, `av1`. */
  codec: string;
  codecLongName: string;
  /** Display size: the frames' size after autorotation (coded size with width/height swapped for 90/270). */
  width: number;
  height: number;
  /** Coded (decoded) picture size before rotation. */
  codedWidth: number;
  codedHeight: number;
  /** Average frame rate (avg_frame_rate, else r_frame_rate); NaN when unknown. */
  fps: number;
  /** L: frames presented after the edit list (what ffmpeg, decord, OpenCV and players decode). */
  frameCount: number;
  /** Video packets in the container, including those an edit list hides. */
  packetCount: number;
  /** Seconds; NaN when unknown. */
  duration: number;
  pixelFormat: string;
  /** Colour tags, `undefined` when the stream is untagged. */
  colorSpace?: string;
  colorRange?: string;
  colorTransfer?: string;
  colorPrimaries?: string;
  /** Clockwise rotation applied to the frames (display matrix / `rotate` tag), 0/90/180/270. */
  rotation: Rotation;
  /** The YCbCr matrix the RGB conversion will use (`bt601` for untagged streams, like decord/ffmpeg). */
  colorMatrix: ColorMatrix;
  /** Whether the conversion treats the stream as full range (`color_range=pc` or a `yuvj*` format). */
  fullRange: boolean;
}

type FfprobeJson = { streams?: Record<string, unknown>[]; packets?: { stream_index?: number; flags?: string }[]; format?: Record<string, unknown> };

function parseRate(s: string | undefined): number {
  if (!s) return NaN;
  const [a, b] = s.split('/').map(Number);
  if (b === undefined) return Number(a);
  return a! > 0 && b > 0 ? a! / b : NaN;
}

/**
 * Parses ffprobe's JSON output for `name` (used in messages); `log` is what ffprobe printed on stderr (an MP4 cut
 * inside a frame says "partial file" there). Errors: 'unsupported-source' (not JSON, no frame
 * size), 'no-video-stream' (none), 'video-too-short' (a video stream without frames).
 */
export function videoInfoFromFfprobe(stdout: string, name: string, log = ''): VideoInfo {
  let j: FfprobeJson;
  try {
    j = JSON.parse(stdout) as FfprobeJson;
  } catch (e) {
    throw new PPTSNError('unsupported-source', `ffprobe gave unreadable output for ${name}.`, { cause: e });
  }
  const fmt = j.format ?? {};
  const container = String(fmt['format_name'] ?? 'unknown');
  const containerLongName = String(fmt['format_long_name'] ?? container);
  const streams = (j.streams ?? []).filter((v) => v['codec_type'] === undefined || v['codec_type'] === 'video');
  if (streams.length === 0) throw new PPTSNError('no-video-stream', `${name} (${containerLongName}) has no video stream (an audio-only file?): give a video file.`);
  const indexOf = (v: Record<string, unknown>, k: number) => (typeof v['index'] === 'number' ? (v['index'] as number) : k);
  const allPackets = j.packets ?? [];
  const packetsOf = (index: number) => allPackets.filter((p) => (p.stream_index ?? index) === index);
  const flag = (v: Record<string, unknown>, k: string) => Number((v['disposition'] as Record<string, unknown> | undefined)?.[k] ?? 0) === 1;
  const chosen = bestVideoStream(streams.map((v, k) => ({
    index: indexOf(v, k),
    // decord skips streams ffmpeg has no decoder for; ffprobe names every codec it knows.
    decodable: typeof v['codec_name'] === 'string' && v['codec_name'] !== 'unknown' && v['codec_name'] !== 'none',
    isDefault: flag(v, 'default'),
    hearingImpaired: flag(v, 'hearing_impaired'),
    visualImpaired: flag(v, 'visual_impaired'),
    frameCount: packetsOf(indexOf(v, k)).length,
    bitRate: Number(v['bit_rate'] ?? 0) || 0,
  })));
  const s = streams.find((v, k) => indexOf(v, k) === chosen) ?? streams[0]!;
  const streamIndex = indexOf(s, streams.indexOf(s));
  const str = (k: string) => (typeof s[k] === 'string' && s[k] !== 'unknown' ? (s[k] as string) : undefined);
  const codec = str('codec_name') ?? 'unknown';
  const codecLongName = str('codec_long_name') ?? codec;
  const packets = packetsOf(streamIndex);
  const packetCount = packets.length;
  // packet flags 'D': a packet the edit list hides (decoded as a reference, never output).
  const frameCount = packets.filter((p) => !(p.flags ?? '').includes('D')).length;
  const codedWidth = Number(s['width'] ?? 0);
  const codedHeight = Number(s['height'] ?? 0);
  // An MP4/MOV whose index (moov, written first) lists more samples than the file holds: a download or copy cut
  // short. ffprobe lists the packets that are there (the last one may be partial, and ffmpeg decodes one fewer),
  // while decord takes the index's count: neither is the frames of a whole file. Refused as the browser refuses it.
  // A fragmented MP4 cut inside a fragment lists a last packet ffmpeg reads only in part ("partial file") and never
  // decodes: the count would be one too many.
  const listed = Number(s['nb_frames']);
  if (/\bmov\b/.test(container) && /partial file/.test(log)) {
    throw new PPTSNError('decode-failed', `${name} is incomplete (truncated): its last video frame is cut off, as when a download or recording stops early. Get the complete file again.`);
  }
  if (/\bmov\b/.test(container) && Number.isInteger(listed) && listed > packetCount) {
    throw new PPTSNError('decode-failed', `${name} is incomplete (truncated): its index lists ${listed} video frames but the file ends after ${packetCount}, as when a download or copy stops early. Get the complete file again.`);
  }
  if (!(frameCount > 0)) throw new PPTSNError('video-too-short', `${name} (${containerLongName}, ${codecLongName}) has no video frames.`);
  if (!(codedWidth > 0 && codedHeight > 0)) {
    // ffmpeg names the codec but has no decoder that reads it (animated WebP in ffmpeg 5.1/6): decord cannot either.
    const convert = codec === 'webp'
      ? 'ffmpeg (so decord and PaddleVideo too) cannot decode animated WebP. Convert it with ImageMagick, e.g. `magick input.webp -coalesce frame_%04d.png` then `ffmpeg -framerate 25 -i frame_%04d.png -c:v libx264 -pix_fmt yuv420p output.mp4`'
      : `ffmpeg has no decoder that reads it, so decord and PaddleVideo cannot either. Convert it to MP4 (H.264) with the program that made it, e.g. \`ffmpeg -i input -c:v libx264 -pix_fmt yuv420p -an output.mp4\` where an ffmpeg reads it`;
    throw new PPTSNError('unsupported-source', `${name}: the ${codecLongName} stream in ${containerLongName} has no frame size: ${convert}.`);
  }
  let fps = parseRate(str('avg_frame_rate'));
  if (!(fps > 0)) fps = parseRate(str('r_frame_rate'));
  const sideData = (s['side_data_list'] as Record<string, unknown>[] | undefined) ?? [];
  const colorSpace = str('color_space');
  const pixelFormat = str('pix_fmt') ?? 'unknown';
  // The one decision shared with the browser paths: display size, rotation and conversion.
  const plan = planFrames(
    {
      presentedFrames: frameCount,
      codedWidth,
      codedHeight,
      rotation: clockwiseFromDisplayMatrix(Number(sideData.find((d) => d['rotation'] !== undefined)?.['rotation'] ?? 0)),
      matrix: colorSpace ?? null,
      fullRange: str('color_range') === 'pc',
      pixelFormat,
    },
    { indices: [] },
  );
  return {
    streamIndex,
    videoStreams: streams.length,
    container,
    containerLongName,
    codec,
    codecLongName,
    width: plan.width,
    height: plan.height,
    codedWidth,
    codedHeight,
    fps: fps > 0 ? fps : NaN,
    frameCount,
    packetCount,
    duration: Number(str('duration') ?? fmt['duration'] ?? NaN),
    pixelFormat,
    colorSpace,
    colorRange: str('color_range'),
    colorTransfer: str('color_transfer'),
    colorPrimaries: str('color_primaries'),
    rotation: plan.rotation,
    colorMatrix: plan.color.matrix,
    fullRange: plan.color.fullRange,
  };
}


/**
 * The error for a file ffmpeg cannot open, from its log and its first bytes (`head`, ≥ 8): an MP4/MOV whose index
 * (`moov`) was never written (a recording or download that stopped) is 'decode-failed' saying the file is
 * incomplete, as the browser's demuxer says it; null for anything else (the caller's own 'unsupported-source').
 */
export function incompleteFileError(log: string, name: string, head: Uint8Array | null): PPTSNError | null {
  // ffmpeg says "moov atom not found" for any file named .mp4 it cannot read: only an MP4 box first is an MP4.
  const box = head && head.length >= 8 ? String.fromCharCode(...head.subarray(4, 8)) : '';
  if (!/moov atom not found/i.test(log) || !['ftyp', 'mdat', 'free', 'skip', 'wide', 'moov'].includes(box)) return null;
  return new PPTSNError('decode-failed', `${name} is incomplete (truncated): its index (the MP4 \`moov\` atom) was never written, as when a recording or download stops early. Get the complete file again, or re-export it.`);
}
