/**
 * The system ffmpeg/ffprobe as a tool (spawned per file): where the executables are, their version, probing a video
 * and decoding frames, reproducing what PaddleVideo's decord (≥ 0.3.8) backend and ffmpeg's default decode give
 * (docs/contract.md §4, decided in core/frames/framePlan.ts): frame count L = frames presented after the edit
 * list (packets ffmpeg does not flag as discarded), frames addressed by presentation index, in display orientation
 * (ffmpeg's default autorotation), RGB24 converted by swscale with the stream's matrix and range (BT.601 limited
 * for untagged streams, full range for `pc`/`yuvj*`). Only the sampled frames leave ffmpeg (`select` filter), so
 * memory stays at T frames whatever the video length.
 * Which decoder reads a file (this one or ffmpeg.wasm) is decided in src/node/frames.ts, not here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { fileHead } from './inputPath.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PPTSNError } from '../core/errors.js';
import { trackChild, trackTemporary } from './cleanup.js';
import type { FramePixels } from '../core/frames/pixels.js';
import { FFPROBE_ENTRIES, FFPROBE_SELECT, ffmpegFrameFilter } from '../core/frames/ffmpegFilter.js';
import { incompleteFileError, videoInfoFromFfprobe, type VideoInfo } from '../core/frames/ffprobeInfo.js';

export interface FfmpegOptions {
  /** ffmpeg executable (default: $PPTSN_FFMPEG, else `ffmpeg` on PATH). */
  ffmpegPath?: string;
  /** ffprobe executable (default: $PPTSN_FFPROBE, else `ffprobe` beside an explicit ffmpegPath, else on PATH). */
  ffprobePath?: string;
  signal?: AbortSignal;
}

export type { VideoInfo } from '../core/frames/ffprobeInfo.js';

const INSTALL_ADVICE =
  'pptsn-web reads videos with the system ffmpeg. Install it (Debian/Ubuntu: `sudo apt-get install ffmpeg`, ' +
  'macOS: `brew install ffmpeg`, Windows: `winget install ffmpeg`) or point PPTSN_FFMPEG / PPTSN_FFPROBE at the executables.';

export function tools(options: FfmpegOptions): { ffmpeg: string; ffprobe: string } {
  const ffmpeg = options.ffmpegPath || process.env['PPTSN_FFMPEG'] || 'ffmpeg';
  let ffprobe = options.ffprobePath || process.env['PPTSN_FFPROBE'];
  if (!ffprobe) {
    // An explicit ffmpeg path usually has its ffprobe beside it.
    const m = /^(.*[\\/])?ffmpeg(\.exe)?$/i.exec(ffmpeg);
    ffprobe = m && m[1] ? `${m[1]}ffprobe${m[2] ?? ''}` : 'ffprobe';
  }
  return { ffmpeg, ffprobe };
}

interface RunResult {
  code: number | null;
  stderr: string;
}

/** Spawns a tool; maps "not found" to ffmpeg-missing, honours the AbortSignal; stdout goes to `onStdout`. */
function runTool(cmd: string, args: string[], onStdout: (chunk: Buffer) => void, signal?: AbortSignal): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    if (signal?.aborted) {
      reject(new PPTSNError('aborted', 'Video decoding was aborted.'));
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    } catch (e) {
      reject(new PPTSNError('ffmpeg-missing', `Cannot run ${cmd}: ${(e as Error).message}. ${INSTALL_ADVICE}`, { cause: e }));
      return;
    }
    // Killed on Ctrl-C / SIGTERM (src/node/cleanup.ts): the CLI exits from its signal handler.
    const untrack = trackChild(child);
    child.once('exit', untrack);
    child.once('error', untrack);
    const errChunks: Buffer[] = [];
    let errBytes = 0;
    let settled = false;
    const onAbort = () => {
      child.kill('SIGKILL');
      if (!settled) {
        settled = true;
        reject(new PPTSNError('aborted', 'Video decoding was aborted.'));
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (c: Buffer) => {
      try {
        onStdout(c);
      } catch (e) {
        child.kill('SIGKILL');
        if (!settled) {
          settled = true;
          reject(e);
        }
      }
    });
    child.stderr!.on('data', (c: Buffer) => {
      // Keep the tail only: a broken file can make ffmpeg print a line per packet.
      errChunks.push(c);
      errBytes += c.length;
      while (errBytes > 64 * 1024 && errChunks.length > 1) errBytes -= errChunks.shift()!.length;
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      if (e.code === 'ENOENT' || e.code === 'EACCES') {
        reject(new PPTSNError('ffmpeg-missing', `${cmd} was not found (${e.code}). ${INSTALL_ADVICE}`, { cause: e }));
      } else reject(new PPTSNError('internal', `Running ${cmd} failed: ${e.message}`, { cause: e }));
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      resolvePromise({ code, stderr: Buffer.concat(errChunks).toString('utf8').trim() });
    });
  });
}

