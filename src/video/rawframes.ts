/**
 * Rawframes read in the worker (docs/contract.md §4), the browser twin of src/node/rawframes.ts: the files of a
 * dropped folder (`File`s named `img_00001.jpg`, …, e.g. from `<input webkitdirectory>` or a drop), an array of
 * image `Blob`s in frame order, or a `FileSystemDirectoryHandle`. They cross from the page as they are (Blobs and
 * the handle are structured-cloneable; a File keeps its name), and only the sampled files are read here and decoded
 * with the JPEG decoder PIL matches (`core/frames/jpeg.ts`, MozJPEG in WebAssembly), so the page does no decoding. The
 * sampling and the checks are `core/frames/rawframes.ts`, shared with the CLI.
 */
import { PPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames/pixels.js';
import { decodeJpegPixels } from '../core/frames/jpeg.js';
import { countRawframes, rawframeName, readRawframes } from '../core/frames/rawframes.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';

/** A rawframes clip: a folder's files, image Blobs in frame order, or a directory handle. */
export type RawframesFiles = readonly Blob[] | FileSystemDirectoryHandle;

/** The sampled frames of a rawframes clip, `frames[k]` being file `img_{indices[k]+1:05}.jpg`; L = `frameCount`. */
export interface RawframesRead {
  frames: FramePixels[];
  indices: number[];
  frameCount: number;
}

const FRAME_NAME = /^img_\d{5,}\.jpg$/;

function baseName(f: Blob): string | undefined {
  const name = (f as File).name;
  return typeof name === 'string' ? name.slice(name.lastIndexOf('/') + 1) : undefined;
}

/**
 * Reads the sampled frames of a rawframes clip at `config`'s sampling and segments; `where` names it in messages
 * (the folder, or `rawframes`). Named files: L = the number of `img_*.jpg` among them (other files of the folder are
 * ignored). Unnamed Blobs: L = the array's length, frame i = item i. Errors: 'unsupported-source' (no file named as
 * a frame), 'decode-failed' (a gap in the numbering, a sampled file missing, not a JPEG or cut short), 'video-too-short'
 * and 'invalid-argument' as `core/frames/rawframes.ts`, 'aborted'.
 */
export async function readRawframesFiles(files: RawframesFiles, where: string, config: PreprocessConfig, signal?: AbortSignal): Promise<RawframesRead> {
  let read: (name: string) => Promise<Uint8Array>;
  let count: number;
  const blobs: readonly Blob[] = Array.isArray(files) ? files : [];
  if (!Array.isArray(files)) {
    const handle = files as FileSystemDirectoryHandle;
    const names: string[] = [];
    for await (const name of (handle as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
    count = countRawframes(names);
    checkNoGaps(new Set(names.filter((n) => FRAME_NAME.test(n))), where);
    read = async (name) => new Uint8Array(await (await (await handle.getFileHandle(name)).getFile()).arrayBuffer());
  } else {
    const named = new Map<string, Blob>();
    for (const f of blobs) {
      const n = baseName(f);
      if (n && FRAME_NAME.test(n)) named.set(n, f);
    }
    const anyNamed = blobs.some((f) => baseName(f) !== undefined && baseName(f) !== '');
    if (anyNamed) {
      if (named.size === 0) throw new PPTSNError('unsupported-source', `none of the ${blobs.length} files is named img_00001.jpg, img_00002.jpg, … (PaddleVideo rawframes)`);
      count = named.size;
      checkNoGaps(new Set(named.keys()), where);
      read = async (name) => {
        const f = named.get(name);
        if (!f) throw new Error('not among the files given');
        return new Uint8Array(await f.arrayBuffer());
      };
    } else {
      count = blobs.length;
      read = async (name) => new Uint8Array(await blobs[Number(name.slice(4, -4)) - 1]!.arrayBuffer());
    }
  }
  if (signal?.aborted) throw new PPTSNError('aborted', 'reading the rawframes was aborted');
  const decode = async (bytes: Uint8Array, name: string) => {
    // Unnamed Blobs: say which array item it was (the core's message names img_{i+1:05}.jpg, which they lack).
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
  const clip = await readRawframes({ read, decode }, count, where, config);
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
