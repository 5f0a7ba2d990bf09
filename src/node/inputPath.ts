/**
 * What a `classify <path>` argument is, checked before anything reads it: a missing path or a folder that holds no
 * rawframes would otherwise reach ffprobe (or the frame sampler) and fail with a message about the wrong thing.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { PPTSNError } from '../core/errors.js';
import { countRawframes } from '../core/frames/rawframes.js';

/** How a rawframes folder looks (PaddleVideo's extracted-frames layout), for messages. */
const RAWFRAMES_LAYOUT = 'img_00001.jpg, img_00002.jpg, …: one clip\'s frames as PaddleVideo extracts them, numbered from 00001';

/**
 * `'video'` for a file (ffmpeg decodes it), `'rawframes'` for a folder with `img_00001.jpg`-style frames.
 * Throws `PPTSNError('invalid-argument')` naming `path` when it does not exist, cannot be read, or is a folder
 * without such frames (the message lists a few of the names it does hold).
 */
export async function classifyInputKind(path: string): Promise<'video' | 'rawframes'> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new PPTSNError('invalid-argument', `${path} does not exist: give a video file, or a rawframes folder of ${RAWFRAMES_LAYOUT}`);
    }
    throw new PPTSNError('invalid-argument', `cannot read ${path}: ${code ?? (e as Error).message}`);
  }
  if (!isDir) return 'video';
  let names: string[];
  try {
    names = await readdir(path);
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot list the folder ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (countRawframes(names) > 0) return 'rawframes';
  const shown = names.filter((n) => !n.startsWith('.')).sort();
  const found = shown.length === 0 ? 'it is empty' : `it holds ${shown.length === 1 ? '1 other file' : `${shown.length} other files`}: ${shown.slice(0, 3).join(', ')}${shown.length > 3 ? ', …' : ''}`;
  throw new PPTSNError('invalid-argument', `${path} is a folder but not a rawframes folder: it has no img_00001.jpg-style frames (${found}). A rawframes folder holds ${RAWFRAMES_LAYOUT}. Give a video file, or such a folder`);
}

/**
 * The first `n` bytes of a regular file (fewer when it is shorter), or null when it is not one or cannot be read:
 * for error messages. A named pipe is never opened (opening it would wait for a writer).
 */
export async function fileHead(path: string, n = 12): Promise<Uint8Array | null> {
  try {
    if (!(await stat(path)).isFile()) return null;
    const fh = await open(path, 'r');
    try {
      const buf = new Uint8Array(n);
      const { bytesRead } = await fh.read(buf, 0, n, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}
