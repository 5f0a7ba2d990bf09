/**
 * PaddleVideo's dataset list files (docs/contract.md §8), parsed without touching any file system:
 * - videos list (`paddlevideo/loader/dataset/video.py`, VideoDataset): `relative/path.avi label` per line;
 * - rawframes list (`paddlevideo/loader/dataset/frame.py`, FrameDataset): `relative/frame_dir num_frames label`.
 * Labels are 0-based class ids. A data prefix (root) is joined to each relative path as `os.path.join` does.
 *
 * PaddleVideo splits a line on whitespace and crashes on anything else; here a malformed line becomes a
 * `ListProblem` naming the line, kept in its place among the entries, so an evaluation goes on with the rest and
 * reports it (never drops it silently). Blank lines and `#` comments are skipped.
 */
import { PPTSNError } from '../errors.js';

export type ListFormat = 'videos' | 'rawframes';

/** One usable line of a list. */
export interface ListItem {
  /** The path as written in the list. */
  relPath: string;
  /** `relPath` joined to the root (the path to open). */
  path: string;
  /** 0-based class id. */
  label: number;
  /** Rawframes lists: the number of frames L the Sampler draws from (PaddleVideo trusts the list). */
  numFrames?: number;
  /** 1-based line number in the list file. */
  line: number;
}

/** A line that could not be used, with the reason. */
export interface ListProblem {
  line: number;
  /** The line's text (cut to 200 characters). */
  text: string;
  message: string;
}

/** Every non-blank, non-comment line in file order: an item or a problem. Its index is the entry's position p. */
export type ListEntry = { item: ListItem; problem?: undefined } | { item?: undefined; problem: ListProblem };

export interface ParsedList {
  format: ListFormat;
  entries: ListEntry[];
}

export interface ParseListOptions {
  /** `videos` or `rawframes`; default: guessed from the first usable line (3 fields whose last two are integers → rawframes). */
  format?: ListFormat;
  /** Data prefix joined to relative paths (PaddleVideo's `data_prefix`). */
  root?: string;
  /** Number of classes: a label ≥ this is a problem on its line. */
  numClasses?: number;
  /** Name of the list for messages (the file name). */
  source?: string;
  /**
   * PaddleVideo's dataset `suffix`. Videos (VideoDataset): appended to each path before the root is joined
   * (`filename + suffix`), so `build_ucf101_file_list.py`'s lists, whose paths have no extension, take `.avi`.
   * Rawframes (FrameDataset): the frame file template, where only PaddleVideo's default `img_{:05}.jpg` is read.
   */
  suffix?: string;
}

/** FrameDataset's default (and only supported) frame file template. */
export const RAWFRAMES_SUFFIX = 'img_{:05}.jpg';

const INT = /^\d+$/;

/** `os.path.join(root, path)`: an absolute path wins; otherwise one separator between the two. */
export function joinRoot(root: string | undefined, path: string): string {
  if (!root) return path;
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(path)) return path;
  return /[\\/]$/.test(root) ? root + path : `${root}/${path}`;
}

function guessFormat(fields: string[]): ListFormat {
  return fields.length >= 3 && INT.test(fields[fields.length - 1]!) && INT.test(fields[fields.length - 2]!) ? 'rawframes' : 'videos';
}

/**
 * Parses a list's text. Throws `PPTSNError('invalid-argument')` only when the list has no usable line at all;
 * every other defect is a `ListProblem` on its line.
 */
export function parseList(text: string, options: ParseListOptions = {}): ParsedList {
  const source = options.source ?? 'list';
  const suffix = options.suffix ?? '';
  const lines = text.split(/\r?\n/);
  let format = options.format;
  const entries: ListEntry[] = [];
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/\s+/);
    format ??= guessFormat(fields);
    const problem = (message: string) => entries.push({ problem: { line, text: trimmed.slice(0, 200), message: `${source} line ${line}: ${message}` } });
    const tail = format === 'rawframes' ? 2 : 1;
    if (fields.length < tail + 1) {
      problem(format === 'rawframes' ? `expected "frame_dir num_frames label", found "${trimmed.slice(0, 80)}"` : `expected "path label", found "${trimmed.slice(0, 80)}"`);
      return;
    }
    const ints = fields.slice(-tail);
    const bad = ints.find((f) => !INT.test(f));
    if (bad !== undefined) {
      problem(format === 'rawframes'
        ? `expected "frame_dir num_frames label" with integer num_frames and label, found "${trimmed.slice(0, 80)}"`
        : `expected "path label" with an integer label, found "${trimmed.slice(0, 80)}" (is this a rawframes list? use --format rawframes)`);
      return;
    }
    // The path is what precedes the trailing integer fields, so a path with spaces still parses.
    const rel = trimmed.replace(tail === 2 ? /\s+\d+\s+\d+$/ : /\s+\d+$/, '');
    const label = Number(ints[ints.length - 1]);
    if (options.numClasses !== undefined && label >= options.numClasses) {
      problem(`label ${label} is out of range: the model has ${options.numClasses} classes (0–${options.numClasses - 1})`);
      return;
    }
    const item: ListItem = { relPath: rel, path: joinRoot(options.root, format === 'videos' ? rel + suffix : rel), label, line };
    if (format === 'rawframes') {
      const numFrames = Number(ints[0]);
      if (numFrames < 1) {
        problem(`num_frames is 0: ${rel} has no frames to sample`);
        return;
      }
      item.numFrames = numFrames;
    }
    entries.push({ item });
  });
  if (format === 'rawframes' && suffix && suffix !== RAWFRAMES_SUFFIX && suffix !== 'img_{:05d}.jpg') {
    throw new PPTSNError('invalid-argument', `${source}: --suffix "${suffix}" on a rawframes list is FrameDataset's frame file template; only PaddleVideo's default ${RAWFRAMES_SUFFIX} (img_00001.jpg, …) is read`);
  }
  if (!entries.some((e) => e.item)) {
    const first = entries[0]?.problem;
    throw new PPTSNError('invalid-argument', first ? `${source} has no usable line (${first.message})` : `${source} is empty: expected PaddleVideo list lines ("path label" or "frame_dir num_frames label")`);
  }
  return { format: format ?? 'videos', entries };
}

/** The entries of shard `index` of `count`: positions p with p % count == index (PaddleVideo's rank split is similar). */
export function shardEntries<T>(entries: readonly T[], index: number, count: number): { position: number; entry: T }[] {
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new PPTSNError('invalid-argument', `shard must be i/n with 0 ≤ i < n, got ${index}/${count}`);
  }
  const out: { position: number; entry: T }[] = [];
  entries.forEach((entry, position) => {
    if (position % count === index) out.push({ position, entry });
  });
  return out;
}

/** Parses `i/n` (e.g. `0/4`). */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new PPTSNError('invalid-argument', `--shard must be i/n with 0 ≤ i < n (e.g. 0/4), got "${text}"`);
  return { index, count };
}
