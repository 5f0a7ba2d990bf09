/**
 * `pptsn-web classify --tensor <x.npy> -m <dir>` runs the network on an input exactly as PaddleVideo feeds it;
 * `pptsn-web classify <video> -m <dir>` decodes with the system's ffmpeg (BT.601, like decord) and runs the same
 * core sampling and preprocessing as the browser.
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../core/errors.js';
import { clipLogits } from '../core/classify/clip.js';
import { softmax, topK, type Prediction } from '../core/classify/scores.js';
import { defaultLabels } from '../core/labels.js';
import { Recognizer } from '../core/model/recognizer.js';
import { decodeNpy, encodeNpy } from '../core/npy.js';
import { preprocessFrames, toPaddleLayout } from '../core/preprocess/pipeline.js';
import type { PreprocessOptions } from '../core/preprocess/presets.js';
import { initNodeBackend, type NodeBackendName } from '../node/backends.js';
import { readClip } from '../node/ffmpeg.js';
import { writeFileAtomic } from '../node/files.js';
import { readModelDir } from '../node/modelDir.js';
import { basename } from 'node:path';
import { isPPTSNError } from '../core/errors.js';
import { oneOf, positiveInt, str, unitInterval, usage, type Command } from './command.js';
import { countUnit, progressMeter, type ProgressFn } from './progress.js';

export interface ClassifyOptions {
  modelDir: string;
  tensor?: string;
  video?: string;
  backend?: NodeBackendName;
  topK?: number;
  /** Leave classes below this probability (0–1) out of `top`. */
  scoreThreshold?: number;
  preset?: 'accurate' | 'fast';
  segments?: number;
  dumpInput?: string;
  /** false: direct 3×3 convolutions on wasm instead of Winograd (the Recognizer's default). */
  winograd?: boolean;
  /** Images through the backbone so far, of T·C (video inputs, after each chunk). */
  onProgress?: ProgressFn;
}

/** One class of a CLI result (the library's Prediction). */
export type TopEntry = Prediction;

export interface ClassifyOutput {
  logits: number[][];
  top: TopEntry[][];
  backend: string;
  frameIndices?: number[];
}

/** Images per backbone call in Node: bounds peak memory (the accurate preset has 250 images). */
const NODE_CHUNK = 10;

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

/** A model loaded once for any number of inputs (`classify a.mp4 b.mp4 …`). Call `dispose()` when done. */
export interface LoadedClassifier {
  backend: string;
  run(input: { tensor: string } | { video: string }, options?: Pick<ClassifyOptions, 'dumpInput' | 'onProgress'>): Promise<ClassifyOutput>;
  dispose(): void;
}

export async function loadClassifier(options: Omit<ClassifyOptions, 'tensor' | 'video' | 'dumpInput' | 'onProgress'>): Promise<LoadedClassifier> {
  const k = options.topK ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new PPTSNError('invalid-argument', `--top-k must be a positive integer, got ${String(options.topK)}`);
  const backend = await initNodeBackend(options.backend ?? 'wasm');
  const loaded = await readModelDir(options.modelDir);
  const labels = loaded.labels.length ? loaded.labels : defaultLabels(loaded.numClasses);
  const model = Recognizer.fromStateDict(loaded.stateDict, { depth: loaded.depth, numClasses: loaded.numClasses, ...(options.winograd !== undefined ? { winograd: options.winograd } : {}) });
  const top = (rows: number[][]) => rows.map((r) => topK(softmax(r), labels, k, { scoreThreshold: options.scoreThreshold ?? 0 }));
  const preprocess: PreprocessOptions = { preset: options.preset ?? (loaded.meta.preset === 'fast' ? 'fast' : 'accurate'), ...(options.segments ? { segments: options.segments } : {}) };

  async function runTensor(path: string): Promise<ClassifyOutput> {
    const x = await readTensor(path);
    if (!((x.shape.length === 5 || x.shape.length === 4) && x.shape[x.shape.length - 3] === 3)) {
      throw new PPTSNError('invalid-argument', `${path}: expected shape [N, T·C, 3, H, W] or [T·C, 3, H, W], found [${x.shape.join(', ')}]`);
    }
    const input = tf.tensor(x.data, x.shape);
    let logits: tf.Tensor2D;
    try {
      logits = model.predict(input, { batchSize: NODE_CHUNK });
    } finally {
      input.dispose();
    }
    const rows = (await logits.array()) as number[][];
    logits.dispose();
    return { logits: rows, top: top(rows), backend };
  }

  async function runVideo(path: string, run: Pick<ClassifyOptions, 'dumpInput' | 'onProgress'>): Promise<ClassifyOutput> {
    const clip = await readClip(path, preprocess);
    if (run.dumpInput) {
      const pre = preprocessFrames(clip.frames, clip.config);
      const paddle = toPaddleLayout(pre.input);
      pre.input.dispose();
      try {
        await writeFileAtomic(run.dumpInput, encodeNpy((await paddle.data()) as Float32Array, paddle.shape));
      } finally {
        paddle.dispose();
      }
    }
    const onProgress = run.onProgress;
    const result = await clipLogits(model, clip.frames, clip.config, { chunkSize: NODE_CHUNK, ...(onProgress ? { onChunk: (p) => onProgress(p.done, p.total) } : {}) });
    const rows = [Array.from(result.logits)];
    return { logits: rows, top: top(rows), backend, frameIndices: clip.indices };
  }

  return {
    backend,
    run: (input, run = {}) => ('tensor' in input ? runTensor(input.tensor) : runVideo(input.video, run)),
    dispose: () => model.dispose(),
  };
}

