/**
 * `pptsn-web classify --json`: JSON Lines, one object per clip on its own line, so a consumer reads each line
 * with one `JSON.parse` and finds the answer at `top[0]` without unwrapping per-clip arrays. A video or a
 * rawframes folder is one clip (one line); a `--tensor` batch `[N, T·C, 3, H, W]` gives N lines, told apart by `clip`.
 */
import type { Prediction } from '../core/classify/scores.js';
import type { ClassifyOutput } from './classifyOutput.js';

/** One line of `classify --json`. */
export interface ClassifyJsonRecord {
  /** The input as given on the command line (video file, rawframes folder or .npy). */
  path: string;
  /** The same as `path` (the field's name in earlier versions, kept for their readers). */
  file: string;
  /** 0-based clip of a `--tensor` batch with N > 1; absent when the input is one clip. */
  clip?: number;
  /** The best classes, best first: `index` (0-based class), `label`, `score` (softmax probability, 0–1). */
  top: Prediction[];
  /** The clip's logits, `[classes]` (no softmax), PaddleVideo's head output for the averaged feature. */
  logits: number[];
  /** The runtime that ran the network (onnx, wasm, cpu). */
  backend: string;
  /** Videos and rawframes: the sampled 0-based frame indices, L (`frameCount`) and the rotation applied (degrees). */
  frameIndices?: number[];
  frameCount?: number;
  rotation?: number;
  /** Videos: which decoder read the file, `ffmpeg.wasm` (in-process) or `ffmpeg` (the system's). */
  decoder?: string;
  /** Videos: the stream read (ffmpeg's index, audio streams counted): the one decord reads, not always the first. */
  stream?: number;
}

/** The records of one input, one per clip. */
export function jsonRecords(path: string, out: ClassifyOutput): ClassifyJsonRecord[] {
  const { logits, top, backend, ...source } = out;
  return logits.map((row, n) => ({
    path,
    file: path,
    ...(logits.length > 1 ? { clip: n } : {}),
    top: top[n] ?? [],
    logits: row,
    backend,
    ...source,
  }));
}

/** `jsonRecords` as JSON Lines (no trailing newline). */
export function formatJsonLines(path: string, out: ClassifyOutput): string {
  return jsonRecords(path, out).map((r) => JSON.stringify(r)).join('\n');
}
