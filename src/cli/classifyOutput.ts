/**
 * What `pptsn-web classify` gives for one input, shared by the text output (classify.ts `formatTop`) and the JSON
 * Lines output (classifyJson.ts): a row of logits and a top list per clip, and where the frames came from.
 */
import type { Prediction } from '../core/classify/scores.js';

/** One class of a CLI result (the library's Prediction). */
export type TopEntry = Prediction;

export interface ClassifyOutput {
  /** `[clips][classes]`: one row per clip (one for a video or rawframes folder, N for a `--tensor` batch). */
  logits: number[][];
  /** The best classes per clip, best first (softmax scores 0–1). */
  top: TopEntry[][];
  /** The runtime that ran the network (onnx, wasm, cpu). */
  backend: string;
  /** Videos and rawframes: the sampled 0-based frame indices. */
  frameIndices?: number[];
  /** Which decoder read a video file: `ffmpeg` (system) or `ffmpeg.wasm` (in-process). */
  decoder?: string;
  /** Which stream of a video file was read (ffmpeg's index; decord's choice, core/frames/streamChoice.ts). */
  stream?: number;
  /** L (frames the video presents, edit list applied) and the clockwise rotation applied (docs/contract.md §4). */
  frameCount?: number;
  rotation?: number;
}
