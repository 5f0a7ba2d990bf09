/**
 * `pptsn-web classify --tensor <x.npy> -m <dir>` runs the network on an input exactly as PaddleVideo feeds it;
 * `pptsn-web classify <video>… -m <dir>` decodes as the system's ffmpeg does (like decord: display orientation, edit
 * lists applied; src/node/frames.ts picks ffmpeg.wasm in-process or the system ffmpeg) and runs the same core
 * sampling and preprocessing as the browser; with several inputs the next one decodes while the network runs. The network runs on the fastest
 * Node runtime available (src/node/runtime.ts: onnxruntime-node when installed, else tfjs wasm).
 * `pptsn-web classify <frame_dir> -m <dir>` reads a rawframes folder (only the sampled img_{idx+1:05}.jpg files,
 * decoded as PIL does).
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError, isPPTSNError } from '../core/errors.js';
import { softmax, topK } from '../core/classify/scores.js';
import { defaultLabels } from '../core/labels.js';
import { decodeNpy, encodeNpy } from '../core/npy.js';
import { preprocessFrames, toPaddleLayout } from '../core/preprocess/pipeline.js';
import { resolveCallOptions } from '../core/classify/defaults.js';
import { paddleInputShape } from '../core/model/paddleInput.js';
import { DECODERS, ReadAhead, readFrames, type DecoderChoice } from '../node/frames.js';
import { classifyInputKind } from '../node/inputPath.js';
import { writeFileAtomic } from '../node/files.js';
import { createNodeRunner, NODE_RUNNERS, type NodeRunnerChoice } from '../node/runtime.js';
import { formatJsonLines } from './classifyJson.js';
import type { ClassifyOutput } from './classifyOutput.js';

export type { ClassifyOutput, TopEntry } from './classifyOutput.js';
import { progressLine } from './classifyProgress.js';
import { oneOf, positiveInt, str, unitInterval, usage, type Command } from './command.js';

export interface CliClassifyOptions {
  modelDir: string;
  tensor?: string;
  video?: string;
  /** `auto` (default): onnxruntime-node when installed, else tfjs wasm; see src/node/runtime.ts. */
  backend?: NodeRunnerChoice;
  topK?: number;
  /** Leave classes below this probability (0–1) out of `top`. */
  scoreThreshold?: number;
  preset?: 'accurate' | 'fast';
  segments?: number;
  dumpInput?: string;
  /** false: direct 3×3 convolutions on wasm instead of Winograd (the Recognizer's default). */
  winograd?: boolean;
  /** Who decodes video files (src/node/frames.ts `DecoderChoice`, default 'auto'). */
  decoder?: DecoderChoice;
  /**
   * Progress on stderr (images done, rate, running top-1): `true` for calls over ~2 s (a terminal's default),
   * `'always'` from the first chunk (`--progress` asked for explicitly).
   */
  progress?: boolean | 'always';
  /** Where the notes go (which runtime runs, why a faster one was skipped); default stderr. */
  log?: (line: string) => void;
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

type Input = { tensor: string } | { video: string };
type RunOptions = Pick<CliClassifyOptions, 'dumpInput' | 'progress'>;

/** A model loaded once for any number of inputs (`classify a.mp4 b.mp4 …`). Call `dispose()` when done. */
export interface LoadedClassifier {
  backend: string;
  /**
   * Classifies `input`. `next`: the input that will be run after this one; its frames are read (decoded) while this
   * one runs through the network, as `eval`'s prefetch does, and the next `run(next)` uses them.
   */
  run(input: Input, options?: RunOptions, next?: Input): Promise<ClassifyOutput>;
  dispose(): Promise<void>;
}

