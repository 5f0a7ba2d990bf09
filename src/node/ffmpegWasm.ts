/**
 * ffmpeg.wasm (`@ffmpeg/core`, a dependency the browser fallback already ships) as the CLI's in-process decoder.
 * Why: each system ffmpeg/ffprobe run costs ~50 ms of CPU just to start (it links ~200 shared libraries), twice per
 * clip, which is as much as the network's time for a fast-preset clip on two cores; `eval` over a dataset paid it
 * on every item. In-process, a 320×240 UCF101-style clip probes and decodes in ~25 ms of CPU, in a worker thread
 * beside the network's. The frames are the system ffmpeg's: the same ffprobe facts, the same `select` graph, and
 * 8-bit 4:2:0 converted by core/frames/yuv.ts, bit-exact with `ffmpeg -pix_fmt rgb24` on x86
 * (core/frames/ffmpegCore.ts says what differs for other formats; src/node/ffmpeg.ts decides who decodes).
 * Only for codecs whose C decoder matches x86's (`wasmDecodesExactly`): UCF101's MPEG-4 Part 2 (XviD) is not one,
 * so `auto` leaves it to the system ffmpeg.
 *
 * The core runs in one worker thread per process (core/ffmpegHost/: its instances, renewal, log capture, crash
 * retry and the stall watchdog are the browser's too), created on first use from src/node/ffmpegCoreWorker.ts. The
 * file is copied into the core's memory (up to `WASM_MAX_BYTES`), once for the probe and the decode that follows.
 */
import { stat } from 'node:fs/promises';
import { fileHead } from './inputPath.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames/pixels.js';
import { FfmpegCoreClient, type CoreThreadPort } from '../core/ffmpegHost/client.js';
import { coreRunner, INPUT, type CoreFailure } from '../core/ffmpegHost/host.js';
import { decodeWithCore, probeWithCore, type FfmpegCoreRunner } from '../core/frames/ffmpegCore.js';
import type { VideoInfo } from '../core/frames/ffprobeInfo.js';
import type { NodeCoreFiles, PathInput } from './ffmpegCoreWorker.js';
import { startWorkerThread } from './workerThread.js';

/** Files larger than this are left to the system ffmpeg: the core holds the whole file in its 32-bit heap. */
export const WASM_MAX_BYTES = 512 * 1024 * 1024;

/**
 * The watchdog's limit (core/ffmpegHost/client.ts): `PPTSN_WASM_STALL_S` seconds, read at each call; unset, the
 * client's default (STALL_S, 120 s).
 */
function stallMs(): number | undefined {
  const s = Number(process.env['PPTSN_WASM_STALL_S']);
  return Number.isFinite(s) && s > 0 ? s * 1000 : undefined;
}

/** The core's files in the installed @ffmpeg/core, or null when the package is missing. */
function coreFiles(): NodeCoreFiles | null {
  try {
    const js = createRequire(import.meta.url).resolve('@ffmpeg/core'); // dist/umd/ffmpeg-core.js (require)
    const esm = join(dirname(js), '..', 'esm');
    const wasmPath = join(esm, 'ffmpeg-core.wasm');
    return { jsUrl: pathToFileURL(join(esm, 'ffmpeg-core.js')).href, wasmPath, wasmUrl: pathToFileURL(wasmPath).href };
  } catch {
    return null;
  }
}

/** The core's thread (ffmpegCoreWorker.ts) as the client's port. */
function spawnCoreThread(): CoreThreadPort<NodeCoreFiles, PathInput> {
  const worker = startWorkerThread(new URL('./ffmpegCoreWorker.js', import.meta.url));
  // An idle worker must not keep the CLI alive; one with a call in flight must (`hold`).
  worker.unref();
  return {
    post: (request) => worker.postMessage(request),
    listen(onReply, onDeath) {
      worker.on('message', onReply);
      worker.on('error', (e) => onDeath(e instanceof Error ? e : new Error(String(e))));
      worker.on('exit', (code) => onDeath(new Error(`the ffmpeg.wasm worker thread exited (code ${code})`)));
    },
    terminate: () => worker.terminate(),
    hold: (busy) => void (busy ? worker.ref() : worker.unref()),
  };
}

