/**
 * Rawframes as a source in the page (docs/contract.md §4): the files of a dropped folder (`File`s named `img_00001.jpg`, …,
 * e.g. from `<input webkitdirectory>` or a drop), an array of image `Blob`s in frame order, or a
 * `FileSystemDirectoryHandle`. Only the sampled files are read, decoded here with the JPEG decoder PIL matches
 * (`core/jpeg.ts`, MozJPEG in WebAssembly) and handed to the worker as frames. The decoding core is
 * `core/rawframes.ts`, shared with the CLI.
 */
import { PPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames.js';
import { decodeJpegPixels } from '../core/jpeg.js';
import { countRawframes, rawframeName, readRawframes } from '../core/rawframes.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';
import type { SamplingMode } from '../core/preprocess/sampler.js';

/** A rawframes clip: a folder's files, image Blobs in frame order, or a directory handle. */
export type RawframesSource = readonly Blob[] | FileSystemDirectoryHandle;

const FRAME_NAME = /^img_\d{5,}\.jpg$/;

function isDirectoryHandle(x: unknown): x is FileSystemDirectoryHandle {
  return typeof FileSystemDirectoryHandle !== 'undefined' && x instanceof FileSystemDirectoryHandle;
}

/** True for the rawframes sources above (an array whose items are all Blobs, or a directory handle). */
export function isRawframesSource(x: unknown): x is RawframesSource {
  return isDirectoryHandle(x) || (Array.isArray(x) && x.length > 0 && x.every((b) => typeof Blob !== 'undefined' && b instanceof Blob));
}

/** A name for a rawframes clip: the folder (directory handle or the files' relative path), else `rawframes`. */
export function rawframesOrigin(source: RawframesSource): string {
  if (isDirectoryHandle(source)) return source.name;
  const rel = (source[0] as File & { webkitRelativePath?: string }).webkitRelativePath ?? '';
  return rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : 'rawframes';
}

function baseName(f: Blob): string | undefined {
  const name = (f as File).name;
  return typeof name === 'string' ? name.slice(name.lastIndexOf('/') + 1) : undefined;
}

/**
 * Reads the sampled frames of a rawframes source. Named files: L = the number of `img_*.jpg` among them (other
 * files of the folder are ignored). Unnamed Blobs: L = the array's length, frame i = item i.
 */
export async function readRawframesSource(source: RawframesSource, config: PreprocessConfig, options: { sampling?: SamplingMode; signal?: AbortSignal } = {}): Promise<{ frames: FramePixels[]; indices: number[]; frameCount: number }> {
  let read: (name: string) => Promise<Uint8Array>;
  let count: number;
  let where: string;
  if (isDirectoryHandle(source)) {
    const names: string[] = [];
    for await (const name of (source as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
    count = countRawframes(names);
    where = source.name;
    checkNoGaps(new Set(names.filter((n) => FRAME_NAME.test(n))), where);
    read = async (name) => new Uint8Array(await (await (await source.getFileHandle(name)).getFile()).arrayBuffer());
  } else {
    const named = new Map<string, Blob>();
    for (const f of source) {
      const n = baseName(f);
      if (n && FRAME_NAME.test(n)) named.set(n, f);
    }
    const anyNamed = source.some((f) => baseName(f) !== undefined && baseName(f) !== '');
    if (anyNamed) {
      if (named.size === 0) throw new PPTSNError('unsupported-source', `none of the ${source.length} files is named img_00001.jpg, img_00002.jpg, … (PaddleVideo rawframes)`);
      count = named.size;
      where = rawframesOrigin(source);
      checkNoGaps(new Set(named.keys()), where);
      read = async (name) => {
        const f = named.get(name);
        if (!f) throw new Error('not among the files given');
        return new Uint8Array(await f.arrayBuffer());
      };
    } else {
      count = source.length;
      where = 'rawframes';
      read = async (name) => new Uint8Array(await source[Number(name.slice(4, -4)) - 1]!.arrayBuffer());
    }
  }
  if (options.signal?.aborted) throw new PPTSNError('aborted', 'reading the rawframes was aborted');
  const decode = async (bytes: Uint8Array, name: string) => {
    // Unnamed Blobs: say which array item it was (the core's message names img_{i+1:05}.jpg, which they lack).
    const blobs = isDirectoryHandle(source) ? [] : source;
    const item = Number(name.slice(4, -4)) - 1;
    const unnamed = blobs[item] !== undefined && baseName(blobs[item]) === undefined;
    const other = notJpeg(bytes);
    if (other) {
      throw new Error(`${unnamed ? `Blob array item ${item}` : 'it'} is a ${other} image; rawframes are JPEG files (img_00001.jpg, …). Pass other images as frames instead: an array of ImageBitmaps (await createImageBitmap(blob)), one per segment`);
    }
    try {
      return await decodeJpegPixels(bytes);
    } catch (e) {
      if (!unnamed) throw e;
      throw new Error(`Blob array item ${item}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
  };
  const clip = await readRawframes({ read, decode }, count, where, config, options.sampling ? { sampling: options.sampling } : {});
  return { frames: clip.frames, indices: clip.indices, frameCount: clip.frameCount };
}

/** The format of an image that is not a JPEG (PNG, WebP, GIF, BMP), from its magic bytes; null for a JPEG or unknown bytes. */
function notJpeg(b: Uint8Array): string | null {
  if (b[0] === 0xff && b[1] === 0xd8) return null;
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'PNG';
  if (b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45) return 'WebP';
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return 'GIF';
  if (b[0] === 0x42 && b[1] === 0x4d) return 'BMP';
  return null;
}

/**
 * L is the number of `img_*.jpg` files, read as img_00001.jpg … img_L.jpg: with one missing in the middle the
 * clip would silently end early (the last files ignored) or fail only when the missing one is sampled. Refuse it
 * up front, naming the first missing file.
 */
function checkNoGaps(named: ReadonlySet<string>, where: string): void {
  for (let i = 0; i < named.size; i++) {
    const name = rawframeName(i);
    if (named.has(name)) continue;
    const last = [...named].sort().at(-1)!;
    throw new PPTSNError('decode-failed', `${where}/${name} is missing: the ${named.size} img_*.jpg files given go up to ${last}. A rawframes folder numbers its frames img_00001.jpg … without gaps, as PaddleVideo's extraction writes them: extract the video again, or pass the frames that are there renumbered`);
  }
}