async function runCollect(cmd: string, args: string[], signal?: AbortSignal): Promise<RunResult & { stdout: string }> {
  const chunks: Buffer[] = [];
  const r = await runTool(cmd, args, (c) => chunks.push(c), signal);
  return { ...r, stdout: Buffer.concat(chunks).toString('utf8') };
}

const versionCache = new Map<string, Promise<[number, number]>>();

/** ffmpeg's major.minor (for `-fps_mode`, which appeared in 5.1); [99, 0] for builds like `N-12345-g…`. */
export function ffmpegVersion(ffmpeg: string, signal?: AbortSignal): Promise<[number, number]> {
  let p = versionCache.get(ffmpeg);
  if (!p) {
    p = runCollect(ffmpeg, ['-hide_banner', '-version'], signal).then((r) => {
      const m = /ffmpeg version n?(\d+)\.(\d+)/.exec(r.stdout);
      return m ? [Number(m[1]), Number(m[2])] as [number, number] : [99, 0] as [number, number];
    });
    p.catch(() => versionCache.delete(ffmpeg));
    versionCache.set(ffmpeg, p);
  }
  return p;
}

/** Checks that ffmpeg runs; throws PPTSNError('ffmpeg-missing') with install advice if not. */
export async function checkFfmpeg(options: FfmpegOptions = {}): Promise<{ version: string }> {
  const { ffmpeg } = tools(options);
  const r = await runCollect(ffmpeg, ['-hide_banner', '-version'], options.signal);
  if (r.code !== 0) throw new PPTSNError('ffmpeg-missing', `${ffmpeg} -version failed: ${r.stderr.split('\n').pop() ?? ''}. ${INSTALL_ADVICE}`);
  return { version: r.stdout.split('\n')[0] ?? '' };
}

/**
 * The path as ffmpeg's file protocol: a bare relative name with a colon (`c:d.avi`, `pipe:x.avi`, `http:clip.mp4`)
 * would otherwise be read as a protocol (`Protocol not found`, or stdin for `pipe:`). ffmpeg strips `file:` itself.
 */
export function fileUrl(path: string): string {
  return `file:${path}`;
}

/** What to do about a file no ffmpeg can open (empty, cut short, not a video). */
const UNREADABLE_ADVICE = 'Check that it is a complete video file (an interrupted download or copy leaves one ffmpeg cannot open): fetch or copy it again, or re-encode it.';

function lastLines(s: string, n = 3): string {
  // ffmpeg names the input as given to it (`fileUrl`): show the user's path.
  const lines = s.split('\n').map((l) => l.trim().replace(/(^|\s)file:/g, '$1')).filter(Boolean);
  return lines.slice(-n).join(' | ') || '(no message)';
}

/**
 * Probes the video stream decord reads (core/frames/streamChoice.ts). Throws 'unsupported-source' when ffprobe
 * cannot read the file (with its message), 'no-video-stream' when there is none, 'video-too-short' when it has no packets.
 */
export async function probeVideo(path: string, options: FfmpegOptions = {}): Promise<VideoInfo> {
  const { ffprobe } = tools(options);
  const r = await runCollect(
    ffprobe,
    [
      '-v', 'error', '-hide_banner',
      '-show_entries',
      // packet=flags: 'D' marks a packet the edit list hides (decoded as a reference, never output).
      FFPROBE_ENTRIES,
      ...FFPROBE_SELECT, '-of', 'json', '--', fileUrl(path),
    ],
    options.signal,
  );
  if (r.code !== 0) {
    throw incompleteFileError(r.stderr, path, await fileHead(path)) ?? new PPTSNError('unsupported-source', `ffprobe cannot read ${path}: ${lastLines(r.stderr)}. ${UNREADABLE_ADVICE}`);
  }
  return videoInfoFromFfprobe(r.stdout, path, r.stderr);
}

export interface FfmpegDecodeOptions extends FfmpegOptions {
  /** A probe result to reuse (saves one ffprobe pass). */
  info?: VideoInfo;
  /**
   * Write the frames to a temporary file instead of the pipe, so ffmpeg never waits for this thread to read:
   * `eval` prefetches while the network keeps the thread busy, and a full 64 KB pipe would stall the decode.
   */
  spool?: boolean;
}

/**
 * ffmpeg's arguments, up to the output, that write the frames of `info`'s stream through the filter graph `vf` as
 * raw RGB24: frames the edit list hides never leave the decoder and ffmpeg's default autorotation (transpose/hflip/
 * vflip, lossless, inserted before `vf`) turns them to display orientation, so a frame's number entering `vf` is its
 * presentation index over L (core/frames/ffmpegFilter.ts, shared with ffmpeg.wasm); every frame passes through
 * unchanged in number (`-fps_mode passthrough`, `-vsync` before ffmpeg 5.1). Used by `decodeFfmpegFrames` (the
 * sampled frames) and `prepare rawframes` (every frame, src/node/extractRawframes.ts).
 */
