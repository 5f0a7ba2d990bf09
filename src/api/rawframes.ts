/**
 * Rawframes as a source in the page (docs/contract.md §4): the files of a dropped folder (`File`s named `img_00001.jpg`, …,
 * e.g. from `<input webkitdirectory>` or a drop), an array of image `Blob`s in frame order, or a
 * `FileSystemDirectoryHandle`. The page only recognises and names them: the Blobs (or the handle) cross to the
 * worker as they are, which reads and decodes the sampled files (`src/video/rawframes.ts`); no pixels are made here.
 */
import type { RawframesFiles } from '../video/rawframes.js';
import type { EngineVideo } from '../worker/protocol.js';

/** A rawframes clip: a folder's files, image Blobs in frame order, or a directory handle. */
export type RawframesSource = RawframesFiles;

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
  // Read here: a File's webkitRelativePath does not survive the copy to the worker (its name does).
  const rel = (source[0] as File & { webkitRelativePath?: string }).webkitRelativePath ?? '';
  return rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : 'rawframes';
}

/** The engine's form of a rawframes clip: its files (or handle) and its name, decoded in the worker. */
export function rawframesVideo(source: RawframesSource): Extract<EngineVideo, { kind: 'rawframes' }> {
  return { kind: 'rawframes', files: source, origin: rawframesOrigin(source) };
}