/** Classifies one video or one `.npy` tensor (loads the model, runs, frees it). */
export async function classify(options: ClassifyOptions): Promise<ClassifyOutput> {
  if (!options.tensor === !options.video) throw new PPTSNError('invalid-argument', 'give either a video file or --tensor <x.npy>');
  const classifier = await loadClassifier(options);
  try {
    return await classifier.run(options.tensor ? { tensor: options.tensor } : { video: options.video! }, {
      ...(options.dumpInput ? { dumpInput: options.dumpInput } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } finally {
    classifier.dispose();
  }
}

/** The human-readable form: one block per clip, a line per class. */
export function formatTop(out: ClassifyOutput): string {
  return out.top
    .map((rows, n) => [
      ...(out.top.length > 1 ? [`clip ${n}:`] : []),
      ...rows.map((r) => `${(r.score * 100).toFixed(2).padStart(6)}%  ${String(r.index).padStart(4)}  ${r.label}`),
    ].join('\n'))
    .join('\n') + `\n(backend: ${out.backend}${out.frameIndices ? `, frames ${out.frameIndices.join(' ')}` : ''})`;
}

export const classifyCommand: Command = {
  name: 'classify',
  summary: 'classify videos (system ffmpeg) or a PaddleVideo input tensor',
  usage: [
    'classify <video>… -m <dir> [--preset accurate|fast] [--segments T] [--top-k K] [--min-score P] [--json] [--dump-input x.npy] [--backend wasm|cpu] [--no-winograd] [--progress]',
    'classify --tensor <x.npy> -m <dir> [--top-k K] [--min-score P] [--json] [--backend wasm|cpu] [--no-winograd]',
  ],
  details: `Several videos share one loaded model; --json prints one JSON line per video ({"file", "logits", "top",
"backend", "frameIndices"}). A video that fails prints one line on stderr and the others still run (exit 1).
The default backend is wasm; cpu is the fallback. On wasm the 3×3 convolutions of res3–res5 run as Winograd
F(2×2, 3×3) (~1e-6 relative rounding differences); --no-winograd runs them directly.`,
  options: {
    model: { type: 'string', short: 'm' },
    tensor: { type: 'string' },
    backend: { type: 'string' },
    'top-k': { type: 'string' },
    'min-score': { type: 'string' },
    json: { type: 'boolean' },
    preset: { type: 'string' },
    segments: { type: 'string' },
    'dump-input': { type: 'string' },
    'no-winograd': { type: 'boolean' },
  },
  progress: true,
  async run({ values, positionals }, { progress }) {
    const modelDir = str(values.model) ?? usage('classify needs -m <model dir>');
    const tensor = str(values.tensor);
    if (tensor && positionals.length) usage('give either video files or --tensor, not both');
    if (!tensor && !positionals.length) usage('classify needs a video file or --tensor <x.npy>');
    const dumpInput = str(values['dump-input']);
    if (dumpInput && positionals.length > 1) usage('--dump-input takes one video');
    const backend = oneOf(values.backend, ['wasm', 'cpu'] as const, '--backend');
    const preset = oneOf(values.preset, ['accurate', 'fast'] as const, '--preset');
    const topK = positiveInt(values['top-k'], '--top-k');
    const segments = positiveInt(values.segments, '--segments');
    const scoreThreshold = unitInterval(values['min-score'], '--min-score');
    const classifier = await loadClassifier({
      modelDir,
      ...(backend ? { backend } : {}),
      ...(preset ? { preset } : {}),
      ...(topK ? { topK } : {}),
      ...(segments ? { segments } : {}),
      ...(scoreThreshold !== undefined ? { scoreThreshold } : {}),
      ...(values['no-winograd'] ? { winograd: false } : {}),
    });
    const inputs: ({ tensor: string } | { video: string })[] = tensor ? [{ tensor }] : positionals.map((video) => ({ video }));
    const many = inputs.length > 1;
    let failed = 0;
    try {
      for (const input of inputs) {
        const file = 'tensor' in input ? input.tensor : input.video;
        try {
          const out = await classifier.run(input, {
            ...(dumpInput ? { dumpInput } : {}),
            ...(progress ? { onProgress: progressMeter(`classifying ${basename(file)}`, countUnit('images')) } : {}),
          });
          const text = values.json ? JSON.stringify({ file, ...out }) : (many ? `${file}:\n` : '') + formatTop(out);
          process.stdout.write(text + '\n');
        } catch (e) {
          // One file failing (unreadable, no video track) does not stop the others; the exit status says so.
          if (!many || !isPPTSNError(e)) throw e;
          failed++;
          process.stderr.write(`pptsn-web: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
        }
      }
    } finally {
      classifier.dispose();
    }
    if (failed) throw new PPTSNError('invalid-argument', `${failed} of ${inputs.length} files could not be classified (see above)`);
  },
};
