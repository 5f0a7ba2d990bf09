/**
 * The network in Node, for the CLI's `classify` and `eval`: one factory, `createNodeRunner(modelDir, backend)`,
 * that reads a converted model folder and returns a runner computing clip logits (core/classify/clip.ts: chunks,
 * PaddleVideo's image order, the ppTSN head) and per-image features, on the fastest runtime available:
 *
 * - `onnx`: onnxruntime-node (an optional peer dependency; its CPU library ships inside the npm package). The
 *   backbone runs as the ONNX graph of src/node/onnx/ (BN folded, as our Recognizer), native code on every core;
 *   preprocessing and the head stay in tfjs, so everything around the backbone is the same code as the browser's.
 * - `wasm`: tfjs-backend-wasm, one thread (tfjs has no threads in Node), Winograd 3×3 as in the browser.
 * - `cpu`: tfjs-backend-cpu, plain JavaScript: slow, the last resort.
 *
 * `auto` (the default) takes `onnx` when onnxruntime-node can be loaded, else `wasm` (with a note saying how to get
 * the faster one).
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { clipLogits, type ClipLogits, type ClipNetwork, type ClipProgress, type ClipRunOptions } from '../core/classify/clip.js';
import { tensorLogits } from '../core/classify/tensorInput.js';
import { PPTSNError } from '../core/errors.js';
import type { LoadedModelJson } from '../core/formats/modelJson.js';
import type { FramePixels } from '../core/frames/pixels.js';
import { ppTSNHead } from '../core/model/head.js';
import { Recognizer } from '../core/model/recognizer.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';
import { initNodeBackend } from './backends.js';
import { readModelDir } from './modelDir.js';
import { onnxForModelDir } from './onnx/cache.js';
import { workerFeatureSession, type FeatureSession } from './onnx/session.js';
import { featureSessionPool } from './onnx/sessionPool.js';

export const NODE_RUNNERS = ['onnx', 'wasm', 'cpu'] as const;
export type NodeRunnerName = (typeof NODE_RUNNERS)[number];
export type NodeRunnerChoice = NodeRunnerName | 'auto';

export interface NodeRunnerOptions {
  /** false: direct 3×3 convolutions instead of Winograd on tfjs wasm (no effect on onnx). */
  winograd?: boolean;
  /** Threads for onnxruntime-node (default: every logical core). */
  threads?: number;
  /** Images per backbone call (default 10: bounds peak memory on the accurate preset's 250 images). */
  chunkSize?: number;
  /**
   * onnx: run the session in a worker thread (default true), so the main thread stays free while the backbone
   * computes (onnxruntime-node's `run` blocks the thread that calls it; `eval` decodes the next items meanwhile).
   */
  ortWorker?: boolean;
  /**
   * onnx: sessions that run at once, each on `threads / lanes` threads (default 1). For throughput over many clips
   * (`eval`, which classifies `lanes` items at once): independent sessions do not stall each other at thread
   * barriers when the decoder takes a core (onnx/sessionPool.ts). Ignored by tfjs runners and with `ortWorker: false`.
   */
  lanes?: number;
}

/** A model ready to run in Node. */
export interface NodeRunner {
  readonly backend: NodeRunnerName;
  /** One line for the user: the runtime, its version and threads. */
  readonly description: string;
  /** Why a faster runtime was not used (empty when none was skipped). */
  readonly notes: string[];
  readonly model: LoadedModelJson;
  /** The backbone + head as the classification tail sees them (per-image features `[n, F]`, head `[N, classes]`). */
  readonly network: ClipNetwork;
  /** Backbone calls that can run at once (`lanes` sessions for onnx; 1 otherwise): how many clips to keep in flight. */
  readonly lanes: number;
  readonly chunkSize: number;
  /** One clip's logits from its decoded frames (core/classify/clip.ts with this runner's network and chunk size). */
  clipLogits(frames: readonly FramePixels[], config: PreprocessConfig, options?: Omit<ClipRunOptions, 'chunkSize'>): Promise<ClipLogits>;
  /**
   * Logits `[N, classes]` of a PaddleVideo input `[N, T·C, 3, H, W]` (or `[T·C, 3, H, W]`, N = 1), NCHW float32
   * as PaddleVideo feeds its network: features per image in chunks of `chunkSize` (`onChunk` after each, images
   * done / total), then the head's mean over T·C and the FC: core/classify/tensorInput.ts on this runner's network
   * (onnx takes the NCHW chunks as they are). Same arithmetic as `Recognizer.predict`.
   */
  predict(x: tf.Tensor, options?: { onChunk?: (p: ClipProgress) => void }): Promise<tf.Tensor2D>;
  /** Frees the weights (tfjs tensors, the onnxruntime session). */
  dispose(): Promise<void>;
}

