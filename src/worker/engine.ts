/**
 * The engine: the object the worker exposes through comlink. It owns everything tfjs in the page — the backend,
 * the model's weights, every tensor of every call — so the main thread never runs a kernel and never blocks.
 *
 * A call (classify/preprocess/embed) is decoded in the scheduler's decode lane and computed in its compute lane
 * (see queue.ts), so the next call's decoding overlaps this call's inference. Inference runs in chunks of
 * `chunkSize` images (core/classify/clip.ts); between chunks the engine checks for a `cancel` and a lost device, so
 * an abort stops work at the next chunk boundary. The model on its backend is `runtime.ts`, live streams are
 * `liveStreams.ts`, the worker's life lock and memory figures `lifeLock.ts`.
 *
 * Trust: the call options (preprocessing, topK, the stream window) were merged with the defaults and validated once
 * on the page (api/config.ts); the only caller is PPTSN in this package, so the engine uses them as they come. It
 * checks what only it can: the frames it got against the segments, class names against its labels, call ids.
 */
import * as tf from '@tensorflow/tfjs-core';
import { proxy } from 'comlink';
import { PPTSNError } from '../core/errors.js';
import { clipLogits } from '../core/classify/clip.js';
import { clipEmbedding } from '../core/classify/embed.js';
import type { FramePixels } from '../core/frames/pixels.js';
import { preprocessFrames, toPaddleLayout } from '../core/preprocess/pipeline.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';
import type { StateDict } from '../core/stateDict.js';
import type { EpochInfo, StepInfo } from '../core/train/trainer.js';
import type { EmbedResult, PreprocessResult } from '../common/types.js';
import { progressReporter, type ClassifyProgressCallback } from './classifyProgress.js';
import { toPPTSNError } from '../common/errorTransport.js';
import { readRawframesVideo, type DecodedVideo, type FrameReader } from './frameReader.js';
import { holdLifeLock, memoryInfo } from './lifeLock.js';
import { LiveStreams } from './liveStreams.js';
import type {
  EngineApi,
  EngineCallOptions,
  EngineClassifyResult,
  EngineEmbedOptions,
  EngineInit,
  EngineProgress,
  EngineReady,
  EngineStreamFrame,
  EngineStreamOptions,
  EngineStreamResult,
  EngineTensor,
  EngineTrainerOptions,
  EngineVideo,
} from './protocol.js';
import { CallScheduler } from './queue.js';
import { ModelRuntime } from './runtime.js';
import { tensorEmbedding, tensorLogits } from './tensorInput.js';
import { uninstallKernelThreads } from './kernelThreads.js';

export type { DecodedVideo, FrameReader };

/** The source facts a result reports (absent for raw frames). */
function sourceFacts(d: DecodedVideo): { frameCount?: number; rotation?: number; stream?: number } {
  return { ...(d.frameCount !== undefined ? { frameCount: d.frameCount } : {}), ...(d.rotation !== undefined ? { rotation: d.rotation } : {}), ...(d.stream !== undefined ? { stream: d.stream } : {}) };
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new PPTSNError('aborted', 'the call was aborted');
}

const now = () => performance.now();

type Decoded = DecodedVideo & { decodeMs: number };

export class Engine implements EngineApi {
  private readonly calls = new Map<number, AbortController>();
  private readonly scheduler = new CallScheduler();
  private readonly runtime = new ModelRuntime(() => this.streams.clearWindows());
  private readonly streams = new LiveStreams(this.runtime, this.scheduler);

  constructor(private readonly readFrames: FrameReader) {}

  async init(init: EngineInit, onProgress?: EngineProgress): Promise<EngineReady> {
    try {
      return await this.runtime.load(init, onProgress);
    } catch (e) {
      this.release();
      throw toPPTSNError(e, 'loading the model failed');
    }
  }

  /** Aborts call `id` (queued or running); a no-op for unknown or finished calls. */
  cancel(id: number): void {
    this.calls.get(id)?.abort();
  }

