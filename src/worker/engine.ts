/**
 * The engine: the object the worker exposes through comlink. It owns everything tfjs in the page — the backend,
 * the model's weights, every tensor of every call — so the main thread never runs a kernel and never blocks.
 *
 * A call (classify/preprocess) is decoded in the scheduler's decode lane and computed in its compute lane (see
 * queue.ts), so the next call's decoding overlaps this call's inference. Inference runs in chunks of
 * `chunkSize` images: each chunk is preprocessed, run through the backbone, and only its pooled features ([n, F])
 * are kept, so the accurate preset's 250 images never need all their activations at once; the head then runs on
 * the T·C features exactly as PaddleVideo does. Between chunks the engine awaits the chunk's features, which both
 * bounds queued GPU work and lets a `cancel` message in, so an abort stops work at the next chunk boundary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { proxy } from 'comlink';
import { yieldTurn } from '../core/yieldTurn.js';
import { PPTSNError, isPPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames.js';
import { Recognizer } from '../core/model/recognizer.js';
import { parameterCounts } from '../core/model/arch.js';
import { clipLogits, type ClipRunOptions } from '../core/classify/clip.js';
import { softmax, topK } from '../core/classify/scores.js';
import { resolveScoreFilter, type ScoreFilter } from '../core/classify/filter.js';
import { clipEmbedding } from '../core/classify/embed.js';
import type { EmbedResult } from '../common/types.js';
import type { EngineEmbedOptions, EngineTensor } from './protocol.js';
import { tensorEmbedding, tensorLogits } from './tensorInput.js';
import { preprocessFrames, toPaddleLayout } from '../core/preprocess/pipeline.js';
import { MAX_SEGMENTS, resolvePreprocessOptions, type PreprocessConfig } from '../core/preprocess/presets.js';
import type { StateDict } from '../core/stateDict.js';
import type { BackendName, BackendReportEntry, ModelInfo, PreprocessResult } from '../common/types.js';
import { BACKEND_ORDER, configureWasm, defaultChunkSize, selectBackend, watchDeviceLoss } from './backends.js';
import { toPPTSNError } from './errorTransport.js';
import { FeatureRing } from './featureRing.js';
import { progressReporter, type ClassifyProgressCallback } from './classifyProgress.js';
import { loadModel, type LoadedModel } from './modelLoader.js';
import { CallScheduler } from './queue.js';
import type {
  EngineApi,
  EngineCallOptions,
  EngineClassifyResult,
  EngineInit,
  EngineProgress,
  EngineReady,
  EngineStreamFrame,
  EngineStreamOptions,
  EngineStreamResult,
  EngineVideo,
} from './protocol.js';
import type { DecodedVideo, FrameReader } from './frameReader.js';

export type { DecodedVideo, FrameReader };

/** The source facts a result reports (absent for raw frames). */
function sourceFacts(d: DecodedVideo): { frameCount?: number; rotation?: number } {
  return { ...(d.frameCount !== undefined ? { frameCount: d.frameCount } : {}), ...(d.rotation !== undefined ? { rotation: d.rotation } : {}) };
}

interface Call {
  controller: AbortController;
}

/** A live stream (classifyStream): its preprocessing and the ring of its window's features. */
interface LiveStream {
  config: PreprocessConfig;
  topK: number;
  ring: FeatureRing;
  closed: boolean;
}


function now(): number {
  return performance.now();
}

export class Engine implements EngineApi {
  private model: LoadedModel | null = null;
  private recognizer: Recognizer | null = null;
  private backend: BackendName = 'cpu';
  private report: BackendReportEntry[] = [];
  private chunkSize = 1;
  private fixedChunkSize: number | undefined;
  /** LoadOptions.winograd; undefined = the Recognizer's default (on for wasm). */
  private winograd: boolean | undefined;
  private warmupEnabled = true;
  private deviceLost: string | null = null;
  private readonly failedBackends: BackendName[] = [];
  private readonly calls = new Map<number, Call>();
  private readonly streams = new Map<number, LiveStream>();
  private readonly scheduler = new CallScheduler();