const DEFAULT_CHUNK = 10;

/**
 * Lanes `eval` asks for by default (`--lanes`): two sessions, each on half the threads, when there are two cores or
 * more. Measured on 2 cores (bench/README.md, "Inference lanes"): eval keeps more of the network's rate while the
 * decoder shares the cores. Two, not one per core: each lane holds its own weights and the gain is in not stalling
 * at barriers, which two sessions already avoid. The runner ignores lanes where it cannot use them (tfjs).
 */
export function evalLanes(threads: number = availableParallelism()): number {
  return Math.max(1, Math.min(2, threads));
}

export type Ort = typeof import('onnxruntime-node');

/** onnxruntime-node if it is installed and its native library loads; the reason otherwise. */
export async function loadOrt(): Promise<Ort | string> {
  // PPTSN_NO_ONNX=1 behaves as if onnxruntime-node were not installed (tests; a user who wants tfjs by default).
  if (process.env['PPTSN_NO_ONNX'] === '1') return 'onnxruntime-node is turned off (PPTSN_NO_ONNX=1)';
  try {
    const mod = (await import('onnxruntime-node')) as Ort & { default?: Ort };
    return mod.InferenceSession ? mod : mod.default!;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
      ? 'onnxruntime-node is not installed (npm install onnxruntime-node for native speed)'
      : `onnxruntime-node did not load: ${(e as Error).message.split('\n')[0]}`;
  }
}

/**
 * Reads the converted model in `modelDir` and prepares it on `backend` (`auto`: onnx when available, else wasm).
 * Errors: PPTSNError `model-invalid` (the folder), `backend-unavailable` (an explicitly chosen runtime that cannot
 * start, with what to install), `invalid-argument` (an unknown backend).
 */
export async function createNodeRunner(modelDir: string, backend: NodeRunnerChoice = 'auto', options: NodeRunnerOptions = {}): Promise<NodeRunner> {
  if (backend !== 'auto' && !(NODE_RUNNERS as readonly string[]).includes(backend)) {
    throw new PPTSNError('invalid-argument', `unknown backend "${String(backend)}"; use ${NODE_RUNNERS.join(', ')} or auto`);
  }
  const notes: string[] = [];
  let ort: Ort | undefined;
  if (backend === 'onnx' || backend === 'auto') {
    const loaded = await loadOrt();
    if (typeof loaded === 'string') {
      if (backend === 'onnx') throw new PPTSNError('backend-unavailable', `${loaded}; or choose --backend wasm`);
      notes.push(`${loaded}; using tfjs wasm`);
    } else ort = loaded;
  }
  // tfjs runs preprocessing and the head for every runner; wasm is the fast one.
  const tfBackend = backend === 'cpu' ? 'cpu' : 'wasm';
  await initNodeBackend(tfBackend);
  const model = await readModelDir(modelDir);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  if (ort) return onnxRunner(ort, modelDir, model, chunkSize, options, notes);
  return tfjsRunner(tfBackend, model, chunkSize, options, notes);
}

function runnerFrom(base: Omit<NodeRunner, 'clipLogits' | 'predict'>): NodeRunner {
  return {
    ...base,
    clipLogits: (frames, config, options = {}) => clipLogits(base.network, frames, config, { ...options, chunkSize: base.chunkSize }),
    predict: (x, options = {}) => tensorLogits(base.network, x, { chunkSize: base.chunkSize, ...(options.onChunk ? { onChunk: options.onChunk } : {}) }),
  };
}

function tfjsRunner(name: 'wasm' | 'cpu', model: LoadedModelJson, chunkSize: number, options: NodeRunnerOptions, notes: string[]): NodeRunner {
  const rec = Recognizer.fromStateDict(model.stateDict, { depth: model.depth, numClasses: model.numClasses, ...(options.winograd !== undefined ? { winograd: options.winograd } : {}) });
  return runnerFrom({
    backend: name,
    lanes: 1,
    description: `tfjs ${name}${name === 'wasm' ? ', 1 thread (no threads in Node)' : ''}`,
    notes,
    model,
    network: rec,
    chunkSize,
    dispose: async () => rec.dispose(),
  });
}