  /** Runs call `id` with its AbortSignal; errors become PPTSNErrors saying `what` failed. */
  private async call<T>(id: number, what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      this.runtime.loaded();
      if (this.calls.has(id)) throw new PPTSNError('invalid-argument', `call id ${id} is already in use`);
      const controller = new AbortController();
      this.calls.set(id, controller);
      try {
        return await work(controller.signal);
      } finally {
        this.calls.delete(id);
      }
    } catch (e) {
      throw toPPTSNError(e, `${what} failed`);
    }
  }

  /** A call on a video: its frames in the decode lane, then `compute` in the compute lane. */
  private videoCall<T>(id: number, what: string, video: EngineVideo, config: PreprocessConfig, compute: (decoded: Decoded, signal: AbortSignal) => Promise<T>, onDecodeProgress?: (fraction: number) => void): Promise<T> {
    return this.call(id, what, (signal) =>
      this.scheduler.run(
        () => this.decode(video, config, signal, onDecodeProgress),
        (decoded) => {
          checkAborted(signal);
          return compute(decoded, signal);
        },
      ),
    );
  }

  /** A call on a tensor input (worker/tensorInput.ts): the compute lane only, nothing to decode. */
  private tensorCall<T>(id: number, what: string, run: (t0: number, signal: AbortSignal) => Promise<T>): Promise<T> {
    const t0 = now();
    return this.call(id, what, (signal) =>
      // Through both lanes (an empty decode), so it keeps its place in the queue of calls.
      this.scheduler.run(async () => undefined, () => {
        checkAborted(signal);
        return this.runtime.withDeviceRecovery(() => run(t0, signal), () => signal.aborted);
      }),
    );
  }

  private async decode(video: EngineVideo, config: PreprocessConfig, signal: AbortSignal, onDecodeProgress?: (fraction: number) => void): Promise<Decoded> {
    checkAborted(signal);
    const t0 = now();
    if (video.kind === 'frames') {
      if (video.frames.length !== config.segments) {
        throw new PPTSNError('invalid-argument', `got ${video.frames.length} frames for ${config.segments} segments`);
      }
      return { ...video, decodeMs: 0 };
    }
    if (video.kind === 'rawframes') {
      // The page sent the files (or the handle): only the sampled JPEGs are read and decoded, here.
      const decoded = await readRawframesVideo(video, config, signal);
      checkAborted(signal);
      return { ...decoded, decodeMs: now() - t0 };
    }
    const decoded = await this.readFrames(video.source, { segments: config.segments, sampling: config.sampling, signal, ...(onDecodeProgress ? { onDecodeProgress } : {}) });
    checkAborted(signal);
    return { ...decoded, decodeMs: now() - t0 };
  }

  /** Between chunks: stop on abort or a lost device. */
  private beforeChunk(signal: AbortSignal): () => void {
    return () => {
      checkAborted(signal);
      this.runtime.checkDevice();
    };
  }

  async classify(id: number, video: EngineVideo, options: EngineCallOptions, onProgress?: ClassifyProgressCallback): Promise<EngineClassifyResult> {
    const t0 = now();
    const config = options.preprocess;
    const labels = this.runtime.model?.labels;
    const progress = onProgress && labels ? progressReporter(onProgress, labels, options.topK) : undefined;
    try {
      return await this.videoCall(id, 'classify', video, config, async (decoded, signal) => {
        const run = await this.runtime.withDeviceRecovery(
          () => clipLogits(this.runtime.loaded().recognizer, decoded.frames, config, { ...progress?.clipOptions, chunkSize: this.runtime.chunkSize, beforeChunk: this.beforeChunk(signal) }),
          () => signal.aborted,
        );
        await progress?.finish(run.logits);
        return {
          ...this.runtime.predictions(run.logits, options.topK, options.filter),
          frameIndices: decoded.frameIndices,
          ...sourceFacts(decoded),
          timings: { decodeMs: decoded.decodeMs, preprocessMs: run.preprocessMs, inferenceMs: run.inferenceMs, totalMs: now() - t0 },
        };
      }, progress && ((f) => progress.decode(f, config.segments * config.cropsPerFrame)));
    } finally {
      progress?.release();
    }
  }

  /** `classify` of a tensor input. */
  async classifyTensor(id: number, input: EngineTensor, options: EngineCallOptions): Promise<EngineClassifyResult> {
    return this.tensorCall(id, 'classify', async (t0, signal) => {
      const run = await tensorLogits(this.runtime.loaded().recognizer, input, { chunkSize: this.runtime.chunkSize, beforeChunk: this.beforeChunk(signal) });
      return { ...this.runtime.predictions(run.logits, options.topK, options.filter), frameIndices: [], timings: { decodeMs: 0, preprocessMs: 0, inferenceMs: run.inferenceMs, totalMs: now() - t0 } };
    });
  }

  /** `embed` of a tensor input. */
  async embedTensor(id: number, input: EngineTensor, options: EngineEmbedOptions): Promise<EmbedResult> {
    return this.tensorCall(id, 'embed', async (t0, signal) => {
      const { inferenceMs, ...embedding } = await tensorEmbedding(this.runtime.loaded().recognizer, input, { chunkSize: this.runtime.chunkSize, beforeChunk: this.beforeChunk(signal), perFrame: options.perFrame });
      return { ...embedding, frameIndices: [], backend: this.runtime.backend, timings: { decodeMs: 0, preprocessMs: 0, inferenceMs, totalMs: now() - t0 } };
    });
  }

  /** `model.embed`: classify's decode and chunked backbone, pooled into the embedding instead of the head. */
  async embed(id: number, video: EngineVideo, options: EngineEmbedOptions): Promise<EmbedResult> {
    const t0 = now();
    const config = options.preprocess;
    return this.videoCall(id, 'embed', video, config, async (decoded, signal) => {
      const run = await this.runtime.withDeviceRecovery(
        () => clipEmbedding(this.runtime.loaded().recognizer, decoded.frames, config, { chunkSize: this.runtime.chunkSize, beforeChunk: this.beforeChunk(signal), perFrame: options.perFrame }),
        () => signal.aborted,
      );
      const { preprocessMs, inferenceMs, ...embedding } = run;
      return { ...embedding, frameIndices: decoded.frameIndices, backend: this.runtime.backend, timings: { decodeMs: decoded.decodeMs, preprocessMs, inferenceMs, totalMs: now() - t0 } };
    });
  }

  async preprocess(id: number, video: EngineVideo, options: EngineCallOptions): Promise<PreprocessResult> {
    return this.videoCall(id, 'preprocess', video, options.preprocess, async (decoded) => {
      const pre = preprocessFrames(decoded.frames, options.preprocess);
      const paddle = toPaddleLayout(pre.input);
      pre.input.dispose();
      try {
        const data = (await paddle.data()) as Float32Array;
        return { frameIndices: decoded.frameIndices, ...sourceFacts(decoded), timestamps: decoded.timestamps, tensor: { shape: [...paddle.shape], data } };
      } finally {
        paddle.dispose();
      }
    });
  }

  /**
   * Opens live stream `id`: frames pushed with `streamPush` each go through preprocessing and the backbone once;
   * their features stay in a ring of `windowFrames` entries until `streamClose`.
   */
  streamOpen(id: number, options: EngineStreamOptions): void {
    this.streams.open(id, options);
  }

  /**
   * Adds one frame to stream `id` and returns the result over its window. Runs in the compute lane, so it
   * interleaves with classify calls instead of competing with them for the device.
   */
  streamPush(id: number, frame: FramePixels, meta: EngineStreamFrame): Promise<EngineStreamResult> {
    return this.streams.push(id, frame, meta);
  }

  /** Closes stream `id` and frees its features; a frame in flight finishes and is dropped. No-op if unknown. */
  streamClose(id: number): void {
    this.streams.close(id);
  }

  /**
   * Starts a fine-tuning run on this model (see trainerEngine.ts) and returns it as a comlink proxy. The trainer
   * module (gradients included) is loaded on first use, so classification never pays for it.
   */
  async createTrainer(options: EngineTrainerOptions, onStep?: (s: StepInfo) => void, onEpoch?: (e: EpochInfo) => void) {
    try {
      const { model, recognizer } = this.runtime.loaded();
      const { WorkerTrainer } = await import('./trainerEngine.js');
      const host = { stateDict: model.stateDict, recognizer, readFrames: this.readFrames, chunkSize: this.runtime.chunkSize, ...(model.source.sha256 ? { sha256: model.source.sha256 } : {}) };
      return proxy(await WorkerTrainer.create(host, options, onStep, onEpoch));
    } catch (e) {
      throw toPPTSNError(e, 'creating the trainer failed');
    }
  }

  /** Holds the Web Lock `name` until this worker ends: the page's death notice (lifeLock.ts). */
  holdLifeLock(name: string): Promise<boolean> {
    return holdLifeLock(name);
  }

  /** The loaded model's weights (Paddle layouts), copied to the page: another model's distillation teacher. */
  teacherStateDict(): StateDict {
    return this.runtime.loaded().model.stateDict;
  }

  memory(): { numTensors: number; numBytes: number; wasmHeapBytes?: number } {
    return memoryInfo();
  }

  private release(): void {
    for (const c of this.calls.values()) c.abort();
    this.streams.closeAll();
    this.runtime.release();
  }

  /** Frees the model and every tensor; the API terminates the worker right after. */
  dispose(): void {
    this.release();
    tf.disposeVariables();
    uninstallKernelThreads();
  }
}

export type { StateDict };