  constructor(private readonly readFrames: FrameReader) {}

  async init(init: EngineInit, onProgress?: EngineProgress): Promise<EngineReady> {
    try {
      if (this.model) throw new PPTSNError('invalid-argument', 'this engine already holds a model; create a new one');
      configureWasm(init.wasmPaths, init.wasmThreads);
      // Choose the backend before fetching: a page with no usable backend fails fast, before megabytes download.
      const sel = await selectBackend(init.backend);
      this.backend = sel.backend;
      this.report = sel.report;
      this.fixedChunkSize = init.chunkSize;
      if (init.winograd !== undefined && typeof init.winograd !== 'boolean') throw new PPTSNError('invalid-argument', `winograd must be true or false, got ${String(init.winograd)}`);
      this.winograd = init.winograd;
      if (init.chunkSize !== undefined && !(Number.isInteger(init.chunkSize) && init.chunkSize >= 1)) {
        throw new PPTSNError('invalid-argument', `chunkSize must be a positive integer, got ${String(init.chunkSize)}`);
      }
      this.warmupEnabled = init.warmup;
      this.model = await loadModel(init, onProgress);
      await this.buildRecognizer(onProgress);
      onProgress?.({ phase: 'ready', loaded: 1, total: 1 });
      return this.ready();
    } catch (e) {
      this.release();
      throw toPPTSNError(e, 'loading the model failed');
    }
  }

  private ready(): EngineReady {
    const m = this.model!;
    const counts = parameterCounts(this.recognizer!.arch);
    const info: ModelInfo = {
      depth: m.depth,
      classes: m.numClasses,
      parameters: counts.trainable + counts.bnStatistics,
      dtype: 'float32',
      source: { ...m.source },
    };
    return { backend: this.backend, backendReport: this.report.map((r) => ({ ...r })), labels: [...m.labels], info, chunkSize: this.chunkSize };
  }

  /** Uploads the weights to the active backend and compiles its programs. */
  private async buildRecognizer(onProgress?: EngineProgress): Promise<void> {
    const m = this.model!;
    onProgress?.({ phase: 'upload', loaded: 0, total: 1 });
    this.recognizer = Recognizer.fromStateDict(m.stateDict, { depth: m.depth, numClasses: m.numClasses, ...(this.winograd !== undefined ? { winograd: this.winograd } : {}) });
    onProgress?.({ phase: 'upload', loaded: 1, total: 1 });
    this.chunkSize = this.fixedChunkSize ?? defaultChunkSize(this.backend);
    this.deviceLost = null;
    watchDeviceLoss((reason) => {
      this.deviceLost = reason;
    });
    if (this.warmupEnabled) {
      onProgress?.({ phase: 'warmup', loaded: 0, total: 1 });
      await this.warmup();
      onProgress?.({ phase: 'warmup', loaded: 1, total: 1 });
    }
  }

  /**
   * Runs one 224×224 image through preprocessing, the backbone and the head, so every shader a call needs is
   * compiled before the first call (WebGL compiles shape-independent programs: see backends.ts). On wasm/cpu it
   * still pages the weights in. One image, not a whole chunk, to keep loading fast on slow devices.
   */
  private async warmup(): Promise<void> {
    const rec = this.recognizer!;
    const frame: FramePixels = { width: 320, height: 240, channels: 4, data: new Uint8ClampedArray(320 * 240 * 4) };
    // The accurate preset's extra kernels (fixed-ratio resize, flips, concat) are cheap: compile them too.
    const ten = preprocessFrames([frame], 'accurate');
    await ten.input.data();
    ten.input.dispose();
    const pre = preprocessFrames([frame], 'fast');
    try {
      const logits = tf.tidy(() => {
        const f = rec.features(pre.input);
        return rec.head(tf.reshape(f, [1, f.shape[0], f.shape[1]]) as tf.Tensor3D);
      });
      await logits.data();
      logits.dispose();
    } finally {
      pre.input.dispose();
    }
  }

