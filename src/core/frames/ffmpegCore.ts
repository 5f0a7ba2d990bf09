/**
 * Driving an ffmpeg.wasm core (`@ffmpeg/core`, ffmpeg 6, single-threaded) the way the CLI drives the system
 * ffmpeg: ffprobe for L, rotation and colour (ffprobeInfo.ts → framePlan.ts), then the same `select` graph
 * (ffmpegFilter.ts) so only the sampled frames leave the decoder. Shared by the browser fallback
 * (src/video/ffmpegWasm.ts) and Node's in-process decoder (src/node/ffmpegWasm.ts), which both run the core through
 * the one host of core/ffmpegHost/ (its instances, renewal every EXECS_PER_CORE runs, crash retry, watchdog) and
 * give it here as `FfmpegCoreRunner`.
 *
 * Colour: the core's swscale has only the C path, ~0.6 levels off the x86 SIMD converter that the system ffmpeg and
 * decord use (far more on 4:2:2). 8-bit 4:2:0 and 4:2:2 with an even height (what nearly every video and webcam
 * MJPEG is) therefore leave the core as YUV and are converted by yuv.ts, bit-exact with `ffmpeg -pix_fmt rgb24` on
 * x86; other formats come out as the core's RGB24 (`exactColour: false` in the result, so a caller with the system
 * ffmpeg can prefer it).
 */
import { PPTSNError } from '../errors.js';
import type { FramePixels } from './pixels.js';
import { FFPROBE_ENTRIES, FFPROBE_SELECT, ffmpegFrameFilter } from './ffmpegFilter.js';
import { incompleteFileError, videoInfoFromFfprobe, type VideoInfo } from './ffprobeInfo.js';
import { yuvToRgba } from './yuv.js';

/** One ffprobe or ffmpeg call on a loaded core; the input is a path inside the core's file system. */
export interface FfmpegCoreRunner {
  /** Runs ffprobe with `args` and returns what it wrote to `-o` (empty when nothing) and its log lines. */
  ffprobe(args: string[]): Promise<{ stdout: string; log: string[] }>;
  /** Runs ffmpeg with `args` (the last is the output file) and returns its exit code, the output file, its log. */
  ffmpeg(args: string[], onTime?: (microseconds: number) => void): Promise<{ code: number; output: Uint8Array | null; log: string[] }>;
}

/** 8-bit planar formats the core hands out as YUV, with their chroma layout for yuv.ts. */
const YUV_LAYOUTS: Record<string, 'I420' | 'I422'> = { yuv420p: 'I420', yuvj420p: 'I420', yuv422p: 'I422', yuvj422p: 'I422' };

/**
 * Whether the core hands this stream out as YUV for yuv.ts (bit-exact colour); everything else is the core's RGB24.
 * 8-bit 4:2:0 and 4:2:2 (webcams' and cameras' MJPEG `yuvj422p`) with an even display height: x86 swscale converts
 * both with its unscaled SIMD converter (nearest-neighbour chroma, yuv.ts's arithmetic), whereas the core's C
 * converter is up to ~150 levels off on 4:2:2. For an odd height swscale skips the unscaled converter
 * (`!(dstH & 1)` in swscale_unscaled.c) and runs the full scaler, which interpolates chroma: the core's RGB24 is then
 * the system ffmpeg's (checked on 4:2:0 and 4:2:2, odd widths too), and so is 4:4:4's (the full scaler as well).
 */
export function exactYuvFormat(info: Pick<VideoInfo, 'pixelFormat' | 'height'>): boolean {
  return YUV_LAYOUTS[info.pixelFormat] !== undefined && info.height % 2 === 0;
}

/**
 * ffprobe through the core. `unreadable(log)` builds the error for a file the core cannot open (the caller says
 * what to do in its own words; an MP4 without its index, told by `head()`, the file's first bytes, read only then, is
 * 'decode-failed'); a file that opens without a video stream is 'no-video-stream'.
 */
export async function probeWithCore(runner: FfmpegCoreRunner, input: string, name: string, unreadable: (log: string) => PPTSNError, head: () => Promise<Uint8Array | null> = async () => null): Promise<VideoInfo> {
  const { stdout, log } = await runner.ffprobe(['-v', 'error', ...FFPROBE_SELECT, '-show_entries', FFPROBE_ENTRIES, '-of', 'json', input]);
  // The core's ffprobe returns −1 even on success: its JSON output is what tells.
  let opened = false;
  try {
    const j = JSON.parse(stdout) as { streams?: unknown[]; format?: unknown };
    opened = Boolean(j.streams?.length || j.format);
  } catch { /* not JSON: unreadable */ }
  if (!opened) throw incompleteFileError(log.join('\n'), name, await head()) ?? unreadable(log.slice(-2).join(' | ') || 'unknown format');
  return videoInfoFromFfprobe(stdout, name, log.join('\n'));
}

