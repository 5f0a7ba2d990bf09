/**
 * ffmpeg.wasm (`@ffmpeg/core`, a dependency the browser fallback already ships) as the CLI's in-process decoder.
 * Why: each system ffmpeg/ffprobe run costs ~50 ms of CPU just to start (it links ~200 shared libraries), twice per
 * clip, which is as much as the network's time for a fast-preset clip on two cores; `eval` over a dataset paid it
 * on every item. In-process, a 320×240 UCF101-style clip probes and decodes in ~25 ms of CPU, in a worker thread
 * beside the network's. The frames are the system ffmpeg's: the same ffprobe facts, the same `select` graph, and
 * 8-bit 4:2:0 converted by core/preprocess/yuv.ts, bit-exact with `ffmpeg -pix_fmt rgb24` on x86
 * (core/preprocess/ffmpegCore.ts says what differs for other formats; src/node/ffmpeg.ts decides who decodes).
 * Only for codecs whose C decoder matches x86's (`wasmDecodesExactly`): UCF101's MPEG-4 Part 2 (XviD) is not one,
 * so `auto` leaves it to the system ffmpeg.
 *
 * The core runs in one worker thread per process, created on first use from a small CommonJS source (`eval: true`,
 * like src/node/onnx/session.ts, so it needs no file of its own in `dist/`). The file is copied into the core's
 * memory (up to `WASM_MAX_BYTES`), once for the probe and the decode that follows.
 */
import { stat } from 'node:fs/promises';
import { fileHead } from './inputPath.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames.js';
import { decodeWithCore, EXECS_PER_CORE, probeWithCore, type FfmpegCoreRunner } from '../core/preprocess/ffmpegCore.js';
import type { VideoInfo } from '../core/preprocess/ffprobeInfo.js';

/** Files larger than this are left to the system ffmpeg: the core holds the whole file in its 32-bit heap. */
export const WASM_MAX_BYTES = 512 * 1024 * 1024;