  /** Starts a call: registers its AbortController under the caller's id. */
  private begin(id: number): AbortSignal {
    if (!this.model || !this.recognizer) throw new PPTSNError('invalid-argument', 'the model is not loaded (or was disposed)');
    if (this.calls.has(id)) throw new PPTSNError('invalid-argument', `call id ${id} is already in use`);
    const controller = new AbortController();
    this.calls.set(id, { controller });
    return controller.signal;
  }

  private static checkAborted(signal: AbortSignal): void {
    if (signal.aborted) throw new PPTSNError('aborted', 'the call was aborted');
  }

  /** Aborts call `id` (queued or running); a no-op for unknown or finished calls. */
  cancel(id: number): void {
    this.calls.get(id)?.controller.abort();
  }

  private async decode(video: EngineVideo, config: PreprocessConfig, signal: AbortSignal, onDecodeProgress?: (fraction: number) => void): Promise<DecodedVideo & { decodeMs: number }> {
    Engine.checkAborted(signal);
    const t0 = now();
    if (video.kind === 'frames') {
      if (video.frames.length !== config.segments) {
        throw new PPTSNError('invalid-argument', `got ${video.frames.length} frames for ${config.segments} segments`);
      }
      return { ...video, decodeMs: 0 };
    }
    const decoded = await this.readFrames(video.source, { segments: config.segments, sampling: config.sampling, signal, ...(onDecodeProgress ? { onDecodeProgress } : {}) });
    Engine.checkAborted(signal);
    return { ...decoded, decodeMs: now() - t0 };
  }

  async classify(id: number, video: EngineVideo, options: EngineCallOptions, onProgress?: ClassifyProgressCallback): Promise<EngineClassifyResult> {
    const t0 = now();
    const signal = this.begin(id);
    const progress = onProgress && this.model ? progressReporter(onProgress, this.model.labels, options.topK) : undefined;
    try {
      const config = resolvePreprocessOptions(options.preprocess);
      const topk = options.topK;
      if (!(Number.isInteger(topk) && topk >= 0)) throw new PPTSNError('invalid-argument', `topK must be a non-negative integer, got ${String(topk)}`);
      resolveScoreFilter(options.filter, this.model!.labels); // bad filters fail before decoding
      return await this.scheduler.run(
        () => this.decode(video, config, signal, progress && ((f) => progress.decode(f, config.segments * config.cropsPerFrame))),
        async (decoded) => {
          Engine.checkAborted(signal);
          const run = await this.withDeviceRecovery(() => this.infer(decoded.frames, config, signal, progress?.clipOptions), () => signal.aborted);
          await progress?.finish(run.logits);
          return {
            ...this.predictions(run.logits, topk, options.filter),
            frameIndices: decoded.frameIndices,
            ...sourceFacts(decoded),
            timings: { decodeMs: decoded.decodeMs, preprocessMs: run.preprocessMs, inferenceMs: run.inferenceMs, totalMs: now() - t0 },
          };
        },
      );
    } catch (e) {
      throw toPPTSNError(e, 'classify failed');
    } finally {
      progress?.release();
      this.calls.delete(id);
    }
  }

