/**
 * Rawframes, the tutorial's own format (docs/contract.md §4): a folder of `img_00001.jpg`, `img_00002.jpg`, … (1-based)
 * written by OpenCV from the decoded frames. PaddleVideo's FrameDataset + Sampler (`paddlevideo/loader/pipelines/
 * sample.py`, format 'frame') compute the same 0-based indices as for a video over L = num_frames and open
 * `img_{idx+1:05}.jpg`, decoded by PIL as RGB. Only the sampled files are read and decoded.
 *
 * Isomorphic: the caller supplies how to read a file and how to decode a JPEG (`src/node/rawframes.ts` in Node,
 * `src/video/rawframes.ts` in the browser's worker, from the Files/Blobs or directory handle the page sent); both
 * decode with libjpeg-turbo's algorithms (`jpeg.ts`).
 */
import { PPTSNError } from '../errors.js';
import type { FramePixels } from './pixels.js';
import type { PreprocessConfig } from '../preprocess/presets.js';
import { sampleIndices, type SamplingMode } from '../preprocess/sampler.js';
import { type Rng } from '../random.js';

/** File name of frame index `idx` (0-based): `img_{idx+1:05}.jpg`. */
export function rawframeName(idx: number): string {
  return `img_${String(idx + 1).padStart(5, '0')}.jpg`;
}

const FRAME_NAME = /^img_(\d{5,})\.jpg$/;

/** L for a folder listed without a count: the number of `img_*.jpg` names (other files are ignored). */
export function countRawframes(names: Iterable<string>): number {
  let n = 0;
  for (const name of names) if (FRAME_NAME.test(name)) n++;
  return n;
}

/** How to get one file's bytes and how to decode a JPEG; supplied by Node or the page. */
export interface RawframeIO {
  /** Bytes of `name` in the folder; reject (any error) when it is missing. */
  read(name: string): Promise<Uint8Array>;
  /** Decodes a JPEG to RGB(A) pixels as PIL's `Image.open(…).convert('RGB')` gives them. */
  decode(bytes: Uint8Array, name: string): Promise<FramePixels>;
}

export interface RawframesClip {
  config: PreprocessConfig;
  /** L: frames the sampler drew from. */
  frameCount: number;
  /** 0-based indices (file `img_{idx+1:05}.jpg`). */
  indices: number[];
  frames: FramePixels[];
}

/**
 * Samples and decodes a rawframes clip of `frameCount` frames with `config`'s sampler (resolved by the caller's
 * entry point). `where` names the folder in messages.
 * Errors: 'video-too-short' (L = 0), 'decode-failed' (a sampled file missing or not a JPEG, named),
 * 'invalid-argument' (frames of different sizes).
 */
export async function readRawframes(
  io: RawframeIO,
  frameCount: number,
  where: string,
  config: PreprocessConfig,
  options: { sampling?: SamplingMode; rng?: Rng } = {},
): Promise<RawframesClip> {
  if (!(frameCount >= 1)) throw new PPTSNError('video-too-short', `${where} has no img_00001.jpg … frames (expected PaddleVideo rawframes: img_00001.jpg, img_00002.jpg, …)`);
  const indices = sampleIndices(options.sampling ?? config.sampling, frameCount, config.segments, options.rng);
  const unique = [...new Set(indices)];
  // Read and decode each sampled file once, all at once (a file system or a directory handle can overlap reads).
  const decoded = await Promise.all(unique.map(async (idx) => {
    const name = rawframeName(idx);
    let bytes: Uint8Array;
    try {
      bytes = await io.read(name);
    } catch (e) {
      throw new PPTSNError('decode-failed', `${where}/${name} is missing (L = ${frameCount} frames, so frame index ${idx} is sampled): ${(e as Error).message ?? String(e)}`, { cause: e });
    }
    try {
      return await io.decode(bytes, name);
    } catch (e) {
      throw new PPTSNError('decode-failed', `${where}/${name} is not a readable JPEG: ${(e as Error).message ?? String(e)}`, { cause: e });
    }
  }));
  const byIndex = new Map(unique.map((idx, k) => [idx, decoded[k]!]));
  const first = decoded[0]!;
  for (const [idx, f] of byIndex) {
    if (f.width !== first.width || f.height !== first.height) {
      throw new PPTSNError('invalid-argument', `${where}: ${rawframeName(idx)} is ${f.width}×${f.height} but ${rawframeName(unique[0]!)} is ${first.width}×${first.height}; all frames of a clip must have one size`);
    }
  }
  return { config, frameCount, indices, frames: indices.map((i) => byIndex.get(i)!) };
}
