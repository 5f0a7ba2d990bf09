/**
 * Evaluation over list entries in Node: decode the next items while the network runs the current one (a small
 * prefetch queue, src/node/frames.ts `ReadAhead`: ffmpeg.wasm decodes in its worker thread, or the system ffmpeg in its own process, so the decode of
 * item i+1 … i+K overlaps item i's inference, which runs on onnxruntime's threads),
 * classify each clip with the shared tail (`core/classify/clip.ts` + `scores.ts`), and hand back one
 * `EvalRecord` per entry. A failure (missing file, decode error) becomes a record with `error`; the run goes on.
 */
import { access } from 'node:fs/promises';
import { clipLogits, type ClipNetwork } from '../core/classify/clip.js';
import { softmax, topK } from '../core/classify/scores.js';
import type { ListEntry } from '../core/dataset/lists.js';
import { isPPTSNError, PPTSNError } from '../core/errors.js';
import type { EvalRecord } from '../core/eval/metrics.js';
import type { FramePixels } from '../core/frames/pixels.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';
import { missingFileMessage } from './datasetList.js';
import { ReadAhead, readFrames, type DecoderChoice } from './frames.js';

/** One entry to evaluate and its 0-based position in the whole list. */
export interface EvalJob {
  position: number;
  entry: ListEntry;
}

export interface EvaluateOptions {
  config: PreprocessConfig;
  labels: readonly string[];
  /** Images per backbone call. */
  chunkSize: number;
  /** Items decoded ahead of those being classified (default 2; 0 = no overlap). */
  prefetch?: number;
  /**
   * Items classified at once (default 1): the runner's `lanes` (src/node/runtime.ts), so each backbone session has
   * a clip to work on. Records still come out, and `onRecord` is still called, in job order.
   */
  lanes?: number;
  /** Who decodes videos (src/node/frames.ts `DecoderChoice`, default 'auto'). */
  decoder?: DecoderChoice;
  /** Called with each record as soon as it is known (written to `--out` by the CLI). */
  onRecord?: (record: EvalRecord, timing: ItemTiming) => void | Promise<void>;
  signal?: AbortSignal;
}

/** Where one item's time went, in milliseconds. */
export interface ItemTiming {
  /** Wall time from the start of its decode to its frames being ready (overlaps earlier items' inference). */
  decodeMs: number;
  /** Time the classifier waited for this item's frames (the part of decoding not hidden by the prefetch). */
  waitMs: number;
  /** Preprocessing + network + head. */
  inferMs: number;
}

type Loaded = { frames: FramePixels[]; decodeMs: number } | { error: EvalRecord['error']; decodeMs: number };

/** Number of best classes kept per record: top-5 needs five. */
export const RECORD_TOP_K = 5;

async function load(job: EvalJob, config: PreprocessConfig, format: 'videos' | 'rawframes', decoder: DecoderChoice, signal?: AbortSignal): Promise<Loaded> {
  const t0 = performance.now();
  const item = job.entry.item!;
  try {
    try {
      await access(item.path);
    } catch {
      throw new PPTSNError('invalid-argument', await missingFileMessage(item.path));
    }
    const clip = await readFrames(item.path, config, {
      format,
      ...(item.numFrames !== undefined ? { numFrames: item.numFrames } : {}),
      spool: true,
      decoder,
      ...(signal ? { signal } : {}),
    });
    return { frames: clip.frames, decodeMs: performance.now() - t0 };
  } catch (e) {
    const code = isPPTSNError(e) ? e.code : 'internal';
    const message = e instanceof Error ? e.message : String(e);
    return { error: { code, message: `line ${item.line}: ${message}` }, decodeMs: performance.now() - t0 };
  }
}

function baseRecord(job: EvalJob, labels: readonly string[]): Omit<EvalRecord, 'top' | 'logits' | 'error'> {
  const { entry, position } = job;
  return entry.item
    ? { position, line: entry.item.line, path: entry.item.relPath, label: entry.item.label, labelName: labels[entry.item.label] ?? `class_${entry.item.label}`, classes: labels.length }
    : { position, line: entry.problem.line, path: entry.problem.text, label: -1 };
}