/** The session on this thread (`ortWorker: false`): each run blocks it. */
async function mainThreadSession(ort: Ort, graph: Uint8Array, options: import('onnxruntime-node').InferenceSession.SessionOptions): Promise<FeatureSession> {
  const session = await ort.InferenceSession.create(graph, options);
  return {
    async run(data, shape) {
      const out = await session.run({ x: new ort.Tensor('float32', data, [...shape]) }, ['feat']);
      return out['feat']!.data as Float32Array;
    },
    release: () => session.release(),
  };
}

async function onnxRunner(ort: Ort, modelDir: string, model: LoadedModelJson, chunkSize: number, options: NodeRunnerOptions, notes: string[]): Promise<NodeRunner> {
  const graph = await onnxForModelDir(modelDir, model);
  const threads = options.threads ?? availableParallelism();
  const inWorker = options.ortWorker ?? true;
  const lanes = inWorker ? Math.max(1, Math.min(Math.floor(options.lanes ?? 1), threads)) : 1;
  const sessionOptions = { intraOpNumThreads: Math.max(1, Math.floor(threads / lanes)), interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' } as const;
  let session: FeatureSession;
  try {
    if (!inWorker) session = await mainThreadSession(ort, graph.bytes, sessionOptions);
    else {
      const made = await Promise.allSettled(Array.from({ length: lanes }, () => workerFeatureSession(graph.bytes, sessionOptions)));
      const failed = made.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      const ok = made.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      if (failed) {
        await Promise.allSettled(ok.map((s) => s.release()));
        throw failed.reason;
      }
      session = featureSessionPool(ok);
    }
  } catch (e) {
    throw new PPTSNError('backend-unavailable', `onnxruntime-node could not load the model graph (${graph.path}): ${(e as Error).message.split('\n')[0]}; try --backend wasm`, { cause: e });
  }
  const fcW = tf.tensor2d(model.stateDict.get('head.fc.weight')!.data, [model.stateDict.get('head.fc.weight')!.shape[0]!, model.numClasses]);
  const fcB = tf.tensor1d(model.stateDict.get('head.fc.bias')!.data);
  /** Features of NCHW images `[n, 3, H, W]` (float32 data). */
  const run = (data: Float32Array, shape: readonly number[]): Promise<Float32Array> => session.run(data, shape);
  /** Features of NCHW images `[n, 3, H, W]` as a tensor: onnxruntime takes PaddleVideo's layout as it is. */
  const nchwFeatures = async (images: tf.Tensor4D): Promise<tf.Tensor2D> => {
    const n = images.shape[0];
    const feats = await run((await images.data()) as Float32Array, images.shape);
    return tf.tensor2d(feats, [n, feats.length / n]);
  };
  const network: ClipNetwork = {
    nchwFeatures,
    async features(images) {
      const [n, h, w] = images.shape;
      const nchw = tf.transpose(images, [0, 3, 1, 2]);
      let data: Float32Array;
      try {
        data = (await nchw.data()) as Float32Array;
      } finally {
        nchw.dispose();
      }
      const feats = await run(data, [n, 3, h, w]);
      return tf.tensor2d(feats, [n, feats.length / n]);
    },
    head: (features) => ppTSNHead(features, fcW, fcB),
  };
  const version = (ort.env.versions as { node?: string; common?: string }).node ?? (ort.env.versions as { common?: string }).common ?? '';
  return runnerFrom({
    backend: 'onnx',
    lanes,
    description: `onnxruntime-node ${version}, ${lanes > 1 ? `${lanes} sessions × ${sessionOptions.intraOpNumThreads} thread${sessionOptions.intraOpNumThreads === 1 ? '' : 's'} in worker threads` : `${threads} thread${threads === 1 ? '' : 's'}${inWorker ? ' in a worker thread' : ''}`} (graph ${graph.source === 'cache' ? 'from' : graph.source === 'built' ? 'written to' : 'in memory, could not write'} ${graph.path})`,
    notes,
    model,
    network,
    chunkSize,
    async dispose() {
      tf.dispose([fcW, fcB]);
      await session.release();
    },
  });
}
