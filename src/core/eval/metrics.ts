/**
 * Evaluation metrics as PaddleVideo reports them (`paddlevideo/metrics/center_crop_metric.py` for valid,
 * `multi_crop_metric.py` for test): for each video, whether its label is the best class (top-1) / among the five
 * best (top-5) of the clip's averaged scores; the mean over videos. Multi-GPU evaluation splits the list across
 * ranks and all-reduces the sums; here shards write per-item records and `mergeRecords` + `summarize` add them up,
 * so any split gives the same summary. Also: per-class accuracy, a confusion matrix, and the failed items.
 */
import type { Prediction } from '../classify/scores.js';
import { PPTSNError } from '../errors.js';

/** One evaluated list entry: one JSON line of `eval --out`. */
export interface EvalRecord {
  /** 0-based position of the entry in the list (what `--shard` splits on and what resuming matches). */
  position: number;
  /** 1-based line in the list file. */
  line: number;
  /** The path as the list gives it (before the root is joined). */
  path: string;
  /** True class id (0-based); -1 when the line could not be parsed. */
  label: number;
  /** The true class's name and the model's class count, so `--merge` can report without the model. */
  labelName?: string;
  classes?: number;
  /** Best classes, best first (five, or all classes when fewer), with softmax scores 0–1. Absent on failure. */
  top?: Prediction[];
  /**
   * The clip's logits, `[classes]` (no softmax), as `classify --json` gives them: what makes an `eval --out` file a
   * teacher for distillation (src/core/train/teacherLogits.ts). Absent on failure and in records of versions
   * before it was recorded.
   */
  logits?: number[];
  /** Why the item could not be classified (a malformed line, a missing file, a decode error). */
  error?: { code: string; message: string };
  /**
   * What produced the record: preprocessing and model, e.g. `fast T=8 center keep-ratio, model 3f2a…`. Resuming and
   * merging refuse records of another run, so results of two presets or two models never mix.
   */
  run?: string;
}

/** Throws when `records` (from `source`) were made by a run other than `run`; records without `run` are accepted. */
export function checkSameRun(records: readonly EvalRecord[], run: string, source: string, advice: string): void {
  const other = records.find((r) => r.run !== undefined && r.run !== run);
  if (other) throw new PPTSNError('invalid-argument', `${source} holds results of another run (${other.run}), not of this one (${run}): ${advice}`);
}

export interface ClassAccuracy {
  index: number;
  label: string;
  /** Items of this class that were classified. */
  count: number;
  /** Of those, how many had it as the best class. */
  correct: number;
  /** correct / count (0–1), or null when the class has no item. */
  top1: number | null;
}

export interface EvalSummary {
  /** Items classified (failed ones excluded). */
  count: number;
  /** Mean over classified items of [label is the best class], 0–1 (0 when count is 0). */
  top1: number;
  /** Mean over classified items of [label is among the five best], 0–1. */
  top5: number;
  /** Items that could not be classified. */
  failed: number;
  /** One entry per class, in class order. */
  perClass: ClassAccuracy[];
  /** confusion[true][predicted] = items; `numClasses × numClasses`. */
  confusion: number[][];
  /** The failed items, in list order. */
  failures: { position: number; line: number; path: string; message: string }[];
}

/** The `--json` line of `eval`: the summary without the matrix and the failure list. */
export function summaryLine(s: EvalSummary): { count: number; top1: number; top5: number; perClass: ClassAccuracy[]; failed: number } {
  return { count: s.count, top1: s.top1, top5: s.top5, perClass: s.perClass, failed: s.failed };
}

/**
 * Combines the records of several runs (shards, resumed runs) into one per position. A later record replaces
 * an earlier one for the same position, except that a failure never replaces a success. Sorted by position.
 */
export function mergeRecords(runs: Iterable<Iterable<EvalRecord>>): EvalRecord[] {
  const byPosition = new Map<number, EvalRecord>();
  for (const run of runs) {
    for (const r of run) {
      const prev = byPosition.get(r.position);
      if (prev && !prev.error && r.error) continue;
      byPosition.set(r.position, r);
    }
  }
  return [...byPosition.values()].sort((a, b) => a.position - b.position);
}

/**
 * PaddleVideo's top-1/top-5 (mean over items), per-class accuracy and the confusion matrix of `records`
 * (one per item, e.g. from `mergeRecords`). `labels` names the classes (its length is the class count).
 * Throws `PPTSNError('invalid-argument')` for a record whose label or prediction is outside the classes.
 */
export function summarize(records: readonly EvalRecord[], labels: readonly string[]): EvalSummary {
  const n = labels.length;
  const confusion = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const perCount = new Array<number>(n).fill(0);
  const perCorrect = new Array<number>(n).fill(0);
  let count = 0;
  let top1 = 0;
  let top5 = 0;
  const failures: EvalSummary['failures'] = [];
  for (const r of records) {
    if (r.error || !r.top || r.top.length === 0) {
      failures.push({ position: r.position, line: r.line, path: r.path, message: r.error?.message ?? 'no prediction' });
      continue;
    }
    const best = r.top[0]!.index;
    if (!(r.label >= 0 && r.label < n) || !(best >= 0 && best < n)) {
      throw new PPTSNError('invalid-argument', `record for ${r.path} (line ${r.line}) has label ${r.label} / prediction ${best}, but the model has ${n} classes: were these results made with another model?`);
    }
    count++;
    perCount[r.label]!++;
    confusion[r.label]![best]!++;
    if (best === r.label) {
      top1++;
      perCorrect[r.label]!++;
    }
    if (r.top.slice(0, 5).some((p) => p.index === r.label)) top5++;
  }
  return {
    count,
    top1: count ? top1 / count : 0,
    top5: count ? top5 / count : 0,
    failed: failures.length,
    perClass: labels.map((label, index) => ({ index, label, count: perCount[index]!, correct: perCorrect[index]!, top1: perCount[index] ? perCorrect[index]! / perCount[index]! : null })),
    confusion,
    failures,
  };
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The confusion matrix as CSV: a header of predicted class names, then one row per true class (name first). */
export function confusionCsv(summary: Pick<EvalSummary, 'confusion'>, labels: readonly string[]): string {
  const header = ['true \\ predicted', ...labels].map(csvField).join(',');
  const rows = summary.confusion.map((row, i) => [csvField(labels[i] ?? `class_${i}`), ...row.map(String)].join(','));
  return [header, ...rows].join('\n') + '\n';
}

/**
 * Reads the records of a JSON-lines file. A torn last line (a run killed mid-write) is ignored so the run can
 * resume; any other bad line is a `PPTSNError('invalid-argument')` naming the file and line.
 */
export function parseRecords(text: string, source = 'results'): EvalRecord[] {
  const lines = text.split('\n');
  const out: EvalRecord[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      if (i === lines.length - 1) return; // the unfinished last write of an interrupted run
      throw new PPTSNError('invalid-argument', `${source} line ${i + 1} is not JSON: is this an eval --out file?`);
    }
    const rec = r as Partial<EvalRecord>;
    if (typeof rec !== 'object' || rec === null || !Number.isInteger(rec.position) || typeof rec.path !== 'string' || !Number.isInteger(rec.label) || !(Array.isArray(rec.top) || typeof rec.error === 'object')) {
      throw new PPTSNError('invalid-argument', `${source} line ${i + 1} is not an eval record (position, path, label, top or error)`);
    }
    out.push(rec as EvalRecord);
  });
  return out;
}