  /**
   * Runs `run`; if it fails because the WebGPU device was lost, moves to the next backend and runs it once more
   * (unless `cancelled()`: an aborted call or a closed stream ends there).
   */
  private async withDeviceRecovery<T>(run: () => Promise<T>, cancelled: () => boolean): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (!this.deviceLost && !(isPPTSNError(e) && e.code === 'device-lost')) throw e;
      if (cancelled()) throw e;
      await this.recoverFromDeviceLoss();
      return run();
    }
  }

  /** Throws `device-lost` once the WebGPU device is gone (checked between chunks). */
  private checkDevice(): void {
    if (this.deviceLost) throw new PPTSNError('device-lost', `the WebGPU device was lost (${this.deviceLost})`);
  }

  /** What every result carries: top-k, logits, probabilities and the backend they came from. */
  private predictions(logits: Float32Array, k: number, filter?: ScoreFilter) {
    const probabilities = softmax(logits);
    return { top: topK(probabilities, this.model!.labels, k, resolveScoreFilter(filter, this.model!.labels)), logits, probabilities, backend: this.backend, backendReport: this.report.map((r) => ({ ...r })) };
  }

  /** The chunked forward pass (core/classify/clip.ts), stopping at a chunk boundary on abort or device loss. */
  private infer(frames: FramePixels[], config: PreprocessConfig, signal: AbortSignal, extra: Partial<ClipRunOptions> = {}) {
    return clipLogits(this.recognizer!, frames, config, {
      ...extra,
      chunkSize: this.chunkSize,
      beforeChunk: () => {
        Engine.checkAborted(signal);
        this.checkDevice();
      },
    });
  }

  /** `classify` / `embed` of a tensor input (worker/tensorInput.ts): the compute lane only, no decoding. */
  async classifyTensor(id: number, input: EngineTensor, options: EngineCallOptions): Promise<EngineClassifyResult> {
    return this.tensorCall(id, 'classify', async (t0) => {
      const run = await tensorLogits(this.recognizer!, input, this.chunkSize);
      return { ...this.predictions(run.logits, options.topK, options.filter), frameIndices: [], timings: { decodeMs: 0, preprocessMs: 0, inferenceMs: run.inferenceMs, totalMs: now() - t0 } };
    });
  }

  async embedTensor(id: number, input: EngineTensor, options: EngineEmbedOptions): Promise<EmbedResult> {
    return this.tensorCall(id, 'embed', async (t0) => {
      const { inferenceMs, ...embedding } = await tensorEmbedding(this.recognizer!, input, this.chunkSize, options.perFrame);
      return { ...embedding, frameIndices: [], backend: this.backend, timings: { decodeMs: 0, preprocessMs: 0, inferenceMs, totalMs: now() - t0 } };
    });
  }

  private async tensorCall<T>(id: number, what: string, run: (t0: number) => Promise<T>): Promise<T> {
    const t0 = now();
    const signal = this.begin(id);
    try {
      return await this.scheduler.run(async () => undefined, () => {
        Engine.checkAborted(signal);
        return this.withDeviceRecovery(() => run(t0), () => signal.aborted);
      });
    } catch (e) {
      throw toPPTSNError(e, `${what} failed`);
    } finally {
      this.calls.delete(id);
    }
  }

  /** `model.embed`: classify's decode and chunked backbone, pooled into the embedding instead of the head. */
  async embed(id: number, video: EngineVideo, options: EngineEmbedOptions): Promise<EmbedResult> {
    const t0 = now();
    const signal = this.begin(id);
    try {
      const config = resolvePreprocessOptions(options.preprocess);
      return await this.scheduler.run(
        () => this.decode(video, config, signal),
        async (decoded) => {
          Engine.checkAborted(signal);
          const beforeChunk = () => { Engine.checkAborted(signal); this.checkDevice(); };
          const run = await this.withDeviceRecovery(() => clipEmbedding(this.recognizer!, decoded.frames, config, { chunkSize: this.chunkSize, beforeChunk, perFrame: options.perFrame }), () => signal.aborted);
          const { preprocessMs, inferenceMs, ...embedding } = run;
          return { ...embedding, frameIndices: decoded.frameIndices, backend: this.backend, timings: { decodeMs: decoded.decodeMs, preprocessMs, inferenceMs, totalMs: now() - t0 } };
        },
      );
    } catch (e) {
      throw toPPTSNError(e, 'embed failed');
    } finally {
      this.calls.delete(id);
    }
  }

  async preprocess(id: number, video: EngineVideo, options: EngineCallOptions): Promise<PreprocessResult> {
    const signal = this.begin(id);
    try {
      const config = resolvePreprocessOptions(options.preprocess);
      return await this.scheduler.run(
        () => this.decode(video, config, signal),
        async (decoded) => {
          Engine.checkAborted(signal);
          const pre = preprocessFrames(decoded.frames, config);
          const paddle = toPaddleLayout(pre.input);
          pre.input.dispose();
          try {
            const data = (await paddle.data()) as Float32Array;
            return { frameIndices: decoded.frameIndices, ...sourceFacts(decoded), timestamps: decoded.timestamps, tensor: { shape: [...paddle.shape], data } };
          } finally {
            paddle.dispose();
          }
        },
      );
    } catch (e) {
      throw toPPTSNError(e, 'preprocess failed');
    } finally {
      this.calls.delete(id);
    }
  }

  /**
   * After a lost WebGPU device: drop the dead backend, start the next one in BACKEND_ORDER (the auto rules apply),
   * rebuild the model there from the state dict still in memory, and warm it up.
   */
  private async recoverFromDeviceLoss(): Promise<void> {
    const lost = this.backend;
    this.failedBackends.push(lost);
    try {
      this.recognizer?.dispose();
    } catch {
      // The dead device's buffers may refuse to be destroyed; they die with the device.
    }
    this.recognizer = null;
    for (const s of this.streams.values()) s.ring.clear();
    try {
      tf.removeBackend(lost);
    } catch {
      // Already gone.
    }
    const next = BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(lost) + 1);
    const sel = await selectBackend('auto', [...this.failedBackends, ...BACKEND_ORDER.filter((b) => !next.includes(b))]);
    this.backend = sel.backend;
    this.report = [{ backend: lost, status: 'failed', reason: `device lost during a call (${this.deviceLost ?? 'device-lost error'}); moved to ${sel.backend}` }, ...sel.report.filter((r) => r.backend !== lost)];
    await this.buildRecognizer();
  }

  /**
   * Opens live stream `id`: frames pushed with `streamPush` each go through preprocessing and the backbone once;
   * their features stay in a ring of `windowFrames` entries until `streamClose`.
   */
  streamOpen(id: number, options: EngineStreamOptions): void {
    try {
      if (!this.model || !this.recognizer) throw new PPTSNError('invalid-argument', 'the model is not loaded (or was disposed)');
      if (this.streams.has(id)) throw new PPTSNError('invalid-argument', `stream id ${id} is already in use`);
      const config = resolvePreprocessOptions(options.preprocess);
      const { topK: k, windowFrames } = options;
      if (!(Number.isInteger(k) && k >= 0)) throw new PPTSNError('invalid-argument', `topK must be a non-negative integer, got ${String(k)}`);
      if (!(Number.isInteger(windowFrames) && windowFrames >= 1 && windowFrames <= MAX_SEGMENTS)) {
        throw new PPTSNError('invalid-argument', `segments must be an integer from 1 to ${MAX_SEGMENTS}, got ${String(windowFrames)}`);
      }
      this.streams.set(id, { config, topK: k, ring: new FeatureRing(windowFrames), closed: false });
    } catch (e) {
      throw toPPTSNError(e, 'starting live classification failed');
    }
  }

  /**
   * Adds one frame to stream `id` and returns the result over its window. Runs in the compute lane, so it
   * interleaves with classify calls instead of competing with them for the device.
   */
  async streamPush(id: number, frame: FramePixels, meta: EngineStreamFrame): Promise<EngineStreamResult> {
    const t0 = now();
    try {
      const stream = this.streams.get(id);
      if (!stream || stream.closed) throw new PPTSNError('aborted', 'the stream was stopped');
      return await this.scheduler.compute(async () => {
        if (stream.closed) throw new PPTSNError('aborted', 'the stream was stopped');
        // After a lost device, recovery empties every ring: the window restarts from this frame.
        const step = await this.withDeviceRecovery(() => this.streamStep(stream, frame, meta), () => stream.closed);
        return {
          ...this.predictions(step.logits, stream.topK),
          frames: step.indices.length,
          frameNumbers: step.indices,
          timestamps: step.timestamps,
          timings: { decodeMs: 0, preprocessMs: step.preprocessMs, inferenceMs: step.inferenceMs, totalMs: now() - t0 },
        };
      });
    } catch (e) {
      throw toPPTSNError(e, 'live classification failed');
    }
  }

  /** One frame: backbone features into the ring (synchronously, so a close cannot slip in between), then the head. */
  private async streamStep(stream: LiveStream, frame: FramePixels, meta: EngineStreamFrame) {
    const rec = this.recognizer!;
    this.checkDevice();
    const t0 = now();
    const pre = preprocessFrames([frame], stream.config);
    const t1 = now();
    let features: tf.Tensor2D;
    try {
      features = tf.tidy(() => rec.features(pre.input, { batchSize: this.chunkSize }));
    } finally {
      pre.input.dispose();
    }
    stream.ring.push({ features, index: meta.index, timestamp: meta.timestamp });
    const indices = stream.ring.indices;
    const timestamps = stream.ring.timestamps;
    const logits = tf.tidy(() => rec.head(stream.ring.window()));
    try {
      const data = (await logits.data()) as Float32Array;
      return { logits: Float32Array.from(data), indices, timestamps, preprocessMs: t1 - t0, inferenceMs: now() - t1 };
    } finally {
      logits.dispose();
    }
  }

  /** Closes stream `id` and frees its features; a frame in flight finishes and is dropped. No-op if unknown. */
  streamClose(id: number): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    stream.closed = true;
    stream.ring.clear();
    this.streams.delete(id);
  }

  /**
   * Starts a fine-tuning run on this model (see trainerEngine.ts) and returns it as a comlink proxy. The trainer
   * module (gradients included) is loaded on first use, so classification never pays for it.
   */
  async createTrainer(options: import('./trainerEngine.js').EngineTrainerOptions, onStep?: (s: import('../core/train/trainer.js').StepInfo) => void, onEpoch?: (e: import('../core/train/trainer.js').EpochInfo) => void) {
    try {
      if (!this.model || !this.recognizer) throw new PPTSNError('invalid-argument', 'the model is not loaded (or was disposed)');
      const { WorkerTrainer } = await import('./trainerEngine.js');
      const host = { stateDict: this.model.stateDict, recognizer: this.recognizer, readFrames: this.readFrames, chunkSize: this.chunkSize, ...(this.model.source.sha256 ? { sha256: this.model.source.sha256 } : {}) };
      return proxy(await WorkerTrainer.create(host, options, onStep, onEpoch));
    } catch (e) {
      throw toPPTSNError(e, 'creating the trainer failed');
    }
  }

  /**
   * Holds the Web Lock `name` until this worker ends (terminated, crashed, closed). The page queues a request for
   * the same lock, which the browser grants only then: an event-driven death notice, with no heartbeat or timeout
   * that a long inference chunk could trip. Resolves once the lock is held; false where Web Locks are missing.
   */
  async holdLifeLock(name: string): Promise<boolean> {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    if (!locks) return false;
    await new Promise<void>((held, failed) => {
      locks.request(name, () => {
        held();
        return new Promise<never>(() => undefined);
      }).catch(failed);
    });
    return true;
  }

  memory(): { numTensors: number; numBytes: number; wasmHeapBytes?: number } {
    const m = tf.memory();
    // WebAssembly memory only grows, so the wasm heap's size is the high-water mark of the backend's memory.
    const heap = (tf.getBackend() === 'wasm' ? (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer.byteLength : undefined);
    return { numTensors: m.numTensors, numBytes: m.numBytes, ...(heap !== undefined ? { wasmHeapBytes: heap } : {}) };
  }

  private release(): void {
    for (const c of this.calls.values()) c.controller.abort();
    for (const id of [...this.streams.keys()]) this.streamClose(id);
    this.recognizer?.dispose();
    this.recognizer = null;
    this.model = null;
  }

  /** Frees the model and every tensor; the API terminates the worker right after. */
  dispose(): void {
    this.release();
    tf.disposeVariables();
  }
}

export type { StateDict };