/**
 * Classifies `jobs`, `lanes` at a time, with `prefetch` more items decoding ahead. Returns the records in job order
 * and calls `onRecord` in job order (a record that finishes early waits for those before it).
 * Aborting (`signal`) stops after the items in progress with PPTSNError('aborted'); an 'out-of-memory' or
 * 'backend-unavailable' error stops the run likewise (every other failure is the item's record).
 */
export async function evaluateJobs(model: ClipNetwork, jobs: readonly EvalJob[], format: 'videos' | 'rawframes', options: EvaluateOptions): Promise<EvalRecord[]> {
  const depth = Math.max(0, Math.floor(options.prefetch ?? 2));
  const lanes = Math.max(1, Math.floor(options.lanes ?? 1));
  // By position; an entry without an item (a bad list line) has nothing to read.
  const ahead = new ReadAhead(async (i: number): Promise<Loaded | null> => {
    const job = jobs[i]!;
    return job.entry.item ? load(job, options.config, format, options.decoder ?? 'auto', options.signal) : null;
  });
  let started = 0;
  // Items i … i+lanes−1 may be in the network; i+lanes … i+lanes−1+depth decode meanwhile (ffmpeg.wasm's thread or
  // the system ffmpeg's process).
  const startDecodes = (upTo: number) => {
    for (; started < jobs.length && started <= upTo; started++) ahead.start(started);
  };
  const done: ({ record: EvalRecord; timing: ItemTiming } | undefined)[] = [];
  const records: EvalRecord[] = [];
  let flushing = Promise.resolve();
  const flush = () => {
    flushing = flushing.then(async () => {
      // After an abort nothing more is reported, even records already computed (the lanes may have finished them
      // while an earlier, slower item was still in the network).
      while (records.length < jobs.length && done[records.length] && !options.signal?.aborted) {
        const { record, timing } = done[records.length]!;
        done[records.length] = undefined;
        records.push(record);
        await options.onRecord?.(record, timing);
      }
    });
    return flushing;
  };
  let nextItem = 0;
  let stop: unknown = null;
  const classifyOne = async (i: number): Promise<void> => {
    const job = jobs[i]!;
    const base = baseRecord(job, options.labels);
    const tw = performance.now();
    const loaded = await ahead.take(i); // handed over once: the frames go once used
    const waitMs = performance.now() - tw;
    let record: EvalRecord;
    let inferMs = 0;
    if (!loaded) {
      record = { ...base, error: { code: 'invalid-argument', message: job.entry.problem!.message } };
    } else if ('error' in loaded) {
      record = { ...base, error: loaded.error };
    } else {
      const t0 = performance.now();
      try {
        const run = await clipLogits(model, loaded.frames, options.config, { chunkSize: options.chunkSize });
        record = { ...base, top: topK(softmax(run.logits), options.labels, RECORD_TOP_K), logits: Array.from(run.logits) };
      } catch (e) {
        if (isPPTSNError(e) && (e.code === 'aborted' || e.code === 'out-of-memory' || e.code === 'backend-unavailable')) throw e;
        record = { ...base, error: { code: isPPTSNError(e) ? e.code : 'internal', message: `line ${base.line}: ${e instanceof Error ? e.message : String(e)}` } };
      }
      inferMs = performance.now() - t0;
    }
    done[i] = { record, timing: { decodeMs: loaded?.decodeMs ?? 0, waitMs, inferMs } };
    await flush();
  };
  const lane = async (): Promise<void> => {
    while (stop === null && nextItem < jobs.length) {
      if (options.signal?.aborted) throw new PPTSNError('aborted', 'evaluation was aborted');
      const i = nextItem++;
      startDecodes(i + lanes - 1 + depth);
      await classifyOne(i);
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(lanes, Math.max(1, jobs.length)) }, () => lane().catch((e: unknown) => {
    stop ??= e;
    throw e;
  })));
  await flushing;
  if (stop !== null || results.some((r) => r.status === 'rejected')) throw stop;
  // An abort that came in the last records' reports (no lane was left to see it) still ends the call as aborted.
  if (options.signal?.aborted) throw new PPTSNError('aborted', 'evaluation was aborted');
  return records;
}
