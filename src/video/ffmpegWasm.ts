/**
 * The fallback for files mediabunny + WebCodecs cannot read (AVI with MPEG-4 Part 2/XviD as in UCF101, MJPEG,
 * MKV/MOV with codecs the browser lacks): ffmpeg.wasm (`@ffmpeg/core`, the single-threaded build, ffmpeg 6) driven
 * directly through its Emscripten module inside our worker. It runs what the CLI runs (ffprobe for the presented
 * frame count, rotation and colour tags → core/frames/framePlan.ts; then the same `select` + swscale graph,
 * core/frames/ffmpegFilter.ts), so its frames are the CLI's. Only the sampled frames leave the decoder.
 *
 * The core (~110 KB of JS + 32 MB of WASM) is loaded lazily, on the first file that needs it, from URLs the caller
 * gives (the worker passes the copies the build puts beside it, src/worker/ffmpegCoreFiles.ts). The input Blob is
 * mounted read-only (WORKERFS), not copied into the WASM heap.
 */
import { PPTSNError } from '../core/errors.js';
import { FfmpegCoreHost } from '../core/ffmpegHost/host.js';
import { decodeWithCore, probeWithCore, type FfmpegCoreRunner } from '../core/frames/ffmpegCore.js';
import { planFrames, type FrameSelection, type FramePlan } from '../core/frames/framePlan.js';
import type { RgbaFrame } from './decoder.js';
import { throwIfAborted } from './util.js';
import { absoluteCoreUrls, blobInput, coreModuleFromUrls, type BlobInput } from './ffmpegCoreBrowser.js';
import { hostSession, openCoreThread, type FfmpegCoreUrls } from './ffmpegCoreThread.js';

export type { FfmpegCoreUrls } from './ffmpegCoreThread.js';

/** Hosts run by this thread, one per core URL (where the core's worker cannot start). */
const hosts = new Map<string, FfmpegCoreHost<BlobInput>>();
/** One ffmpeg at a time: a decode is a probe and a run on one session. */
let queue: Promise<unknown> = Promise.resolve();

export interface FfmpegWasmResult {
  plan: FramePlan;
  frames: RgbaFrame[];
  fps: number;
  container: string;
  codec: string;
  /** The stream read (decord's choice, core/frames/streamChoice.ts). */
  streamIndex: number;
  timestamps: number[];
}

/**
 * Probes `blob`, plans (L, indices, rotation, colour) and decodes the selected frames to RGBA in display
 * orientation. `onProgress(0..1)` follows ffmpeg's decode. Errors: 'unsupported-source' (ffmpeg.wasm cannot load or
 * read the file; the message names the ffmpeg line to convert it), 'video-too-short', 'decode-failed', 'aborted'.
 */
export function decodeWithFfmpegWasm(
  blob: Blob,
  name: string,
  selection: FrameSelection,
  options: { urls: FfmpegCoreUrls; signal?: AbortSignal; onProgress?: (fraction: number) => void },
): Promise<FfmpegWasmResult> {
  const run = queue.then(() => decode(blob, name, selection, options));
  queue = run.catch(() => {});
  return run;
}

async function decode(blob: Blob, name: string, selection: FrameSelection, options: { urls: FfmpegCoreUrls; signal?: AbortSignal; onProgress?: (fraction: number) => void }): Promise<FfmpegWasmResult> {
  throwIfAborted(options.signal);
  // The core in its own worker where one can start (an abort then stops a decode at once), else in this thread.
  const { runner, input, close } = (await openCoreThread(options.urls, blob, name, options.signal)) ?? hostSession(inThisThread(options.urls), options.urls, blob, name, options.signal);
  try {
    return await decodeOn(runner, input, name, selection, options, async () => new Uint8Array(await blob.slice(0, 12).arrayBuffer()));
  } finally {
    await close();
  }
}

/** The host this thread runs for `urls` (its module loaded and compiled on the first run). */
function inThisThread(urls: FfmpegCoreUrls): FfmpegCoreHost<BlobInput> {
  const abs = absoluteCoreUrls(urls);
  let host = hosts.get(abs.js);
  if (!host) {
    host = new FfmpegCoreHost(coreModuleFromUrls(abs), blobInput);
    hosts.set(abs.js, host);
  }
  return host;
}

async function decodeOn(runner: FfmpegCoreRunner, input: string, name: string, selection: FrameSelection, options: { signal?: AbortSignal; onProgress?: (fraction: number) => void }, head: () => Promise<Uint8Array>): Promise<FfmpegWasmResult> {
  const convert = 'Convert it to MP4 (H.264), e.g. `ffmpeg -i input -c:v libx264 -pix_fmt yuv420p -an output.mp4`.';
  const info = await probeWithCore(runner, input, name, (why) => new PPTSNError('unsupported-source', `Neither this browser nor ffmpeg.wasm can read ${name} (${why.replaceAll(`${input}: `, '')}): it is not a video they know, or it is damaged. ${convert}`), head);
  const plan = planFrames({
    presentedFrames: info.frameCount,
    codedWidth: info.codedWidth,
    codedHeight: info.codedHeight,
    rotation: info.rotation,
    matrix: info.colorSpace ?? null,
    fullRange: info.colorRange === 'pc',
    pixelFormat: info.pixelFormat,
  }, selection);
  const fps = info.fps > 0 ? info.fps : 25;
  const wanted = [...new Set(plan.indices)].sort((a, b) => a - b);
  const last = wanted[wanted.length - 1]!;
  let reported = 0;
  // time: microseconds of output decoded so far; the decode ends after the last wanted frame's time. Reports at
  // most every 5 % (ffmpeg calls this for every frame).
  const onTime = (time: number) => {
    const f = Math.min(1, time / 1e6 / ((last + 1) / fps));
    if (options.onProgress && time > 0 && f >= reported + 0.05) { reported = f; options.onProgress(f); }
  };
  throwIfAborted(options.signal);
  const { frames } = await decodeWithCore(runner, input, name, info, wanted, { onTime });
  const byIndex = new Map<number, RgbaFrame>(wanted.map((idx, k) => [idx, frames[k] as RgbaFrame]));
  options.onProgress?.(1);
  return {
    plan,
    frames: plan.indices.map((i, k) => (plan.indices.indexOf(i) === k ? byIndex.get(i)! : { ...byIndex.get(i)!, data: byIndex.get(i)!.data.slice() })),
    fps,
    container: info.containerLongName,
    codec: info.codecLongName,
    streamIndex: info.streamIndex,
    timestamps: plan.indices.map((i) => i / fps),
  };
}