export async function rgbFramesArgs(ffmpeg: string, path: string, info: VideoInfo, vf: string, signal?: AbortSignal): Promise<string[]> {
  const [major, minor] = await ffmpegVersion(ffmpeg, signal);
  const passthrough = major > 5 || (major === 5 && minor >= 1) ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough'];
  return [
    '-hide_banner', '-nostdin', '-v', 'error',
    '-i', fileUrl(path),
    // decord's stream (core/frames/streamChoice.ts), not the first video stream.
    '-map', `0:${info.streamIndex}`, '-an', '-sn', '-dn',
    '-vf', vf,
    ...passthrough,
    '-f', 'rawvideo', '-pix_fmt', 'rgb24',
  ];
}

/**
 * Cuts ffmpeg's raw RGB24 output, as it comes in chunks, into frames of `frameBytes` bytes; `onFrame` gets each as
 * a copy of its own (safe to keep or transfer). Returns the function to feed the chunks to.
 */
export function rgbFramer(frameBytes: number, onFrame: (rgb: Uint8Array) => void): (chunk: Buffer) => void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  return (chunk) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes < frameBytes) return;
    let all = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    while (all.length >= frameBytes) {
      onFrame(new Uint8Array(all.subarray(0, frameBytes))); // copy out
      all = all.subarray(frameBytes);
    }
    pending = all.length ? [all] : [];
    pendingBytes = all.length;
  };
}

/**
 * Decodes exactly the frames at `indices` (0-based presentation indices over the frames the edit list shows,
 * duplicates and any order allowed) to RGB24 `FramePixels` in display orientation, returned in the order of
 * `indices`. ffmpeg decodes the stream once and its `select` filter
 * lets only the wanted frames through, so at most the unique wanted frames are held. An index past the last
 * decodable frame gets the last decoded frame when ffmpeg reported no error (MP4 edit lists can hide a few
 * packets from the output); with errors it is 'decode-failed'. Errors: 'ffmpeg-missing', 'unsupported-source' (no decoder for the codec), 'decode-failed' (nothing decodable),
 * 'invalid-argument' (negative or non-integer index), 'aborted'.
 */
export async function decodeFfmpegFrames(path: string, indices: readonly number[], options: FfmpegDecodeOptions = {}): Promise<FramePixels[]> {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0) throw new PPTSNError('invalid-argument', `Frame indices must be non-negative integers, got ${i}.`);
  }
  if (indices.length === 0) return [];
  const info = options.info ?? (await probeVideo(path, options));
  const { ffmpeg } = tools(options);
  const wanted = [...new Set(indices)].sort((a, b) => a - b);
  const { width, height } = info;
  const args = await rgbFramesArgs(ffmpeg, path, info, ffmpegFrameFilter(wanted, { width, height, color: { matrix: info.colorMatrix, fullRange: info.fullRange } }), options.signal);
  const spoolDir = options.spool ? await mkdtemp(join(tmpdir(), 'pptsn-frames-')) : undefined;
  // An interrupt exits without running `finally`: the signal handler removes the folder (src/node/cleanup.ts).
  const releaseSpool = spoolDir ? trackTemporary(spoolDir) : undefined;
  const spoolFile = spoolDir ? join(spoolDir, 'frames.rgb') : undefined;
  args.push(...(spoolFile ? ['-y', spoolFile] : ['pipe:1']));
  const frames: Uint8Array[] = [];
  const take = rgbFramer(width * height * 3, (rgb) => {
    if (frames.length < wanted.length) frames.push(rgb);
  });
  let r: RunResult;
  try {
    r = await runTool(ffmpeg, args, spoolFile ? () => undefined : take, options.signal);
    if (spoolFile) take(await readFile(spoolFile).catch(() => Buffer.alloc(0)));
  } finally {
    if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
    releaseSpool?.();
  }
  const where = `${path} (${info.codecLongName} in ${info.containerLongName})`;
  const missing = frames.length < wanted.length;
  // Damaged files: ffmpeg skips what it cannot decode, like decord. That is fine while every wanted frame came
  // out; when some are missing and ffmpeg complained (or failed), the file is broken where we need it.
  if (frames.length === 0 || (missing && (r.code !== 0 || r.stderr.length > 0))) {
    if (/Decoder \(codec .*\) not found|Unsupported codec|No decoder|decoder.*not found/i.test(r.stderr)) {
      throw new PPTSNError('unsupported-source', `This ffmpeg cannot decode ${where}: ${lastLines(r.stderr)}`);
    }
    const got = frames.length === 0 ? 'no frame' : `only ${frames.length} of the ${wanted.length} wanted frames (none from index ${wanted[frames.length]} on)`;
    throw new PPTSNError('decode-failed', `Decoding ${where} gave ${got}; the file looks damaged. ffmpeg: ${lastLines(r.stderr)}`);
  }
  const byIndex = new Map<number, Uint8Array>();
  wanted.forEach((idx, k) => byIndex.set(idx, frames[Math.min(k, frames.length - 1)]!));
  return indices.map((i) => ({ width, height, channels: 3 as const, data: byIndex.get(i)! }));
}
