/**
 * UCF101's own annotation files (docs/contract.md §8), without touching any file system:
 * - `classInd.txt`: `1 ApplyEyeMakeup` … (1-based ids; UCF101 ships it with CRLF line ends);
 * - `trainlist0N.txt`: `Class/v_Class_gXX_cYY.avi <1-based class id>`; `testlist0N.txt`: `Class/v_…avi` only.
 * They are not PaddleVideo lists: read as one, a trainlist's 1-based ids would score every clip against the next
 * class (a silent shift by one), and a testlist has no label at all. Here they are recognised and read with the
 * label taken from the class folder through `classInd.txt`, as PaddleVideo's `data/ucf101/build_ucf101_file_list.py`
 * (`parse_ucf101_splits`, `line2rec`) does, or refused by the caller when no `classInd.txt` is at hand.
 */
import { PPTSNError } from '../errors.js';
import { joinRoot, type ListEntry, type ParsedList } from './lists.js';

export type Ucf101SplitKind = 'trainlist' | 'testlist';

/**
 * `classInd.txt` → class folder name → 0-based label (`{x[1]: int(x[0]) - 1}` in the script). Blank lines are
 * skipped (the script would crash on one); a line that is not `id Name` is an 'invalid-argument' naming it.
 */
export function parseClassInd(text: string, source = 'classInd.txt'): Map<string, number> {
  const map = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/).filter(Boolean);
    if (fields.length === 0) return;
    if (fields.length < 2 || !/^\d+$/.test(fields[0]!)) throw new PPTSNError('invalid-argument', `${source} line ${i + 1}: expected "id ClassName" (UCF101's classInd.txt), found "${raw.trim().slice(0, 80)}"`);
    map.set(fields[1]!, Number(fields[0]) - 1);
  });
  if (map.size === 0) throw new PPTSNError('invalid-argument', `${source} is empty: expected "1 ApplyEyeMakeup" … (UCF101's classInd.txt)`);
  return map;
}

/** A UCF101 video as split files name it: `Class/v_Class_gXX_cYY.avi` (the class part of the name may differ in case). */
const UCF_VIDEO = /^[^\s/\\]+\/v_[^\s/\\]+_g\d+_c\d+\.avi$/i;

/**
 * Whether a list is one of UCF101's split files, and which: by file name (`trainlist01.txt`, `testlist03.txt`),
 * else by content: every line names a UCF101 video (`Class/v_Class_gXX_cYY.avi`) and either has no label
 * (testlist) or has ids that are 1-based, which a PaddleVideo list cannot be told from except by
 * `classInd` (ids equal to classInd's, not one less) or by UCF101's CRLF line ends with no id 0.
 */
export function ucf101SplitKind(fileName: string, text: string, classInd?: Map<string, number>): Ucf101SplitKind | undefined {
  const byName = /^(train|test)list\d+\.txt$/i.exec(fileName.split(/[\\/]/).pop() ?? '');
  if (byName) return byName[1]!.toLowerCase() === 'train' ? 'trainlist' : 'testlist';
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (lines.length === 0) return undefined;
  const rows = lines.map((l) => l.split(/\s+/));
  if (!rows.every((r) => UCF_VIDEO.test(r[0]!) && r.length <= 2 && (r.length === 1 || /^\d+$/.test(r[1]!)))) return undefined;
  if (rows.every((r) => r.length === 1)) return 'testlist';
  if (!rows.every((r) => r.length === 2)) return undefined;
  const ids = rows.map((r) => Number(r[1]));
  if (classInd) {
    const oneBased = rows.every((r, i) => classInd.get(r[0]!.split('/')[0]!) === ids[i]! - 1);
    const zeroBased = rows.every((r, i) => classInd.get(r[0]!.split('/')[0]!) === ids[i]!);
    if (oneBased && !zeroBased) return 'trainlist';
    if (zeroBased) return undefined;
  }
  return text.includes('\r\n') && !ids.includes(0) ? 'trainlist' : undefined;
}

export interface ParseSplitOptions {
  root?: string;
  /** Appended to each path before the root is joined (PaddleVideo's `suffix`; split files already name `.avi`). */
  suffix?: string;
  numClasses?: number;
  source?: string;
}

/**
 * Reads a UCF101 split file as a videos list: each line's label is `classInd[Class]` (0-based), Class being the
 * path's first folder (`line2rec`). A trainlist line whose id is not `classInd[Class] + 1`, or a class missing
 * from `classInd`, is a problem on its line (never a guess).
 */
export function parseUcf101Split(text: string, kind: Ucf101SplitKind, classInd: Map<string, number>, options: ParseSplitOptions = {}): ParsedList {
  const source = options.source ?? kind;
  const entries: ListEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/\s+/);
    const problem = (message: string) => entries.push({ problem: { line, text: trimmed.slice(0, 200), message: `${source} line ${line}: ${message}` } });
    const rel = fields[0]!;
    const cls = rel.split('/')[0]!;
    const label = classInd.get(cls);
    if (label === undefined) return problem(`class folder "${cls}" is not in classInd.txt`);
    if (kind === 'trainlist' && fields[1] !== undefined && Number(fields[1]) !== label + 1) {
      return problem(`class id ${fields[1]} does not match classInd.txt's ${label + 1} for ${cls}`);
    }
    if (options.numClasses !== undefined && label >= options.numClasses) return problem(`label ${label} (${cls}) is out of range: the model has ${options.numClasses} classes`);
    entries.push({ item: { relPath: rel, path: joinRoot(options.root, rel + (options.suffix ?? '')), label, line } });
  });
  if (!entries.some((e) => e.item)) throw new PPTSNError('invalid-argument', `${source} has no usable line${entries[0]?.problem ? ` (${entries[0].problem.message})` : ''}`);
  return { format: 'videos', entries };
}