/**
 * Decodes the frames at the unique sorted presented indices `wanted` of a probed input to RGBA (`channels` 3: RGB, the CLI's) in display
 * orientation (autorotation runs inside ffmpeg, before `select`). Returns them in the order of `wanted`; an index
 * past the last decodable frame gets the last decoded one when the core reported no error (edit lists can hide a few
 * packets), as the CLI does. Errors: 'decode-failed' (nothing decodable, or frames missing with errors),
 * 'unsupported-source' (no decoder for the codec in this core).
 */
export async function decodeWithCore(
  runner: FfmpegCoreRunner,
  input: string,
  name: string,
  info: VideoInfo,
  wanted: readonly number[],
  options: { channels?: 3 | 4; onTime?: (microseconds: number) => void } = {},
): Promise<{ frames: (FramePixels & { data: Uint8ClampedArray })[]; exactColour: boolean }> {
  const channels = options.channels ?? 4;
  const { width, height } = info;
  const color = { matrix: info.colorMatrix, fullRange: info.fullRange };
  const yuv = exactYuvFormat(info);
  const graph = ffmpegFrameFilter(wanted, { width, height, color });
  // Without the scale, a stream that changes frame size mid-way (concatenated .ts, a resolution switch) would
  // leave frames of another size in the raw output, and the system ffmpeg scales those frames to the probed size
  // with its own yuv→rgb path. crop with a zero width fails the graph's reconfiguration on any other size (a no-op
  // at the probed size), so such a decode stops with an error (and `auto` hands the file to the system ffmpeg).
  const sizeGuard = `crop=w=iw*eq(iw\\,${width})*eq(ih\\,${height}):h=ih:exact=1`;
  const filter = yuv ? `${graph.replace(/,scale=.*$/, '')},${sizeGuard}` : graph;
  const out = '/frames.raw';
  const { code, output, log } = await runner.ffmpeg([
    '-v', 'error', '-i', input, '-map', `0:${info.streamIndex}`, '-an', '-sn', '-dn',
    '-vf', filter, '-fps_mode', 'passthrough',
    // Stop reading once the last wanted frame is out.
    '-frames:v', String(wanted.length),
    '-f', 'rawvideo', '-pix_fmt', yuv ? info.pixelFormat : 'rgb24', out,
  ], options.onTime);
  const layout = YUV_LAYOUTS[info.pixelFormat] ?? 'I420';
  const cw = (width + 1) >> 1, ch = layout === 'I422' ? height : (height + 1) >> 1;
  const frameBytes = yuv ? width * height + 2 * cw * ch : width * height * 3;
  const got = output ? Math.floor(output.length / frameBytes) : 0;
  // The core exits 0 even when the decoder complained (and logs "Aborted()" as it ends): its error lines tell, as
  // the system ffmpeg's stderr does in src/node/ffmpeg.ts. Missing frames with complaints (a stream cut before its
  // parameter sets, damage) would otherwise be padded with the last frame where the system ffmpeg refuses the file.
  const complaints = log.map((l) => l.trim()).filter((l) => l && l !== 'Aborted()');
  // A codec this build of the core lacks (AV1 in @ffmpeg/core 0.12): ffmpeg cannot even configure the stream.
  if (got === 0 && complaints.some((l) => /Decoder \(codec .*\) not found|Cannot determine format of input stream|No decoder/i.test(l))) {
    throw new PPTSNError('unsupported-source', `ffmpeg.wasm has no decoder for the ${info.codecLongName} stream of ${name}.`);
  }
  if (complaints.some((l) => /Invalid too big or non positive size/.test(l)) && got < wanted.length) {
    throw new PPTSNError('decode-failed', `${name} changes frame size mid-stream (it was probed at ${width}×${height}); ffmpeg.wasm stops there rather than return frames the system ffmpeg would scale differently.`);
  }
  if (got === 0 || (got < wanted.length && (code !== 0 || complaints.length > 0))) {
    throw new PPTSNError('decode-failed', `ffmpeg.wasm decoded ${got === 0 ? 'no frame' : `only ${got} of ${wanted.length} frames`} of ${name}; the file looks damaged (${complaints.slice(-2).join(' | ') || `exit ${code}`}).`);
  }
  const frames = wanted.map((_, k) => {
    const at = Math.min(k, got - 1);
    const raw = output!.subarray(at * frameBytes, (at + 1) * frameBytes);
    if (yuv) {
      const ySize = width * height;
      const planes = [{ offset: 0, stride: width }, { offset: ySize, stride: cw }, { offset: ySize + cw * ch, stride: cw }];
      return { width, height, channels, data: yuvToRgba(raw, planes, layout, width, height, color, channels) };
    }
    if (channels === 3) return { width, height, channels, data: new Uint8ClampedArray(raw) };
    const data = new Uint8ClampedArray(width * height * 4);
    for (let p = 0, s = 0; s < raw.length; p += 4, s += 3) {
      data[p] = raw[s]!;
      data[p + 1] = raw[s + 1]!;
      data[p + 2] = raw[s + 2]!;
      data[p + 3] = 255;
    }
    return { width, height, channels, data };
  });
  return { frames, exactColour: yuv };
}
