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
import { FFPROBE_ENTRIES, ffmpegFrameFilter } from '../core/preprocess/ffmpegFilter.js';
import { clockwiseFromDisplayMatrix, planFrames, type FrameSelection, type FramePlan } from '../core/preprocess/framePlan.js';
import type { RgbaFrame } from './decoder.js';
import { yuvToRgba } from './color.js';
import { throwIfAborted } from './util.js';

/** Where `ffmpeg-core.js` and `ffmpeg-core.wasm` are served. */
export interface FfmpegCoreUrls {
  js: string;
  wasm: string;
}

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
  const core = await loadCore(options.urls);
  throwIfAborted(options.signal);
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
  const convert = 'Convert it to MP4 (H.264), e.g. `ffmpeg -i input -c:v libx264 -pix_fmt yuv420p -an output.mp4`.';
  try {
    core.reset();
    const probeOut = '/probe.json';
    guarded(options.urls, () => core.ffprobe('-v', 'error', '-select_streams', 'v:0', '-show_entries', FFPROBE_ENTRIES, '-of', 'json', input, '-o', probeOut), name);
    // The core's ffprobe returns −1 even on success: its JSON output is what tells.
    let j: { streams?: Record<string, unknown>[]; packets?: { flags?: string }[]; format?: Record<string, unknown> } | null = null;
    try { j = JSON.parse(core.FS.readFile(probeOut, { encoding: 'utf8' })); core.FS.unlink(probeOut); } catch { /* reported below */ }
    const s = j?.streams?.[0];
    if (!j || !s) {
      // ffprobe writes `format` only for a file it could open: then there is simply no video in it.
      if (j?.format) throw new PPTSNError('video-too-short', `${name} (${String(j.format['format_long_name'] ?? 'read by ffmpeg')}) has no video stream.`);
      throw new PPTSNError('unsupported-source', `Neither this browser nor ffmpeg.wasm can read ${name} (${log.slice(-2).join(' | ') || 'unknown format'}). ${convert}`);
    }
    const str = (k: string) => (typeof s[k] === 'string' && s[k] !== 'unknown' ? (s[k] as string) : undefined);
    const packets = j.packets ?? [];
    const presented = packets.filter((p) => !(p.flags ?? '').includes('D')).length;
    const side = (s['side_data_list'] as Record<string, unknown>[] | undefined) ?? [];
    const plan = planFrames({
      presentedFrames: presented,
      codedWidth: Number(s['width'] ?? 0),
      codedHeight: Number(s['height'] ?? 0),
      rotation: clockwiseFromDisplayMatrix(Number(side.find((d) => d['rotation'] !== undefined)?.['rotation'] ?? 0)),
      matrix: str('color_space') ?? null,
      fullRange: str('color_range') === 'pc',
      pixelFormat: str('pix_fmt') ?? null,
    }, selection);
    const fps = rate(str('avg_frame_rate')) || rate(str('r_frame_rate')) || 25;
    const wanted = [...new Set(plan.indices)].sort((a, b) => a - b);
    const last = wanted[wanted.length - 1]!;
    let reported = 0;
    core.setProgress(({ time }) => {
      // time: microseconds of output decoded so far; the decode ends after the last wanted frame's time. Reports
      // at most every 5 % (ffmpeg calls this for every frame).
      const f = Math.min(1, time / 1e6 / ((last + 1) / fps));
      if (options.onProgress && time > 0 && f >= reported + 0.05) { reported = f; options.onProgress(f); }
    });
    throwIfAborted(options.signal);
    core.reset();
    const out = '/frames.raw';
    // 8-bit 4:2:0 comes out as YUV and is converted by color.ts, which reproduces the x86 SIMD converter the CLI's
    // ffmpeg uses (the WASM build has only swscale's C path, ~0.6 levels off); anything else as swscale's RGB24.
    const pixFmt = str('pix_fmt');
    const yuv = pixFmt === 'yuv420p' || pixFmt === 'yuvj420p';
    const filter = yuv ? ffmpegFrameFilter(wanted, plan).replace(/,scale=.*$/, '') : ffmpegFrameFilter(wanted, plan);
    const code = guarded(options.urls, () => core.exec(
      '-v', 'error', '-i', input, '-map', '0:v:0', '-an', '-sn', '-dn',
      '-vf', filter, '-fps_mode', 'passthrough',
      // Stop reading once the last wanted frame is out.
      '-frames:v', String(wanted.length),
      '-f', 'rawvideo', '-pix_fmt', yuv ? pixFmt : 'rgb24', out,
    ), name);
    let raw: Uint8Array | null = null;
    try { raw = core.FS.readFile(out); core.FS.unlink(out); } catch { raw = null; }
    const cw = (plan.width + 1) >> 1, ch = (plan.height + 1) >> 1;
    const frameBytes = yuv ? plan.width * plan.height + 2 * cw * ch : plan.width * plan.height * 3;
    const got = raw ? Math.floor(raw.length / frameBytes) : 0;
    if (got === 0 || (got < wanted.length && code !== 0)) {
      throw new PPTSNError('decode-failed', `ffmpeg.wasm decoded ${got === 0 ? 'no frame' : `only ${got} of ${wanted.length} frames`} of ${name}; the file looks damaged (${log.slice(-2).join(' | ') || `exit ${code}`}).`);
    }
    const byIndex = new Map<number, RgbaFrame>();
    wanted.forEach((idx, k) => {
      const at = Math.min(k, got - 1);
      if (!yuv) { byIndex.set(idx, toRgba(raw!, at, plan.width, plan.height)); return; }
      const frame = raw!.subarray(at * frameBytes, (at + 1) * frameBytes);
      const ySize = plan.width * plan.height;
      const layout = [{ offset: 0, stride: plan.width }, { offset: ySize, stride: cw }, { offset: ySize + cw * ch, stride: cw }];
      byIndex.set(idx, { width: plan.width, height: plan.height, channels: 4, data: yuvToRgba(frame, layout, 'I420', plan.width, plan.height, plan.color) });
    });
    options.onProgress?.(1);
    return {
      plan,
      frames: plan.indices.map((i, k) => (plan.indices.indexOf(i) === k ? byIndex.get(i)! : { ...byIndex.get(i)!, data: byIndex.get(i)!.data.slice() })),
      fps,
      container: String(j.format?.['format_long_name'] ?? j.format?.['format_name'] ?? 'unknown'),
      codec: str('codec_long_name') ?? str('codec_name') ?? 'unknown',
      timestamps: plan.indices.map((i) => i / fps),
    };
  } finally {
    try { if (mounted) core.FS.unmount(dir); else core.FS.unlink(input); } catch { /* already gone */ }
    core.setProgress(() => {});
    core.setLogger(() => {});
  }
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

function rate(s: string | undefined): number {
  if (!s) return 0;
  const [a, b] = s.split('/').map(Number);
  const r = b === undefined ? Number(a) : a! / b;
  return Number.isFinite(r) && r > 0 ? r : 0;
}

function toRgba(raw: Uint8Array, k: number, width: number, height: number): RgbaFrame {
  const n = width * height;
  const src = raw.subarray(k * n * 3, (k + 1) * n * 3);
  const data = new Uint8ClampedArray(n * 4);
  for (let p = 0, s = 0, d = 0; p < n; p++, s += 3, d += 4) {
    data[d] = src[s]!;
    data[d + 1] = src[s + 1]!;
    data[d + 2] = src[s + 2]!;
    data[d + 3] = 255;
  }
  return { width, height, channels: 4, data };
}
