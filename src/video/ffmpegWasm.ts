/**
 * The fallback for files mediabunny + WebCodecs cannot read (AVI with MPEG-4 Part 2/XviD as in UCF101, MJPEG,
 * MKV/MOV with codecs the browser lacks): ffmpeg.wasm (`@ffmpeg/core`, the single-threaded build, ffmpeg 6) driven
 * directly through its Emscripten module inside our worker. It runs what the CLI runs (ffprobe for the presented
 * frame count, rotation and colour tags → core/preprocess/framePlan.ts; then the same `select` + swscale graph,
 * core/preprocess/ffmpegFilter.ts), so its frames are the CLI's. Only the sampled frames leave the decoder.
 *
 * The core (~110 KB of JS + 32 MB of WASM) is loaded lazily, on the first file that needs it, from URLs the caller
 * gives (the worker passes the copies the build puts beside it, src/worker/ffmpegCoreFiles.ts). The input Blob is
 * mounted read-only (WORKERFS), not copied into the WASM heap.
 */
import { PPTSNError } from '../core/errors.js';
import { decodeWithCore, EXECS_PER_CORE, probeWithCore, type FfmpegCoreRunner } from '../core/preprocess/ffmpegCore.js';
import { planFrames, type FrameSelection, type FramePlan } from '../core/preprocess/framePlan.js';
import type { RgbaFrame } from './decoder.js';
import { throwIfAborted } from './util.js';
import { openCoreThread, type CoreThreadSession, type FfmpegCoreUrls } from './ffmpegCoreThread.js';

export type { FfmpegCoreUrls } from './ffmpegCoreThread.js';

/** The parts of @ffmpeg/core's Emscripten module used here. */
interface FfmpegCore {
  exec(...args: string[]): number;
  ffprobe(...args: string[]): number;
  reset(): void;
  setLogger(logger: (m: { type: string; message: string }) => void): void;
  setProgress(progress: (p: { progress: number; time: number }) => void): void;
  FS: {
    mkdir(path: string): void;
    mount(type: unknown, options: { blobs: { name: string; data: Blob }[] }, path: string): void;
    unmount(path: string): void;
    readFile(path: string, options?: { encoding: 'utf8' }): Uint8Array & string;
    unlink(path: string): void;
    writeFile(path: string, data: Uint8Array): void;
    filesystems: { WORKERFS: unknown };
  };
}

const cores = new Map<string, Promise<FfmpegCore>>();
/** ffprobe and ffmpeg runs per cached core: a fresh one every EXECS_PER_CORE (core/preprocess/ffmpegCore.ts). */
const execsByCore = new Map<string, number>();
/** One ffmpeg at a time: the core keeps global state (Module.ret, the logger). */
let queue: Promise<unknown> = Promise.resolve();

async function loadCore(urls: FfmpegCoreUrls): Promise<FfmpegCore> {
  let p = cores.get(urls.js);
  if (!p) {
    p = (async () => {
      // A runtime URL import, invisible to bundlers: the 32 MB core is fetched only when a file needs it.
      const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ urls.js)) as { default: (o: object) => Promise<FfmpegCore> };
      // The core replaces Module.locateFile with its own, which reads the WASM URL from the fragment of
      // mainScriptUrlOrBlob (base64 JSON): the only way to point it at a bundler's hashed file name.
      const wasmURL = new URL(urls.wasm, location.href).href;
      const hint = btoa(JSON.stringify({ wasmURL, workerURL: '' }));
      return mod.default({ mainScriptUrlOrBlob: `${new URL(urls.js, location.href).href}#${hint}` });
    })();
    p.catch(() => cores.delete(urls.js));
    cores.set(urls.js, p);
  }
  try {
    return await p;
  } catch (e) {
    throw new PPTSNError('unsupported-source', `The ffmpeg.wasm fallback could not be loaded from ${urls.js}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

export interface FfmpegWasmResult {
  plan: FramePlan;
  frames: RgbaFrame[];
  fps: number;
  container: string;
  codec: string;
  /** The stream read (decord's choice, core/preprocess/streamChoice.ts). */
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
  const threaded = await openCoreThread(options.urls, blob, name, options.signal);
  const { runner, input, close } = threaded ?? (await inThisThread(blob, name, options.urls));
  try {
    return await decodeOn(runner, input, name, selection, options, async () => new Uint8Array(await blob.slice(0, 12).arrayBuffer()));
  } finally {
    await close();
  }
}

/** The core run by the calling thread (synchronous calls: an abort waits for the current step). */
async function inThisThread(blob: Blob, name: string, urls: FfmpegCoreUrls): Promise<CoreThreadSession> {
  if ((execsByCore.get(urls.js) ?? 0) >= EXECS_PER_CORE) {
    cores.delete(urls.js);
    execsByCore.delete(urls.js);
  }
  const core = await loadCore(urls);
  const log: string[] = [];
  core.setLogger((m) => { if (log.length < 200) log.push(m.message); });
  core.setProgress(() => {});
  const dir = `/in${Math.random().toString(36).slice(2)}`;
  const input = `${dir}/video`;
  core.FS.mkdir(dir);
  // WORKERFS reads the Blob lazily (FileReaderSync, workers only); on the main thread the bytes are copied in.
  const mounted = typeof FileReaderSync !== 'undefined';
  if (mounted) core.FS.mount(core.FS.filesystems.WORKERFS, { blobs: [{ name: 'video', data: blob }] }, dir);
  else core.FS.writeFile(input, new Uint8Array(await blob.arrayBuffer()));
  // The core's calls are synchronous; the runner gives them the shared driver's shape (core/preprocess/ffmpegCore.ts).
  const runner: FfmpegCoreRunner = {
    async ffprobe(args) {
      log.length = 0;
      core.reset();
      const probeOut = '/probe.json';
      execsByCore.set(urls.js, (execsByCore.get(urls.js) ?? 0) + 1);
      guarded(urls, () => core.ffprobe(...args, '-o', probeOut), name);
      let stdout = '';
      try { stdout = core.FS.readFile(probeOut, { encoding: 'utf8' }); core.FS.unlink(probeOut); } catch { /* nothing written */ }
      return { stdout, log: [...log] };
    },
    async ffmpeg(args, onTime) {
      log.length = 0;
      core.reset();
      core.setProgress(({ time }) => onTime?.(time));
      execsByCore.set(urls.js, (execsByCore.get(urls.js) ?? 0) + 1);
      const code = guarded(urls, () => core.exec(...args), name);
      const out = args[args.length - 1]!;
      let output: Uint8Array | null = null;
      try { output = core.FS.readFile(out); core.FS.unlink(out); } catch { output = null; }
      return { code, output, log: [...log] };
    },
  };
  return {
    runner,
    input,
    async close() {
      try { if (mounted) core.FS.unmount(dir); else core.FS.unlink(input); } catch { /* already gone */ }
      core.setProgress(() => {});
      core.setLogger(() => {});
    },
  };
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

/**
 * Runs one ffmpeg/ffprobe call. An Emscripten abort (out of memory, a crash in a decoder) leaves the instance
 * unusable: it is dropped from the cache so the next file loads a fresh one, and the call fails as 'decode-failed'.
 */
function guarded<T>(urls: FfmpegCoreUrls, run: () => T, name: string): T {
  try {
    return run();
  } catch (e) {
    cores.delete(urls.js);
    throw new PPTSNError('decode-failed', `ffmpeg.wasm stopped while reading ${name} (${e instanceof Error ? e.message : String(e)}); the file may be damaged or too large for the browser's memory.`, { cause: e });
  }
}