/** The path the worker gives the current file inside the core's file system. */
const INPUT = '/input';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
// The core is Emscripten's web/worker build: it reads self.location.href while it starts (this thread only).
globalThis.self = globalThis;
globalThis.location = { href: workerData.jsUrl };
let coreP = null;
let loaded = null;
let log = [];
// A fresh core instance every EXECS_PER_CORE runs (ffprobe or ffmpeg; core/preprocess/ffmpegCore.ts says why), from
// the module compiled once.
let execs = 0;
let compiled = null;
function load() {
  if (execs >= ${EXECS_PER_CORE}) {
    coreP = null;
    loaded = null;
    execs = 0;
  }
  coreP ??= import(workerData.jsUrl).then((m) => m.default({
    instantiateWasm(imports, receive) {
      compiled ??= WebAssembly.compile(fs.readFileSync(workerData.wasmPath));
      compiled.then((mod) => WebAssembly.instantiate(mod, imports).then((instance) => receive(instance, mod)));
      return {};
    },
    mainScriptUrlOrBlob: workerData.jsUrl + '#' + Buffer.from(JSON.stringify({ wasmURL: workerData.wasmUrl, workerURL: '' })).toString('base64'),
  })).then((core) => {
    core.setLogger((e) => { if (log.length < 200) log.push(e.message); });
    return core;
  });
  coreP.catch(() => { coreP = null; });
  return coreP;
}
parentPort.on('message', async (m) => {
  let core;
  try {
    core = await load();
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, load: true, message: String((e && e.message) || e) });
    return;
  }
  let bytes = null;
  let key;
  try {
    // One copy of the file for the probe and the decode that follows it.
    const st = fs.statSync(m.path);
    // readFileSync on a named pipe would block this thread (and the CLI) until someone writes to it.
    if (!st.isFile()) throw new Error('not a regular file');
    key = m.path + ':' + st.size + ':' + st.mtimeMs;
    if (loaded !== key) bytes = fs.readFileSync(m.path);
  } catch (e) {
    // The file is gone, unreadable or too large to read whole: the core is fine, keep it.
    parentPort.postMessage({ id: m.id, ok: false, file: true, message: String((e && e.message) || e) });
    return;
  }
  try {
    if (bytes) {
      loaded = null;
      try { core.FS.unlink('${INPUT}'); } catch {}
      core.FS.writeFile('${INPUT}', bytes);
      bytes = null;
      loaded = key;
    }
    log = [];
    core.reset();
    const out = m.args[m.args.length - 1];
    let code;
    execs++;
    if (m.type === 'ffprobe') {
      code = core.ffprobe(...m.args);
    } else {
      if (m.progress) core.setProgress((p) => parentPort.postMessage({ id: m.id, time: p.time }));
      code = core.exec(...m.args);
      core.setProgress(() => {});
    }
    let output = null;
    try { output = core.FS.readFile(out); core.FS.unlink(out); } catch {}
    parentPort.postMessage({ id: m.id, ok: true, code, output, log }, output ? [output.buffer] : []);
  } catch (e) {
    // An Emscripten abort (a crash in a decoder, out of memory) leaves the core unusable: load a fresh one next time.
    coreP = null;
    loaded = null;
    parentPort.postMessage({ id: m.id, ok: false, message: String((e && e.message) || e) });
  }
});
`;

type Reply =
  | { id: number; time: number }
  | { id: number; ok: true; code: number; output: Uint8Array | null; log: string[] }
  | { id: number; ok: false; load?: boolean; file?: boolean; message: string };

interface Call {
  resolve: (r: Extract<Reply, { ok: true }>) => void;
  reject: (e: Error) => void;
  onTime?: ((microseconds: number) => void) | undefined;
  /** A sign of life from the core (a progress report): the stall watchdog starts over. */
  alive: () => void;
  worker: Worker;
}

/**
 * Seconds without an answer or a progress report after which a call counts as hung and its thread is ended
 * (`PPTSN_WASM_STALL_S`, default 120). The core reports progress about every half second while ffmpeg decodes; a
 * silent core is stuck (it hung after ~100 runs before EXECS_PER_CORE), and `eval` must not wait on it forever.
 */
function stallMs(): number {
  const s = Number(process.env['PPTSN_WASM_STALL_S']);
  return (Number.isFinite(s) && s > 0 ? s : 120) * 1000;
}

/** The core's files in the installed @ffmpeg/core, or null when the package is missing. */
function coreFiles(): { jsUrl: string; wasmPath: string; wasmUrl: string } | null {
  try {
    const js = createRequire(import.meta.url).resolve('@ffmpeg/core'); // dist/umd/ffmpeg-core.js (require)
    const esm = join(dirname(js), '..', 'esm');
    const wasmPath = join(esm, 'ffmpeg-core.wasm');
    return { jsUrl: pathToFileURL(join(esm, 'ffmpeg-core.js')).href, wasmPath, wasmUrl: pathToFileURL(wasmPath).href };
  } catch {
    return null;
  }
}

/** One worker thread per process, created on first use; dropped (and recreated) after an abort or a crash. */
class CoreThread {
  private worker: Worker | null = null;
  private readonly calls = new Map<number, Call>();
  private nextId = 0;

  constructor(private readonly files: NonNullable<ReturnType<typeof coreFiles>>) {}

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.files, execArgv: [] }); // plain Node: no loader, no --input-type
    // An idle worker must not keep the CLI alive; one with a call in flight must.
    worker.unref();
    // A thread that dies (crash, or terminated by an abort) fails only its own calls.
    const failAll = (e: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const [id, c] of this.calls) {
        if (c.worker !== worker) continue;
        this.calls.delete(id);
        c.reject(e);
      }
    };
    worker.on('message', (r: Reply) => {
      const c = this.calls.get(r.id);
      if (!c) return;
      if ('time' in r) { c.alive(); c.onTime?.(r.time); return; }
      this.calls.delete(r.id);
      if (![...this.calls.values()].some((o) => o.worker === worker)) worker.unref();
      if (r.ok) c.resolve(r);
      else c.reject(Object.assign(new Error(r.message), { load: r.load === true, file: r.file === true }));
    });
    worker.on('error', (e) => failAll(e instanceof Error ? e : new Error(String(e))));
    worker.on('exit', (code) => failAll(new Error(`the ffmpeg.wasm worker thread exited (code ${code})`)));
    return worker;
  }

  call(type: 'ffprobe' | 'ffmpeg', path: string, args: string[], signal?: AbortSignal, onTime?: (microseconds: number) => void): Promise<Extract<Reply, { ok: true }>> {
    if (signal?.aborted) return Promise.reject(new PPTSNError('aborted', 'Video decoding was aborted.'));
    const worker = (this.worker ??= this.spawn());
    const id = this.nextId++;
    worker.ref();
    return new Promise((resolve, reject) => {
      // The core's calls are synchronous inside the thread: aborting, or a core that stopped answering, ends the
      // thread (the next call starts another).
      const end = (e: Error) => {
        this.calls.delete(id);
        if (this.worker === worker) this.worker = null;
        void worker.terminate();
        finish(reject)(e);
      };
      const onAbort = () => end(new PPTSNError('aborted', 'Video decoding was aborted.'));
      const limit = stallMs();
      let watchdog: NodeJS.Timeout | undefined;
      const alive = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => end(Object.assign(new Error(`no answer and no progress for ${limit / 1000} s`), { stalled: true })), limit);
        watchdog.unref();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const finish = <T>(f: (v: T) => void) => (v: T) => {
        clearTimeout(watchdog);
        signal?.removeEventListener('abort', onAbort);
        f(v);
      };
      alive();
      this.calls.set(id, { resolve: finish(resolve), reject: finish(reject), onTime, alive, worker });
      // Progress reports always: they are the watchdog's signs of life.
      worker.postMessage({ id, type, path, args, progress: true });
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

let thread: CoreThread | null | undefined;

function coreThread(): CoreThread | null {
  if (thread === undefined) {
    const files = coreFiles();
    thread = files ? new CoreThread(files) : null;
  }
  return thread;
}

/** Whether the in-process decoder can run here (`@ffmpeg/core` is installed). */
export function wasmDecoderInstalled(): boolean {
  return coreThread() !== null;
}

function runnerFor(path: string, signal?: AbortSignal): FfmpegCoreRunner {
  const t = coreThread();
  if (!t) throw new PPTSNError('ffmpeg-missing', 'ffmpeg.wasm (@ffmpeg/core) is not installed; reinstall pptsn-web or use the system ffmpeg (--decoder ffmpeg).');
  const run = async (type: 'ffprobe' | 'ffmpeg', args: string[], onTime?: (microseconds: number) => void) => {
    try {
      try {
        return await t.call(type, path, args, signal, onTime);
      } catch (e) {
        // A crash of the core (its state broken by earlier runs, not necessarily by this file): once more on the
        // fresh instance the worker makes after a crash; a file that crashes it twice is reported.
        if (e instanceof PPTSNError || (e as { load?: boolean }).load || (e as { file?: boolean }).file || (e as { stalled?: boolean }).stalled) throw e;
        return await t.call(type, path, args, signal, onTime);
      }
    } catch (e) {
      if (e instanceof PPTSNError) throw e;
      const err = e as Error & { load?: boolean; file?: boolean };
      if (err.load) throw new PPTSNError('ffmpeg-missing', `ffmpeg.wasm could not be loaded: ${err.message}`, { cause: e });
      if ((err as { stalled?: boolean }).stalled) throw new PPTSNError('decode-failed', `ffmpeg.wasm stopped responding while reading ${path} (${err.message}); its thread was ended. Decode it with the system ffmpeg (--decoder ffmpeg), or raise PPTSN_WASM_STALL_S for a very slow machine.`, { cause: e });
      if (err.file) throw new PPTSNError('unsupported-source', `ffmpeg.wasm cannot load ${path} (${err.message}); check that the file exists and is readable, or decode it with the system ffmpeg (--decoder ffmpeg).`, { cause: e });
      throw new PPTSNError('decode-failed', `ffmpeg.wasm stopped while reading ${path} (${err.message}); the file may be damaged.`, { cause: e });
    }
  };
  return {
    async ffprobe(args) {
      const r = await run('ffprobe', [...args, '-o', '/probe.json']);
      return { stdout: r.output ? Buffer.from(r.output).toString('utf8') : '', log: r.log };
    },
    async ffmpeg(args, onTime) {
      const r = await run('ffmpeg', args, onTime);
      return { code: r.code, output: r.output, log: r.log };
    },
  };
}

/**
 * Codecs whose decoders give the core (plain C) the same pixels as the system ffmpeg on x86 (SIMD): the integer-exact
 * ones by specification, and those checked frame for frame with `-cpuflags 0` against the default at q 1–31
 * (MPEG-1/2, interlaced too; MJPEG). Not Theora (x86 VP3 has a no-rounding average gated on bitexact too, though
 * the clips tried matched), nor MPEG-4 Part 2 (XviD's, libavcodec's, DivX's), the MS-MPEG-4/WMV
 * family or H.263: x86 ffmpeg averages their no-rounding half-pel blocks with an approximate SIMD routine that only
 * `-flags bitexact` turns off (hpeldsp), up to 3 levels in a few hundred pixels a clip, which the C core cannot copy.
 */
// No AV1: @ffmpeg/core 0.12 has no AV1 decoder, so trying it first would only cost a failed decode.
const EXACT_CODECS = new Set(['h264', 'hevc', 'vp8', 'vp9', 'mpeg1video', 'mpeg2video', 'mjpeg']);

/** Whether ffmpeg.wasm decodes `info`'s codec to the same pixels as the system ffmpeg on x86 (`EXACT_CODECS`). */
export function wasmDecodesExactly(info: Pick<VideoInfo, 'codec'>): boolean {
  return EXACT_CODECS.has(info.codec);
}

/** Whether `path` is small enough for the in-process decoder (`WASM_MAX_BYTES`). */
export async function fitsWasmDecoder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).size <= WASM_MAX_BYTES;
  } catch {
    return false;
  }
}

/**
 * ffprobe in-process: the same facts as the system ffprobe (core/preprocess/ffprobeInfo.ts). Errors:
 * 'unsupported-source' (ffmpeg.wasm cannot read the file), 'video-too-short', 'ffmpeg-missing' (no core), 'aborted'.
 */
export function probeVideoWasm(path: string, signal?: AbortSignal): Promise<VideoInfo> {
  return probeWithCore(runnerFor(path, signal), INPUT, path, (why) => new PPTSNError('unsupported-source', `ffmpeg.wasm cannot read ${path} (${why.replaceAll(`${INPUT}: `, '')}): check that it is a complete video file, or try the system ffmpeg (--decoder ffmpeg).`), () => fileHead(path));
}

/**
 * Decodes the unique sorted presented indices `wanted` of a file probed by `probeVideoWasm` to RGB (as the system ffmpeg's rgb24) in display
 * orientation, in the order of `wanted`. `exactColour` is false for formats other than 8-bit 4:2:0 (the core's own
 * swscale converted them; see core/preprocess/ffmpegCore.ts). Errors: 'decode-failed', 'unsupported-source' (no decoder in the core), 'aborted'.
 */
export function decodeFramesWasm(path: string, info: VideoInfo, wanted: readonly number[], signal?: AbortSignal): Promise<{ frames: FramePixels[]; exactColour: boolean }> {
  return decodeWithCore(runnerFor(path, signal), INPUT, path, info, wanted, { channels: 3 }).catch((e: unknown) => {
    if (e instanceof PPTSNError && e.code === 'unsupported-source') throw new PPTSNError(e.code, `${e.message} Decode it with the system ffmpeg (--decoder ffmpeg, or auto).`, { cause: e });
    throw e;
  });
}

/** Ends the worker thread (tests; the CLI's process exit ends it anyway). */
export async function closeWasmDecoder(): Promise<void> {
  await thread?.close();
}
