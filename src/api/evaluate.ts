/**
 * `model.evaluate(items, { onProgress, signal })`: PaddleVideo's evaluation step in the page, giving the same
 * summary as `pptsn-web eval` (`core/eval/metrics.ts`: top-1/top-5 mean over items, per class, confusion matrix,
 * failures). Items are classified one after another on the model's worker; while the network runs item i, item
 * i+1's source is already being prepared (rawframes decoded, a `<video>` read) by issuing its call early: the
 * worker queues calls, so preparation overlaps inference without holding more than two clips.
 */
import { isPPTSNError, PPTSNError } from '../core/errors.js';
import { summarize, type EvalRecord, type EvalSummary } from '../core/eval/metrics.js';
import type { ClassifyOptions, ClassifyResult, VideoSource } from './types.js';
import { isRawframesSource, rawframesOrigin } from './rawframes.js';
import { isVideoElement, quotedUrl } from '../video/util.js';

/** One labelled clip. `label` is a class index or a class name of the model. */
export interface EvaluateItem {
  source: VideoSource;
  label: number | string;
  /** Shown in failures (default: the File's name, the URL, or `item i`). */
  name?: string;
}

export interface EvaluateOptions extends Omit<ClassifyOptions, 'signal' | 'topK' | 'onProgress'> {
  /** After each item: items done, total, and the record of the one just finished. */
  onProgress?: (progress: { done: number; total: number; record: EvalRecord }) => void;
  signal?: AbortSignal;
}

function nameOf(item: EvaluateItem, i: number): string {
  if (item.name) return item.name;
  const s = item.source as unknown;
  if (typeof s === 'string') return quotedUrl(s);
  if (s instanceof URL) return s.href;
  if (typeof File !== 'undefined' && s instanceof File) return s.name;
  // A failure list of "item 3"s says little: a <video> by its src, a rawframes folder by its name.
  if (isVideoElement(s) && (s.currentSrc || s.src)) return quotedUrl(s.currentSrc || s.src);
  if (isRawframesSource(s)) {
    const folder = rawframesOrigin(s);
    return folder === 'rawframes' ? `item ${i} (rawframes)` : folder;
  }
  return `item ${i}`;
}

/**
 * Runs `classify` over `items` and summarises. Rejects with 'invalid-argument' for a label that is not a class
 * of the model (before anything runs) and with 'aborted' when `signal` fires; any other failure of an item is
 * recorded and the run goes on.
 */
export async function evaluateSources(
  classify: (source: VideoSource, options: ClassifyOptions) => Promise<ClassifyResult>,
  labels: readonly string[],
  items: readonly EvaluateItem[],
  options: EvaluateOptions = {},
): Promise<EvalSummary> {
  if (!Array.isArray(items)) throw new PPTSNError('invalid-argument', 'evaluate takes an array of { source, label }');
  const labelIndex = items.map((it, i) => {
    const l = it?.label;
    const index = typeof l === 'number' ? l : labels.indexOf(String(l));
    if (!Number.isInteger(index) || index < 0 || index >= labels.length) {
      throw new PPTSNError('invalid-argument', `item ${i} (${nameOf(it, i)}): label ${JSON.stringify(l)} is not a class of this model (${labels.length} classes)`);
    }
    return index;
  });
  const { onProgress, signal, ...classifyOptions } = options;
  const records: EvalRecord[] = [];
  const start = (i: number) => classify(items[i]!.source, { ...classifyOptions, topK: 5, ...(signal ? { signal } : {}) }).then(
    (r) => ({ ok: r }),
    (e: unknown) => ({ error: e }),
  );
  if (items.length === 0) return summarize([], labels);
  let next = start(0);
  for (let i = 0; i < items.length; i++) {
    const current = next;
    if (i + 1 < items.length) next = start(i + 1);
    const r = await current;
    if (signal?.aborted) {
      void next.catch(() => undefined);
      throw new PPTSNError('aborted', 'evaluation was aborted');
    }
    const base = { position: i, line: i + 1, path: nameOf(items[i]!, i), label: labelIndex[i]!, labelName: labels[labelIndex[i]!]!, classes: labels.length };
    let record: EvalRecord;
    if ('ok' in r) record = { ...base, top: r.ok.top.map((p) => ({ index: p.index, label: p.label, score: p.score })) };
    else {
      const e = r.error;
      if (isPPTSNError(e) && e.code === 'aborted') throw e;
      record = { ...base, error: { code: isPPTSNError(e) ? e.code : 'internal', message: e instanceof Error ? e.message : String(e) } };
    }
    records.push(record);
    onProgress?.({ done: i + 1, total: items.length, record });
  }
  return summarize(records, labels);
}
