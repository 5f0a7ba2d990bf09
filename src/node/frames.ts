/**
 * One entry point for frames in Node, the twin of src/video/frames.ts: what `classify`, `eval` and `train` read.
 * - The source: a folder is a rawframes clip (src/node/rawframes.ts: only the sampled `img_*.jpg` files, decoded
 *   as PIL does), a file is a video (`readFrames`; a list says which its items are, `classify` looks).
 * - The decoder of a video (`readClip`, `DecoderChoice`): ffmpeg.wasm in a worker thread (src/node/ffmpegWasm.ts)
 *   or the system ffmpeg (src/node/ffmpeg.ts, the tool), with the fallbacks between them.
 * - Reading ahead (`ReadAhead`): the next inputs decode while the network runs the current one.
 * Every path samples with PaddleVideo's sampler over L (core/frames/framePlan.ts) and returns the frames in the
 * order of the sampled indices.
 */
import { stat } from 'node:fs/promises';
import { isPPTSNError, PPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames/pixels.js';
import { exactYuvFormat } from '../core/frames/ffmpegCore.js';
import { planFrames } from '../core/frames/framePlan.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';
import type { SamplingMode } from '../core/preprocess/sampler.js';
import type { Rng } from '../core/random.js';
import type { ListFormat } from '../core/dataset/lists.js';
import type { RawframesClip } from '../core/frames/rawframes.js';
import { decodeFfmpegFrames, probeVideo, type FfmpegDecodeOptions, type VideoInfo } from './ffmpeg.js';
import { decodeFramesWasm, fitsWasmDecoder, probeVideoWasm, wasmDecoderInstalled, wasmDecodesExactly } from './ffmpegWasm.js';
import { classifyInputKind } from './inputPath.js';
import { readRawframesDir } from './rawframes.js';

export type { VideoInfo } from './ffmpeg.js';
export type { RawframesClip } from '../core/frames/rawframes.js';

/**
 * Who decodes a file in Node: `ffmpeg` the system ffmpeg/ffprobe (spawned per file), `wasm` ffmpeg.wasm in-process
 * (src/node/ffmpegWasm.ts), `auto` (default) ffmpeg.wasm for 8-bit 4:2:0 and 4:2:2 files (even height; codecs per `wasmDecodesExactly`) up to 512 MB (the frames are the
 * system ffmpeg's, without two process starts per file) and the system ffmpeg for the rest, for files ffmpeg.wasm
 * cannot read, and whenever an ffmpeg path is set explicitly (`ffmpegPath`, $PPTSN_FFMPEG).
 */
export type DecoderChoice = 'auto' | 'ffmpeg' | 'wasm';
export const DECODERS = ['auto', 'ffmpeg', 'wasm'] as const;

/** One line for the CLI's log: who will decode the videos. */
export function describeDecoder(choice: DecoderChoice = 'auto'): string {
  if (choice === 'ffmpeg' || process.env['PPTSN_FFMPEG']) return 'videos decoded by the system ffmpeg';
  if (!wasmDecoderInstalled()) return 'videos decoded by the system ffmpeg (@ffmpeg/core is not installed)';
  if (choice === 'wasm') return 'videos decoded by ffmpeg.wasm in-process (MPEG-4 Part 2/XviD and WMV within a few levels of the system ffmpeg in some blocks)';
  return 'videos decoded by ffmpeg.wasm in-process (8-bit 4:2:0 and 4:2:2 H.264, HEVC, VP8/9, MPEG-1/2, MJPEG: bit-exact with the system ffmpeg), ' +
    'the system ffmpeg for the rest, UCF101\'s MPEG-4 Part 2/XviD included (--decoder wasm reads those in-process too, faster in eval, ' +
    'within a few levels in some blocks: x86 ffmpeg rounds their half-pel averages approximately)';
}

export interface ReadClipOptions extends FfmpegDecodeOptions {
  /** Override the config's sampling (e.g. `train` with `rng`). */
  sampling?: SamplingMode;
  rng?: Rng;
  /** Default 'auto' (`DecoderChoice`). */
  decoder?: DecoderChoice;
}

/** What `readClip` read and how. */
export interface Clip {
  info: VideoInfo;
  config: PreprocessConfig;
  indices: number[];
  frames: FramePixels[];
  /** Which decoder gave the frames. */
  decoder: 'ffmpeg' | 'ffmpeg.wasm';
  /**
   * False only when ffmpeg.wasm's frames may differ from the system ffmpeg's (forced, or no system ffmpeg): a format other
   * than 8-bit 4:2:0 with an even height (the core's own swscale), or a codec `wasmDecodesExactly` does not vouch for.
   */
  exactColour: boolean;
}

/**
 * Probe, sample (PaddleVideo's sampler for `config`, resolved by the caller's entry point), decode: everything the
 * CLI needs before `preprocessFrames`. Returns the config with the clip, so the caller preprocesses with the same one. Errors as
 * `probeVideo` and `decodeFfmpegFrames`; with `decoder: 'auto'` a file ffmpeg.wasm cannot read or decode goes to the
 * system ffmpeg, whose error is the one reported.
 */
export async function readClip(path: string, config: PreprocessConfig, options: ReadClipOptions = {}): Promise<Clip> {
  const choice = options.decoder ?? 'auto';
  // ffmpeg's word for an empty file is "moov atom not found" or "Invalid data", for a folder "Is a directory": say what it is.
  const st = await stat(path).catch(() => null);
  if (st?.isDirectory()) throw new PPTSNError('unsupported-source', `${path} is a folder, not a video file: give the video's path (a rawframes folder is read as frames, not as a video).`);
  // A named pipe or a device would block both decoders forever (nothing is written to it) or never end.
  if (st && !st.isFile()) throw new PPTSNError('unsupported-source', `${path} is not a regular file (a pipe or a device): save the video to a file and give its path.`);
  if (st?.size === 0) {
    throw new PPTSNError('unsupported-source', `${path} is empty (0 bytes): an interrupted download or copy? Fetch or copy it again.`);
  }
  const explicitFfmpeg = Boolean(options.ffmpegPath || process.env['PPTSN_FFMPEG']);
  const indicesFor = (info: VideoInfo) => planFrames(
    { presentedFrames: info.frameCount, codedWidth: info.codedWidth, codedHeight: info.codedHeight, rotation: info.rotation },
    { sampling: options.sampling ?? config.sampling, segments: config.segments, ...(options.rng ? { rng: options.rng } : {}) },
  ).indices;
  const viaWasm = async (info: VideoInfo): Promise<Clip> => {
    const indices = indicesFor(info);
    const wanted = [...new Set(indices)].sort((a, b) => a - b);
    const decoded = await decodeFramesWasm(path, info, wanted, options.signal);
    const { frames } = decoded;
    const exactColour = decoded.exactColour && wasmDecodesExactly(info);
    const byIndex = new Map(wanted.map((i, k) => [i, frames[k]!]));
    return { info, config, indices, frames: indices.map((i) => byIndex.get(i)!), decoder: 'ffmpeg.wasm', exactColour };
  };
  const viaSystem = async (probed?: VideoInfo): Promise<Clip> => {
    const info = options.info ?? probed ?? (await probeVideo(path, options));
    const indices = indicesFor(info);
    const frames = await decodeFfmpegFrames(path, indices, { ...options, info });
    return { info, config, indices, frames, decoder: 'ffmpeg', exactColour: true };
  };
  if (choice === 'wasm') return viaWasm(options.info ?? (await probeVideoWasm(path, options.signal)));
  if (choice === 'ffmpeg' || explicitFfmpeg || options.info || !wasmDecoderInstalled() || !(await fitsWasmDecoder(path))) return viaSystem();
  let info: VideoInfo;
  try {
    info = await probeVideoWasm(path, options.signal);
  } catch (e) {
    if (isPPTSNError(e) && (e.code === 'aborted' || e.code === 'video-too-short' || e.code === 'no-video-stream')) throw e;
    return viaSystem();
  }
  // Bit-exact only: 8-bit 4:2:0 (yuv.ts's arithmetic) from a codec whose C decoder matches x86's SIMD one.
  if (exactYuvFormat(info) && wasmDecodesExactly(info)) {
    try {
      return await viaWasm(info);
    } catch (e) {
      if (isPPTSNError(e) && e.code === 'aborted') throw e;
      return viaSystem();
    }
  }
  try {
    // An AVI's facts (packets, size, rate, colour tags) come from its header and index, read alike by ffmpeg.wasm's
    // ffprobe (ffmpeg 6) and the system's (checked on MPEG-4/XviD/DivX/MJPEG AVIs with and without B-frames, odd
    // sizes, truncated: test/unit/ffmpeg-wasm.test.ts): the probe already made saves starting ffprobe (~50 ms of
    // CPU) for UCF101's AVIs. Other containers (MP4 edit lists, Matroska) are probed again by the system's ffprobe.
    return await viaSystem(info.container === 'avi' ? info : undefined);
  } catch (e) {
    // No system ffmpeg: ffmpeg.wasm converts this format itself (within a level, not bit-exact).
    if (isPPTSNError(e) && e.code === 'ffmpeg-missing') return viaWasm(info);
    throw e;
  }
}

/** A path's frames: a video's `Clip` (with its probe and decoder) or a rawframes folder's `RawframesClip`. */
export type SourceClip = Clip | RawframesClip;

export interface ReadFramesOptions extends ReadClipOptions {
  /**
   * What the path is: `videos` a video file, `rawframes` a folder of `img_00001.jpg`, … (a list's format says so).
   * Without it the path is looked at (src/node/inputPath.ts `classifyInputKind`): a folder of such frames is
   * rawframes, a file a video, anything else 'invalid-argument' naming the path.
   */
  format?: ListFormat;
  /** L of a rawframes folder as a list gives it (PaddleVideo trusts the list); default: its `img_*.jpg` count. */
  numFrames?: number;
}

/**
 * The sampled frames of `path`, a video or a rawframes folder ("folder → rawframes, file → video"), with the
 * preprocessing config they were sampled for. `sampling`/`rng` override the config's sampler (`train`). Errors as
 * `readClip` and `readRawframesDir`.
 */
export async function readFrames(path: string, config: PreprocessConfig, options: ReadFramesOptions = {}): Promise<SourceClip> {
  const { format, numFrames, ...rest } = options;
  const kind = format ?? ((await classifyInputKind(path)) === 'rawframes' ? 'rawframes' : 'videos');
  if (kind === 'rawframes') {
    return readRawframesDir(path, config, {
      ...(numFrames !== undefined ? { numFrames } : {}),
      ...(rest.sampling ? { sampling: rest.sampling } : {}),
      ...(rest.rng ? { rng: rest.rng } : {}),
    });
  }
  return readClip(path, config, rest);
}

/**
 * Reads started before they are needed, by key (a path, a list position), each handed over once: `classify`
 * decodes the next video and `eval` the next items while the network runs the current one. A read's error waits
 * for its `take` (it is not an unhandled rejection meanwhile).
 */
export class ReadAhead<K, T> {
  private readonly pending = new Map<K, Promise<T>>();

  constructor(private readonly read: (key: K) => Promise<T>) {}

  /** Starts reading `key`, unless a read of it is already waiting. */
  start(key: K): void {
    if (this.pending.has(key)) return;
    const p = this.read(key);
    p.catch(() => {}); // reported when its `take` awaits it
    this.pending.set(key, p);
  }

  /** The read started for `key`, or a new one when none was; after this the key is not pending any more. */
  take(key: K): Promise<T> {
    const p = this.pending.get(key);
    this.pending.delete(key);
    return p ?? this.read(key);
  }

  /** Waits for the reads nobody took (before the decoders are released), and forgets them. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.pending.values());
    this.pending.clear();
  }
}