export async function loadClassifier(options: Omit<CliClassifyOptions, 'tensor' | 'video' | 'dumpInput'>): Promise<LoadedClassifier> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const runner = await createNodeRunner(options.modelDir, options.backend ?? 'auto', options.winograd !== undefined ? { winograd: options.winograd } : {});
  const loaded = runner.model;
  const labels = loaded.labels.length ? loaded.labels : defaultLabels(loaded.numClasses);
  // The call's defaults (the 5 best, the model's preset), resolved once for every input: core/classify/defaults.ts,
  // as the page's model.classify does.
  const call = resolveCallOptions(
    {
      ...(options.preset ? { preset: options.preset } : {}),
      ...(options.segments ? { segments: options.segments } : {}),
      ...(options.topK !== undefined ? { topK: options.topK } : {}),
      ...(options.scoreThreshold !== undefined ? { scoreThreshold: options.scoreThreshold } : {}),
    },
    { preset: loaded.meta.preset, labels },
    1,
  );
  const preprocess = call.preprocess;
  const top = (rows: number[][]) => rows.map((r) => topK(softmax(r), labels, call.topK, call.filter));
  // Said once, when the first input has been read, so a bad input still fails with one line.
  let announced = false;
  const announce = () => {
    if (announced) return;
    announced = true;
    for (const note of runner.notes) log(`pptsn-web: ${note}`);
    log(`pptsn-web: running on ${runner.description}`);
  };

  async function runTensor(path: string, run: RunOptions): Promise<ClassifyOutput> {
    const x = await readTensor(path);
    paddleInputShape(x.shape, path);
    const input = tf.tensor(x.data, x.shape);
    announce();
    const line = run.progress ? progressLine(labels, undefined, undefined, run.progress === 'always' ? 0 : undefined) : undefined;
    let logits: tf.Tensor2D;
    try {
      logits = await runner.predict(input, line ? { onChunk: (p) => line.onChunk(p) } : {});
    } finally {
      line?.done();
      input.dispose();
    }
    const rows = (await logits.array()) as number[][];
    logits.dispose();
    return { logits: rows, top: top(rows), backend: runner.backend };
  }

  // A folder is a rawframes clip (img_00001.jpg, …); a file is a video; anything else fails here, by name
  // (src/node/frames.ts). Reads started ahead (`run`'s `next`) are taken once.
  const ahead = new ReadAhead((path: string) => readFrames(path, preprocess, options.decoder ? { decoder: options.decoder } : {}));

  async function runVideo(path: string, run: RunOptions, next?: Input): Promise<ClassifyOutput> {
    const clip = await ahead.take(path);
    if (next && 'video' in next) ahead.start(next.video);
    const source = 'info' in clip ? { frameCount: clip.info.frameCount, rotation: clip.info.rotation, decoder: clip.decoder, stream: clip.info.streamIndex } : { frameCount: clip.frameCount };
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
    announce();
    const line = run.progress ? progressLine(labels, undefined, undefined, run.progress === 'always' ? 0 : undefined) : undefined;
    let logits: Float32Array;
    try {
      logits = (await runner.clipLogits(clip.frames, clip.config, line ? { onChunk: (p) => line.onChunk(p), runningLogits: true } : {})).logits;
    } finally {
      line?.done();
    }
    const rows = [Array.from(logits)];
    return { logits: rows, top: top(rows), backend: runner.backend, frameIndices: clip.indices, ...source };
  }

  return {
    backend: runner.backend,
    run: (input, run = {}, next) => ('tensor' in input ? runTensor(input.tensor, run) : runVideo(input.video, run, next)),
    async dispose() {
      // Reads nobody took (a run that failed before its next) finish before the decoder is released.
      await ahead.settle();
      await runner.dispose();
    },
  };
}

