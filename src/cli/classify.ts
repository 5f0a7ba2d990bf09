/**
 * `pptsn-web classify --tensor <x.npy> -m <dir>` runs the network on an input exactly as PaddleVideo feeds it;
 * `pptsn-web classify <video> -m <dir>` decodes with the system's ffmpeg (BT.601, like decord) and runs the same
 * core sampling and preprocessing as the browser.
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../core/errors.js';
import { softmax, topK, type Prediction } from '../core/classify/scores.js';
import { defaultLabels } from '../core/labels.js';
import { decodeNpy, encodeNpy } from '../core/npy.js';
import { preprocessFrames, toPaddleLayout } from '../core/preprocess/pipeline.js';
import type { PreprocessOptions } from '../core/preprocess/presets.js';
import { readClip } from '../node/ffmpeg.js';
import { writeFileAtomic } from '../node/files.js';
import { createNodeRunner, type NodeRunnerChoice } from '../node/runtime.js';
import { progressLine, wantProgress } from './progress.js';

export interface CliClassifyOptions {
  modelDir: string;
  tensor?: string;
  video?: string;
  /** `auto` (default): onnxruntime-node when installed, else tfjs wasm; see src/node/runtime.ts. */
  backend?: NodeRunnerChoice;
  topK?: number;
  preset?: 'accurate' | 'fast';
  segments?: number;
  dumpInput?: string;
  /** false: direct 3×3 convolutions on wasm instead of Winograd (the Recognizer's default). */
  winograd?: boolean;
  /** Progress on stderr for calls over ~2 s (default: when stderr is a terminal or PPTSN_PROGRESS=1). */
  progress?: boolean;
  /** Where the notes go (which runtime runs, why a faster one was skipped); default stderr. */
  log?: (line: string) => void;
}

/** One class of a CLI result (the library's Prediction). */
export type TopEntry = Prediction;

export interface ClassifyOutput {
  logits: number[][];
  top: TopEntry[][];
  /** The runtime that ran the network (onnx, wasm, cpu). */
  backend: string;
  frameIndices?: number[];
  /** L (frames the video presents, edit list applied) and the clockwise rotation applied (docs/contract.md §4). */
  frameCount?: number;
  rotation?: number;
}

async function readTensor(path: string): Promise<{ shape: number[]; data: Float32Array }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return decodeNpy(bytes);
  } catch (e) {
    throw new PPTSNError('invalid-argument', `${path}: ${(e as Error).message}`);
  }
}

export async function classify(options: CliClassifyOptions): Promise<ClassifyOutput> {
  if (!options.tensor === !options.video) throw new PPTSNError('invalid-argument', 'give either a video file or --tensor <x.npy>');
  const k = options.topK ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new PPTSNError('invalid-argument', `--top-k must be a positive integer, got ${String(options.topK)}`);
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const runner = await createNodeRunner(options.modelDir, options.backend ?? 'auto', options.winograd !== undefined ? { winograd: options.winograd } : {});
  // Said once the input has been read, so a bad input still fails with one line.
  const announce = () => {
    for (const note of runner.notes) log(`pptsn-web: ${note}`);
    log(`pptsn-web: running on ${runner.description}`);
  };
  const loaded = runner.model;
  const labels = loaded.labels.length ? loaded.labels : defaultLabels(loaded.numClasses);
  try {
    let logits: tf.Tensor2D;
    let frameIndices: number[] | undefined;
    let source: { frameCount: number; rotation: number } | undefined;
    if (options.tensor) {
      const x = await readTensor(options.tensor);
      if (!((x.shape.length === 5 || x.shape.length === 4) && x.shape[x.shape.length - 3] === 3)) {
        throw new PPTSNError('invalid-argument', `${options.tensor}: expected shape [N, T·C, 3, H, W] or [T·C, 3, H, W], found [${x.shape.join(', ')}]`);
      }
      const input = tf.tensor(x.data, x.shape);
      announce();
      const line = wantProgress(options.progress) ? progressLine(labels) : undefined;
      try {
        logits = await runner.predict(input, line ? { onChunk: (p) => line.onChunk(p) } : {});
      } finally {
        line?.done();
        input.dispose();
      }
    } else {
      const preprocess: PreprocessOptions = { preset: options.preset ?? (loaded.meta.preset === 'fast' ? 'fast' : 'accurate'), ...(options.segments ? { segments: options.segments } : {}) };
      const clip = await readClip(options.video!, preprocess);
      frameIndices = clip.indices;
      source = { frameCount: clip.info.frameCount, rotation: clip.info.rotation };
      if (options.dumpInput) {
        const pre = preprocessFrames(clip.frames, clip.config);
        const paddle = toPaddleLayout(pre.input);
        pre.input.dispose();
        try {
          await writeFileAtomic(options.dumpInput, encodeNpy((await paddle.data()) as Float32Array, paddle.shape));
        } finally {
          paddle.dispose();
        }
      }
      announce();
      const line = wantProgress(options.progress) ? progressLine(labels) : undefined;
      try {
        const run = await runner.clipLogits(clip.frames, clip.config, line ? { onChunk: (p) => line.onChunk(p), runningLogits: true } : {});
        logits = tf.tensor2d(run.logits, [1, run.logits.length]);
      } finally {
        line?.done();
      }
    }
    const rows = (await logits.array()) as number[][];
    logits.dispose();
    return { logits: rows, top: rows.map((r) => topK(softmax(r), labels, k)), backend: runner.backend, ...(frameIndices ? { frameIndices } : {}), ...(source ?? {}) };
  } finally {
    await runner.dispose();
  }
}

/** The human-readable form: one block per clip, a line per class. */
export function formatTop(out: ClassifyOutput): string {
  return out.top
    .map((rows, n) => [
      ...(out.top.length > 1 ? [`clip ${n}:`] : []),
      ...rows.map((r) => `${(r.score * 100).toFixed(2).padStart(6)}%  ${String(r.index).padStart(4)}  ${r.label}`),
    ].join('\n'))
    .join('\n') + `\n(backend: ${out.backend}${out.frameIndices ? `, frames ${out.frameIndices.join(' ')}` : ''}` +
    `${out.frameCount !== undefined ? ` of ${out.frameCount}` : ''}${out.rotation ? `, rotated ${out.rotation}°` : ''})`;
}
