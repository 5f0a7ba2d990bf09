/**
 * Rawframes folders in Node (the CLI): L from a list's num_frames or the folder's `img_*.jpg` count, then only
 * the sampled files are read and decoded (`src/core/frames/rawframes.ts`) with the JPEG decoder PIL matches
 * (`src/core/frames/jpeg.ts`; its wasm is compiled from the package's file once).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PPTSNError } from '../core/errors.js';
import { decodeJpegPixels, initJpeg } from '../core/frames/jpeg.js';
import { countRawframes, readRawframes, type RawframesClip } from '../core/frames/rawframes.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';
import type { SamplingMode } from '../core/preprocess/sampler.js';
import type { Rng } from '../core/random.js';

let compiled: Promise<void> | undefined;

/** Compiles @jsquash/jpeg's decoder wasm from node_modules (it cannot fetch a file: URL in Node). */
function initNodeJpeg(): Promise<void> {
  compiled ??= (async () => {
    const require = createRequire(import.meta.url);
    const path = require.resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');
    await initJpeg(await WebAssembly.compile(await readFile(path)));
  })();
  return compiled;
}

/** True when `path` is a folder (a rawframes clip) rather than a file (a video). */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** L of a rawframes folder: its number of `img_*.jpg` files. 'invalid-argument' when it cannot be listed. */
export async function countFrameFiles(dir: string): Promise<number> {
  try {
    return countRawframes(await readdir(dir));
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot list the rawframes folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Reads the sampled frames of a rawframes folder. `numFrames` is L from a rawframes list (PaddleVideo trusts
 * the list); without it L is the folder's count of `img_*.jpg`. `sampling`/`rng` override the preset's sampler
 * (`train` draws with `rng`).
 */
export async function readRawframesDir(dir: string, config: PreprocessConfig, options: { numFrames?: number; sampling?: SamplingMode; rng?: Rng } = {}): Promise<RawframesClip> {
  await initNodeJpeg();
  const frameCount = options.numFrames ?? (await countFrameFiles(dir));
  return readRawframes(
    {
      read: (name) => readFile(join(dir, name)).then((b) => new Uint8Array(b), (e: NodeJS.ErrnoException) => Promise.reject(new Error(e.code ?? e.message))),
      decode: (bytes) => decodeJpegPixels(bytes),
    },
    frameCount,
    dir,
    config,
    { ...(options.sampling ? { sampling: options.sampling } : {}), ...(options.rng ? { rng: options.rng } : {}) },
  );
}