/** Classifies one video or one `.npy` tensor (loads the model, runs, frees it). */
export async function classify(options: CliClassifyOptions): Promise<ClassifyOutput> {
  if (!options.tensor === !options.video) throw new PPTSNError('invalid-argument', 'give either a video file or --tensor <x.npy>');
  const classifier = await loadClassifier(options);
  try {
    return await classifier.run(options.tensor ? { tensor: options.tensor } : { video: options.video! }, {
      ...(options.dumpInput ? { dumpInput: options.dumpInput } : {}),
      ...(options.progress ? { progress: true } : {}),
    });
  } finally {
    await classifier.dispose();
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
    `${out.frameCount !== undefined ? ` of ${out.frameCount}` : ''}${out.rotation ? `, rotated ${out.rotation}°` : ''}${out.decoder ? `, decoded by ${out.decoder}` : ''}${out.stream ? `, stream ${out.stream}` : ''})`;
}

export const classifyCommand: Command = {
  name: 'classify',
  summary: 'classify videos, rawframes folders or a PaddleVideo input tensor',
  usage: [
    'classify <video|frame_dir>… -m <dir> [--preset accurate|fast] [--segments T] [--top-k K] [--min-score P] [--json] [--dump-input x.npy] [--backend auto|onnx|wasm|cpu] [--decoder auto|ffmpeg|wasm] [--no-winograd] [--progress]',
    'classify --tensor <x.npy> -m <dir> [--top-k K] [--min-score P] [--json] [--backend auto|onnx|wasm|cpu] [--no-winograd] [--progress]',
  ],
  details: `Several videos share one loaded model, and the next one decodes while the network runs the current one. A
video that fails prints one line on stderr and the others still run (exit 1).

--json prints JSON Lines: one object per input on its own line (one per clip for a --tensor batch of N > 1,
with "clip": 0…N-1), in the order given:
  {"path": "a.mp4", "file": "a.mp4", "top": [{"index": 5, "label": "archery", "score": 0.93}, …],
   "logits": [… one per class], "backend": "onnx", "frameIndices": [… sampled frames], "frameCount": 300, "rotation": 0,
   "decoder": "ffmpeg.wasm", "stream": 0}
top is best first (softmax scores 0-1, --top-k entries, fewer with --min-score); frameIndices, frameCount,
rotation, decoder (ffmpeg.wasm or ffmpeg) and stream (the video stream read, ffmpeg's index: decord's choice,
not always the first) are absent for --tensor.

The preset defaults to the model's (model.json's preset: accurate, PaddleVideo's test pipeline with 250 images,
for converted PaddleVideo weights). The default backend (auto) is onnx, onnxruntime-node on every core, when that optional package is installed
(npm install onnxruntime-node), else wasm; cpu is the fallback. On wasm the 3×3 convolutions of res3–res5 run as
Winograd F(2×2, 3×3) (~1e-6 relative rounding differences); --no-winograd runs them directly. --decoder: auto
(default) reads 8-bit 4:2:0 H.264/HEVC/VP8/VP9/MPEG-1/2/MJPEG videos with ffmpeg.wasm in-process (bit-exact with the system ffmpeg, no process
started per video) and other formats with the system ffmpeg; ffmpeg or wasm forces one.`,
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
    decoder: { type: 'string' },
  },
  progress: true,
  async run({ values, positionals }, { progress }) {
    const modelDir = str(values.model) ?? usage('classify needs -m <model dir>');
    const tensor = str(values.tensor);
    if (tensor && positionals.length) usage('give either video files or --tensor, not both');
    if (!tensor && !positionals.length) usage('classify needs a video file or --tensor <x.npy>');
    const dumpInput = str(values['dump-input']);
    if (dumpInput && positionals.length > 1) usage('--dump-input takes one video');
    const backend = oneOf(values.backend, ['auto', ...NODE_RUNNERS] as const, '--backend');
    const preset = oneOf(values.preset, ['accurate', 'fast'] as const, '--preset');
    const topK = positiveInt(values['top-k'], '--top-k');
    const segments = positiveInt(values.segments, '--segments');
    const scoreThreshold = unitInterval(values['min-score'], '--min-score');
    const decoder = oneOf(values.decoder, DECODERS, '--decoder');
    // One input: a missing path or a folder without frames fails before the model loads (several: each fails alone).
    if (positionals.length === 1) await classifyInputKind(positionals[0]!);
    const classifier = await loadClassifier({
      modelDir,
      ...(backend ? { backend } : {}),
      ...(preset ? { preset } : {}),
      ...(topK ? { topK } : {}),
      ...(segments ? { segments } : {}),
      ...(scoreThreshold !== undefined ? { scoreThreshold } : {}),
      ...(values['no-winograd'] ? { winograd: false } : {}),
      ...(decoder ? { decoder } : {}),
    });
    const inputs: Input[] = tensor ? [{ tensor }] : positionals.map((video) => ({ video }));
    const many = inputs.length > 1;
    let failed = 0;
    try {
      for (const [i, input] of inputs.entries()) {
        const file = 'tensor' in input ? input.tensor : input.video;
        try {
          // The next file decodes while this one runs through the network.
          const out = await classifier.run(input, { ...(dumpInput ? { dumpInput } : {}), progress: values.progress === true ? 'always' : progress }, inputs[i + 1]);
          const text = values.json ? formatJsonLines(file, out) : (many ? `${file}:\n` : '') + formatTop(out);
          process.stdout.write(text + '\n');
        } catch (e) {
          // One file failing (unreadable, no video track) does not stop the others; the exit status says so.
          if (!many || !isPPTSNError(e)) throw e;
          failed++;
          process.stderr.write(`pptsn-web: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
        }
      }
    } finally {
      await classifier.dispose();
    }
    if (failed) throw new PPTSNError('invalid-argument', `${failed} of ${inputs.length} files could not be classified (see above)`);
  },
};
