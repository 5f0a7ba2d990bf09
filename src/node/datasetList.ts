/**
 * The one list reader of the CLI's `eval` and `train`: a PaddleVideo videos or rawframes list (core/dataset/lists.ts)
 * with PaddleVideo's `data_prefix` (root) and `suffix`, or one of UCF101's own split files (core/dataset/ucf101.ts),
 * whose labels come from the class folders through `classInd.txt` (next to the split file, or given), never from
 * their 1-based ids read as 0-based. Without a `classInd.txt` a split file is refused with a pointer to
 * `pptsn-web prepare lists ucf101`.
 */
import { access, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseList, type ListFormat, type ParsedList } from '../core/dataset/lists.js';
import { parseClassInd, parseUcf101Split, ucf101SplitKind } from '../core/dataset/ucf101.js';
import { PPTSNError } from '../core/errors.js';

export interface ReadDatasetListOptions {
  /** `videos` or `rawframes`; default: guessed from the first usable line. */
  format?: ListFormat;
  /** PaddleVideo's `data_prefix`, joined to each relative path. */
  root?: string;
  /** PaddleVideo's `suffix` (videos: appended to each path, e.g. `.avi` for `build_ucf101_file_list.py`'s lists). */
  suffix?: string;
  /** Labels ≥ this are problems on their lines (default: `labels.length` when labels are given). */
  numClasses?: number;
  /**
   * The class names the list is scored or trained against (default numClasses: their count). For a split file,
   * classInd's names must be these in order where they are named (not `class_i`), else it is refused.
   */
  labels?: readonly string[];
  /** UCF101's `classInd.txt` for a split file (default: the one next to the list). */
  classInd?: string;
}

/** A parsed list and what the reader noticed on the way (for the log). */
export interface DatasetList extends ParsedList {
  /** Lines for the user: how a split file was read, a missing extension noticed on the first item. */
  notes: string[];
}

/** Extensions tried when a list's file is missing (PaddleVideo lists of UCF101 drop `.avi`). */
export const VIDEO_EXTENSIONS = ['.avi', '.mp4', '.mkv', '.webm', '.mov', '.m4v', '.mpg', '.mpeg', '.wmv', '.flv', '.3gp', '.ts'] as const;

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/**
 * The message for a list item whose file is missing: when the same path with a common video extension exists,
 * it says so and suggests `--suffix` (the lists `build_ucf101_file_list.py` writes have no extension).
 */
export async function missingFileMessage(path: string): Promise<string> {
  for (const ext of VIDEO_EXTENSIONS) {
    for (const e of [ext, ext.toUpperCase()]) {
      if (await exists(path + e)) return `${path} does not exist, but ${path}${e} does: the list's paths have no extension (as PaddleVideo's build_ucf101_file_list.py writes videos lists); add --suffix ${e} (PaddleVideo's dataset suffix)`;
    }
  }
  return `${path} does not exist`;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Reads `file` as a PaddleVideo list or a UCF101 split file. Throws 'invalid-argument' when the file cannot be
 * read, has no usable line, or is a UCF101 split file with no `classInd.txt` beside it (or given), or given with
 * `format: 'rawframes'`. Every other defect is a `ListProblem` on its line (core/dataset/lists.ts).
 */
export async function readDatasetList(file: string, opts: ReadDatasetListOptions = {}): Promise<DatasetList> {
  const text = await readText(file, 'list');
  const source = basename(file);
  const numClasses = opts.numClasses ?? opts.labels?.length;
  const notes: string[] = [];
  const classIndPath = opts.classInd ?? join(dirname(file), 'classInd.txt');
  const classIndText = opts.classInd || (await exists(classIndPath)) ? await readText(classIndPath, 'classInd.txt') : undefined;
  const classInd = classIndText !== undefined ? parseClassInd(classIndText, classIndPath) : undefined;
  const kind = ucf101SplitKind(file, text, classInd);
  let list: ParsedList;
  if (kind) {
    const what = kind === 'trainlist' ? `UCF101's split file (${source}: "Class/v_….avi id" with 1-based class ids)` : `UCF101's split file (${source}: "Class/v_….avi" without labels)`;
    const prepare = 'write PaddleVideo\'s lists with "pptsn-web prepare lists ucf101 <dataset_dir>" (0-based labels, as build_ucf101_file_list.py)';
    if (opts.format === 'rawframes') throw new PPTSNError('invalid-argument', `${file} is ${what}, which names videos, not rawframes folders: ${prepare} --format rawframes`);
    if (!classInd) throw new PPTSNError('invalid-argument', `${file} is ${what}, not a PaddleVideo list (0-based labels): ${prepare}, or put UCF101's classInd.txt next to it (or give --class-ind) to take each label from its class folder`);
    list = parseUcf101Split(text, kind, classInd, { source, ...(opts.root ? { root: opts.root } : {}), ...(opts.suffix ? { suffix: opts.suffix } : {}), ...(numClasses !== undefined ? { numClasses } : {}) });
    notes.push(`${source} read as ${what}: each label from its class folder through ${classIndPath} (1-based id − 1)`);
    if (opts.labels) {
      // A model whose classes are named otherwise than classInd (another order) would be scored against the wrong class.
      const wrong = [...classInd].find(([name, id]) => opts.labels![id] !== undefined && !/^class_\d+$/.test(opts.labels![id]!) && opts.labels![id]!.toLowerCase() !== name.toLowerCase());
      if (wrong) throw new PPTSNError('invalid-argument', `${classIndPath} names class ${wrong[1] + 1} "${wrong[0]}", but the model's class ${wrong[1]} is "${opts.labels[wrong[1]]}": the model's labels are not UCF101's classInd order; give the model's own lists (--labels) or relabel`);
    }
  } else {
    list = parseList(text, { source, ...(opts.format ? { format: opts.format } : {}), ...(opts.root ? { root: opts.root } : {}), ...(opts.suffix ? { suffix: opts.suffix } : {}), ...(numClasses !== undefined ? { numClasses } : {}) });
  }
  // One look at the first item: a whole list without extensions is better said once, up front.
  const first = list.entries.find((e) => e.item)?.item;
  if (first && list.format === 'videos' && !(await exists(first.path))) {
    const message = await missingFileMessage(first.path);
    if (message.includes('--suffix')) notes.push(`${source} line ${first.line}: ${message}`);
  }
  return { ...list, notes };
}