let client: FfmpegCoreClient<NodeCoreFiles, PathInput> | null | undefined;

function coreClient(): FfmpegCoreClient<NodeCoreFiles, PathInput> | null {
  if (client === undefined) {
    const files = coreFiles();
    client = files ? new FfmpegCoreClient({ spawn: spawnCoreThread, params: files, stallMs }) : null;
  }
  return client;
}

/** Whether the in-process decoder can run here (`@ffmpeg/core` is installed). */
export function wasmDecoderInstalled(): boolean {
  return coreClient() !== null;
}

/** A failure of the core, in the CLI's words for `path`. */
function cliError(failure: CoreFailure, path: string): PPTSNError {
  const why = failure.message;
  switch (failure.reason) {
    case 'aborted': return new PPTSNError('aborted', 'Video decoding was aborted.', { cause: failure });
    case 'load': return new PPTSNError('ffmpeg-missing', `ffmpeg.wasm could not be loaded: ${why}`, { cause: failure });
    case 'stalled': return new PPTSNError('decode-failed', `ffmpeg.wasm stopped responding while reading ${path} (${why}); its thread was ended. Decode it with the system ffmpeg (--decoder ffmpeg), or raise PPTSN_WASM_STALL_S for a very slow machine.`, { cause: failure });
    case 'file': return new PPTSNError('unsupported-source', `ffmpeg.wasm cannot load ${path} (${why}); check that the file exists and is readable, or decode it with the system ffmpeg (--decoder ffmpeg).`, { cause: failure });
    case 'crash': return new PPTSNError('decode-failed', `ffmpeg.wasm stopped while reading ${path} (${why}); the file may be damaged.`, { cause: failure });
  }
}

function runnerFor(path: string, signal?: AbortSignal): FfmpegCoreRunner {
  const c = coreClient();
  if (!c) throw new PPTSNError('ffmpeg-missing', 'ffmpeg.wasm (@ffmpeg/core) is not installed; reinstall pptsn-web or use the system ffmpeg (--decoder ffmpeg).');
  return coreRunner((kind, args, onTime) => c.run(kind, args, { path }, { signal, onTime }), (f) => cliError(f, path));
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
 * ffprobe in-process: the same facts as the system ffprobe (core/frames/ffprobeInfo.ts). Errors:
 * 'unsupported-source' (ffmpeg.wasm cannot read the file), 'video-too-short', 'ffmpeg-missing' (no core), 'aborted'.
 */
export function probeVideoWasm(path: string, signal?: AbortSignal): Promise<VideoInfo> {
  return probeWithCore(runnerFor(path, signal), INPUT, path, (why) => new PPTSNError('unsupported-source', `ffmpeg.wasm cannot read ${path} (${why.replaceAll(`${INPUT}: `, '')}): check that it is a complete video file, or try the system ffmpeg (--decoder ffmpeg).`), () => fileHead(path));
}

/**
 * Decodes the unique sorted presented indices `wanted` of a file probed by `probeVideoWasm` to RGB (as the system ffmpeg's rgb24) in display
 * orientation, in the order of `wanted`. `exactColour` is false for formats other than 8-bit 4:2:0 (the core's own
 * swscale converted them; see core/frames/ffmpegCore.ts). Errors: 'decode-failed', 'unsupported-source' (no decoder in the core), 'aborted'.
 */
export function decodeFramesWasm(path: string, info: VideoInfo, wanted: readonly number[], signal?: AbortSignal): Promise<{ frames: FramePixels[]; exactColour: boolean }> {
  return decodeWithCore(runnerFor(path, signal), INPUT, path, info, wanted, { channels: 3 }).catch((e: unknown) => {
    if (e instanceof PPTSNError && e.code === 'unsupported-source') throw new PPTSNError(e.code, `${e.message} Decode it with the system ffmpeg (--decoder ffmpeg, or auto).`, { cause: e });
    throw e;
  });
}

/** Ends the worker thread (tests; the CLI's process exit ends it anyway). */
export async function closeWasmDecoder(): Promise<void> {
  await client?.close();
}
