/**
 * A teacher given as a file of its logits (docs/contract.md "Distillation"): the JSON Lines that
 * `pptsn-web classify --json` writes (one record per clip: `path`, optional `clip`, `logits`) and that
 * `pptsn-web eval --out` writes (one record per list item: `path` as the list gives it, `logits`, `classes`;
 * failed items carry `error` and no logits). Parsed here, keyed by input path, so a trainer finds the teacher's
 * logits of each clip it trains on without running the teacher. No DOM, no Node: src/node/teacherLogits.ts reads
 * the file.
 */
import { PPTSNError } from '../errors.js';

/** A line that gave no logits (a failed eval item, or the unfinished last line of an interrupted run). */
export interface SkippedTeacherLine {
  /** 1-based line in the file. */
  line: number;
  path: string;
  reason: string;
}

/**
 * Normal form of a path key: repeated `/` collapsed, `./` segments and a trailing `/` dropped, so `./a//b/` and
 * `a/b` name the same clip. Nothing else is resolved (no `..`, no case folding, no root).
 */
export function teacherKey(path: string): string {
  const parts = path.split('/');
  const kept = parts.filter((p, i) => p !== '.' && (p !== '' || i === 0));
  const joined = kept.join('/');
  return joined === '' ? (path.startsWith('/') ? '/' : path) : joined;
}

const keyOf = (path: string, clip: number | undefined) => (clip === undefined ? teacherKey(path) : `${teacherKey(path)}\u0000${clip}`);

/** The teacher's logits of each clip of one file. */
export class TeacherLogits {
  private readonly byKey: Map<string, Float32Array>;

  constructor(
    /** The file they came from (for messages). */
    readonly source: string,
    /** K: logits per clip. */
    readonly numClasses: number,
    entries: Map<string, Float32Array>,
    /** Lines that gave no logits, in file order. */
    readonly skipped: readonly SkippedTeacherLine[],
    /** Class names the records' top lists give (`labelNames[k]`; undefined for a class no record ranked). */
    readonly labelNames: readonly (string | undefined)[],
    /** What produced the records: eval's `run` strings, or `classify (backend)`, each once. */
    readonly producedBy: readonly string[],
  ) {
    this.byKey = entries;
  }

  /** Clips with logits. */
  get size(): number {
    return this.byKey.size;
  }

  /**
   * The logits `[K]` of the clip recorded under `path` (a `--tensor` batch's clip `clip`), or undefined. `path`
   * is compared in `teacherKey`'s normal form: give the path as the list or the command line gave it.
   */
  get(path: string, clip?: number): Float32Array | undefined {
    return this.byKey.get(keyOf(path, clip));
  }

  /** The first of `paths` with logits (e.g. a list's relative path, then the path joined to the root). */
  lookup(paths: readonly string[]): Float32Array | undefined {
    for (const p of paths) {
      const hit = this.get(p);
      if (hit) return hit;
    }
    return undefined;
  }

  /** The paths with logits, in file order (`\u0000clip` appended for a batch's clips). */
  keys(): string[] {
    return [...this.byKey.keys()];
  }
}

/**
 * Parses teacher records from `text` (the content of `source`). `numClasses`, when given, is the class count the
 * logits must have (the student's); otherwise the first record's count is. A later record for the same path
 * replaces an earlier one (as a resumed eval's retry replaces a failure). Throws `PPTSNError('invalid-argument')`
 * naming the file and line for a line that is not JSON (except an unfinished last line, skipped), a record without
 * `path`, a record without logits that is not a failure (e.g. written by an older version), logits that are not
 * finite numbers, or a class count that differs; and when no record has logits.
 */
export function parseTeacherLogits(text: string, source: string, options: { numClasses?: number } = {}): TeacherLogits {
  const lines = text.split('\n');
  const entries = new Map<string, Float32Array>();
  const skipped: SkippedTeacherLine[] = [];
  const labelNames: (string | undefined)[] = [];
  const producedBy = new Set<string>();
  let numClasses = options.numClasses;
  let countFrom = numClasses !== undefined ? `the student has ${numClasses} classes` : '';
  const bad = (line: number, why: string): never => {
    throw new PPTSNError('invalid-argument', `${source} line ${line}: ${why}`);
  };
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (!trimmed) return;
    let r: unknown;
    try {
      r = JSON.parse(trimmed);
    } catch {
      if (i === lines.length - 1) {
        skipped.push({ line, path: '', reason: 'unfinished last line (an interrupted run)' });
        return;
      }
      bad(line, 'is not JSON: give the JSON Lines that classify --json or eval --out write');
    }
    if (typeof r !== 'object' || r === null || Array.isArray(r)) bad(line, 'is not a classify --json or eval --out record (a JSON object)');
    const rec = r as Record<string, unknown>;
    const path = typeof rec['path'] === 'string' ? rec['path'] : typeof rec['file'] === 'string' ? rec['file'] : undefined;
    if (path === undefined) bad(line, 'has no "path": is this a classify --json or eval --out file?');
    if (rec['error'] !== undefined && rec['logits'] === undefined) {
      const e = rec['error'] as { message?: unknown };
      skipped.push({ line, path: path!, reason: typeof e?.message === 'string' ? e.message : 'failed' });
      return;
    }
    const logits = rec['logits'];
    if (logits === undefined) bad(line, `(${path}) has no "logits": it was written by a pptsn-web that did not record them; write it again with classify --json, or with eval into a new --out`);
    if (!Array.isArray(logits) || logits.length === 0 || !logits.every((v) => typeof v === 'number' && Number.isFinite(v))) bad(line, `(${path}) "logits" is not a list of finite numbers`);
    const k = (logits as number[]).length;
    if (typeof rec['classes'] === 'number' && rec['classes'] !== k) bad(line, `(${path}) has ${k} logits but says "classes": ${rec['classes']}`);
    if (numClasses === undefined) {
      numClasses = k;
      countFrom = `line ${line} has ${k}`;
    } else if (k !== numClasses) {
      bad(line, `(${path}) has ${k} logits but ${countFrom}: the teacher and the student must have the same classes`);
    }
    const clip = rec['clip'];
    if (clip !== undefined && !(Number.isInteger(clip) && (clip as number) >= 0)) bad(line, `(${path}) "clip" is not a clip number`);
    entries.set(keyOf(path!, clip as number | undefined), Float32Array.from(logits as number[]));
    if (Array.isArray(rec['top'])) {
      for (const t of rec['top'] as { index?: unknown; label?: unknown }[]) {
        if (Number.isInteger(t?.index) && typeof t.label === 'string' && (t.index as number) < k) labelNames[t.index as number] ??= t.label;
      }
    }
    producedBy.add(typeof rec['run'] === 'string' ? rec['run'] : `classify (${typeof rec['backend'] === 'string' ? rec['backend'] : 'unknown backend'})`);
  });
  if (!entries.size) {
    throw new PPTSNError('invalid-argument', `${source} holds no teacher logits${skipped.length ? ` (${skipped.length} failed item(s), e.g. line ${skipped[0]!.line})` : ''}: give the JSON Lines that classify --json or eval --out write`);
  }
  const k = numClasses!;
  return new TeacherLogits(source, k, entries, skipped, Array.from({ length: k }, (_, i) => labelNames[i]), [...producedBy]);
}
