/**
 * `PPTSN`: the public browser API. Everything heavy happens in a module worker (the `Engine`); this class only
 * resolves arguments (api/config.ts, once), grabs frames from `<video>` elements (which exist only on the main
 * thread: api/videoSource.ts), forwards calls through comlink, and turns an AbortSignal into a prompt rejection
 * plus a `cancel` message to the worker. The worker session and its restarts are api/session.ts, the live stream
 * api/liveStream.ts.
 */
import { proxy, transfer, type Remote } from 'comlink';
import { PPTSNError, isPPTSNError } from '../core/errors.js';
import type { EvalSummary } from '../core/eval/metrics.js';
import type { Engine } from '../worker/engine.js';
import { installErrorTransport } from '../common/errorTransport.js';
import { ModelStore } from '../common/modelStore.js';
import type { EngineReady, EngineTensor, EngineVideo } from '../worker/protocol.js';
import { validateClassifyConfig, validateEmbedConfig, validatePreprocessConfig, type ModelDefaults } from './config.js';
import { cacheErrorRelay, type CacheError } from './cacheError.js';
import { evaluateSources, type EvaluateItem, type EvaluateOptions } from './evaluate.js';
import { engineTensor, isTensorInput, type TensorInput } from './inputs.js';
import { openStream } from './liveStream.js';
import { engineInitOf } from './modelSource.js';
import { abortable, abortedError, onLive, restartPlanOf, startSession, workerLostErrors, type RestartPlan, type Session } from './session.js';
import { checkElementHasSource, fallbackError, namedSourceError, sourceName } from './sourceErrors.js';
import { spawnEngineWorker } from './spawn.js';
import { cacheInfo, requestPersistence, type CacheInfo } from './storage.js';
import { Trainer, trainerArgs, withClips, type TrainerOptions } from './trainer.js';
import type { StateDict } from '../core/stateDict.js';
import { deleteTrainingRun, listTrainingRuns, type TrainingRunInfo } from './trainingRuns.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';
import type {
  BackendName,
  BackendReportEntry,
  CachedModel,
  ClassifyOptions,
  ClassifyResult,
  EmbedOptions,
  EmbedResult,
  LoadOptions,
  MemoryInfo,
  ModelInfo,
  PreprocessResult,
  StreamHandle,
  StreamOptions,
  VideoSource,
} from './types.js';
import { trainerClipSource, transferFrames, videoFor } from './videoSource.js';

installErrorTransport();

/** A loaded PP-TSN model running in a Web Worker. Create with `PPTSN.load`; free with `dispose()`. */
export class PPTSN {
  private nextId = 1;
  private disposed = false;
  private restarting: Promise<Session> | null = null;
  /** Stop functions of running streams (dispose stops them). */
  private readonly streams = new Set<() => void>();

  private constructor(
    private session: Session,
    private readonly restartPlan: RestartPlan | null,
    private currentBackend: BackendName,
    private report: BackendReportEntry[],
    /** Class names, indexed by class id. */
    readonly labels: readonly string[],
    /** What the model is: depth, classes, parameters, dtype, source. */
    readonly info: Readonly<ModelInfo>,
    /** What the call defaults depend on: the labels and model.json's preset (api/config.ts, core/classify/defaults.ts). */
    private readonly defaults: ModelDefaults,
  ) {}

  /**
   * Starts the worker, picks the backend, loads (and for weight files converts) the model, caches it, and compiles
   * every shader. Rejects with a PPTSNError: `backend-unavailable`, `network`, `model-invalid`, `storage`, `aborted`…
   *
   * ```ts
   * const model = await PPTSN.load({ model: '/models/pptsn_k400/model.json', onProgress: (p) => console.log(p) });
   * ```
   */
  static async load(options: LoadOptions): Promise<PPTSN> {
    if (!options || typeof options !== 'object') throw new PPTSNError('invalid-argument', 'PPTSN.load expects an options object with a `model`');
    const { signal } = options;
    if (signal?.aborted) throw abortedError('loading the model');
    const init = engineInitOf(options);
    const spawn = typeof options.worker === 'function' ? options.worker : options.worker ? null : spawnEngineWorker;
    const worker = typeof options.worker === 'object' ? options.worker : spawn!();
    const cache = cacheErrorRelay(options.onProgress);
    const { session, ready } = await startSession(worker, init, cache.onProgress, signal);
    if (init.cache && !cache.error()) void requestPersistence();
    const labels = Object.freeze([...ready.labels]);
    const defaults = { labels, ...(ready.preset !== undefined ? { preset: ready.preset } : {}) };
    const model = new PPTSN(session, spawn ? restartPlanOf(init, ready, spawn) : null, ready.backend, ready.backendReport, labels, Object.freeze(ready.info), defaults);
    model.cacheFailure = cache.error();
    return model;
  }

  private cacheFailure: CacheError | null = null;
  /** Why caching failed during the load (`quota-exceeded` with `file` and `bytes`, or `storage`); null when it did not. */
  get cacheError(): CacheError | null {
    return this.cacheFailure;
  }

  /** Models cached by earlier loads (Cache Storage of this origin). */
  static async cachedModels(): Promise<CachedModel[]> {
    const store = await ModelStore.open();
    return store ? store.list() : [];
  }

  /** The cached models with the origin's storage usage, quota and persistence (`navigator.storage`). */
  static async cacheInfo(): Promise<CacheInfo> {
    return cacheInfo(await PPTSN.cachedModels());
  }

  /** Removes a cached model by name; resolves to false if there was none. */
  static async deleteCachedModel(name: string): Promise<boolean> {
    const store = await ModelStore.open();
    return store ? store.deleteName(name) : false;
  }

  /**
   * Fine-tuning runs stored in IndexedDB by `createTrainer` (name, classes, strategy, epochs done and planned,
   * last accuracy, clips, bytes), most recent first. `createTrainer({ name })` reopens one with its clips.
   */
  static trainingRuns(): Promise<TrainingRunInfo[]> {
    return listTrainingRuns();
  }

  /** Deletes a stored fine-tuning run (clips and checkpoint); resolves to false if there was none. */
  static deleteTrainingRun(name: string): Promise<boolean> {
    return deleteTrainingRun(name);
  }

  /** The backend the network runs on (it changes if a WebGPU device is lost and the engine moves on). */
  get backend(): BackendName {
    return this.currentBackend;
  }

  /** Every backend considered at load (and after a lost device), with why it was used, skipped or failed. */
  get backendReport(): readonly BackendReportEntry[] {
    return this.report;
  }

  private live(): void {
    if (this.disposed) throw new PPTSNError('invalid-argument', 'this model was disposed (close() or dispose() was called): load it again with PPTSN.load to use it');
  }

  /** The live session; after a crash or termination, a new worker with the same model (one restart at a time). */
  private async current(): Promise<Session> {
    this.live();
    if (!this.session.dead) return this.session;
    if (!this.restartPlan) {
      throw new PPTSNError('internal', 'the pptsn-web worker stopped and cannot be restarted, because PPTSN.load was given a Worker object; pass `worker: () => new Worker(…)` instead');
    }
    this.restarting ??= this.respawn().finally(() => (this.restarting = null));
    return this.restarting;
  }

  private async respawn(): Promise<Session> {
    const plan = this.restartPlan!;
    this.session.end('a new worker replaced it');
    let started: { session: Session; ready: EngineReady };
    try {
      started = await startSession(plan.spawn(), plan.init);
    } catch (e) {
      if (!plan.fallback || !isPPTSNError(e) || !['invalid-argument', 'storage', 'model-invalid', 'integrity'].includes(e.code)) throw e;
      // The cache entry is gone (cleared storage): convert the original weight file again.
      started = await startSession(plan.spawn(), { ...plan.init, model: plan.fallback });
    }
    if (this.disposed) {
      started.session.end('the model was disposed');
      throw new PPTSNError('invalid-argument', 'this model was disposed');
    }
    this.session = started.session;
    this.currentBackend = started.ready.backend;
    this.report = started.ready.backendReport;
    return started.session;
  }

  /**
   * Runs `start(id)` as call `id`; if `signal` fires first, rejects with `aborted` at once and tells the worker to
   * stop the call (it stops at its next chunk boundary, and the next call is not held up by it for long).
   */
  private async call<T>(signal: AbortSignal | undefined, what: string, start: (engine: Remote<Engine>, id: number) => Promise<T>): Promise<T> {
    this.live();
    if (signal?.aborted) throw abortedError(what);
    const session = await this.current();
    if (signal?.aborted) throw abortedError(what);
    const id = this.nextId++;
    return abortable(onLive(session, start(session.engine, id)), signal, what, () => void session.engine.cancel(id).catch(() => undefined));
  }

  /** Sends a call; if the worker cannot decode the media (no WebCodecs for it), retries with frames grabbed here. */
  private async withVideo<T>(source: VideoSource, preprocess: PreprocessConfig, signal: AbortSignal | undefined, what: string, run: (engine: Remote<Engine>, id: number, video: EngineVideo) => Promise<T>): Promise<T> {
    this.live();
    checkElementHasSource(source);
    const name = sourceName(source);
    const attempt = async () => {
      const { video, fallback } = await videoFor(source, preprocess, signal);
      const send = (v: EngineVideo) => this.call(signal, what, (engine, id) => run(engine, id, transferFrames(v)));
      try {
        return await send(video);
      } catch (e) {
        const elementCanTry = fallback && typeof document !== 'undefined' && isPPTSNError(e) && (e.code === 'unsupported-source' || e.code === 'cross-origin' || e.code === 'network');
        if (!elementCanTry) throw e;
        try {
          return await send(await fallback());
        } catch (f) {
          // The element could not play it either: the worker's error (a 404, ffmpeg.wasm's diagnosis) says more.
          throw fallbackError(e, f);
        }
      }
    };
    try {
      return await attempt();
    } catch (e) {
      // The worker died under this call (crash, terminated): once, on a fresh worker. Frames are grabbed again,
      // since those sent to the dead worker were transferred with it.
      if (!workerLostErrors.has(e as Error) || signal?.aborted || this.disposed) throw namedSourceError(e, name);
      return attempt().catch((again: unknown) => { throw namedSourceError(again, name); });
    }
  }

  /** Sends a call on a tensor input, its checked buffer transferred (api/inputs.ts). */
  private withTensor<T>(source: TensorInput, signal: AbortSignal | undefined, what: string, run: (engine: Remote<Engine>, id: number, tensor: EngineTensor) => Promise<T>): Promise<T> {
    return this.call(signal, what, (engine, id) => {
      const t = engineTensor(source);
      return run(engine, id, transfer(t, [t.data.buffer as ArrayBuffer]));
    });
  }

  /**
   * Classifies a video: samples T frames (PaddleVideo's test sampler), preprocesses them (preset, crops), runs the
   * network in chunks, averages the T·C features, and applies the FC head and softmax.
   *
   * ```ts
   * const { top } = await model.classify(file, { preset: 'fast' });
   * console.log(top[0].label, top[0].score);
   * ```
   */
  async classify(source: VideoSource, options: ClassifyOptions = {}): Promise<ClassifyResult> {
    const config = validateClassifyConfig(options, source, this.defaults);
    const onProgress = options.onProgress ? proxy(guardedCallback(options.onProgress)) : undefined;
    const r = isTensorInput(source)
      ? await this.withTensor(source, options.signal, 'classify', (engine, id, tensor) => engine.classifyTensor(id, tensor, config))
      : await this.withVideo(source, config.preprocess, options.signal, 'classify', (engine, id, video) => engine.classify(id, video, config, onProgress));
    this.currentBackend = r.backend;
    this.report = r.backendReport;
    const { backendReport: _report, ...result } = r;
    return result;
  }

  /**
   * The clip's embedding: the `[F]` feature (2048 for ResNet50+, 512 for ResNet18/34) ppTSNHead averages over the
   * T·C images before its FC, so `logits = embedding · W + b` (`head.fc.weight` `[F, classes]`); with
   * `perFrame`, also each sampled frame's feature (crops averaged). For retrieval (cosine similarity) or a custom
   * head. Same sources, presets and errors as `classify`.
   */
  async embed(source: VideoSource, options: EmbedOptions = {}): Promise<EmbedResult> {
    const config = validateEmbedConfig(options, source, this.defaults);
    const r = isTensorInput(source)
      ? await this.withTensor(source, options.signal, 'embed', (engine, id, tensor) => engine.embedTensor(id, tensor, config))
      : await this.withVideo(source, config.preprocess, options.signal, 'embed', (engine, id, video) => engine.embed(id, video, config));
    this.currentBackend = r.backend;
    return r;
  }

  /**
   * The network input PaddleVideo would build for this video: `[1, T·C, 3, 224, 224]` float32 in PaddleVideo's layout
   * and crop order, with the frame indices and timestamps, for diffing against PaddleVideo's own pipeline.
   */
  async preprocess(source: VideoSource, options: ClassifyOptions = {}): Promise<PreprocessResult> {
    if (isTensorInput(source)) throw new PPTSNError('invalid-argument', 'preprocess takes a video or frames; a tensor input is already preprocessed');
    const preprocess = validatePreprocessConfig(options, source, this.defaults);
    return this.withVideo(source, preprocess, options.signal, 'preprocess', (engine, id, video) => engine.preprocess(id, video, { preprocess, topK: 0 }));
  }

  /**
   * Evaluates the model on labelled clips (PaddleVideo's evaluation step): classifies each source in turn and
   * returns top-1/top-5 (mean over items), per-class accuracy, the confusion matrix and the failed items, the same
   * summary as `pptsn-web eval`. A clip that cannot be read is counted as failed and the run goes on.
   */
  async evaluate(items: readonly EvaluateItem[], options: EvaluateOptions = {}): Promise<EvalSummary> {
    return evaluateSources((source, o) => this.classify(source, o), this.labels, items, options);
  }

  /**
   * Live classification of a playing `<video>` or a `MediaStream` (webcam, screen, `canvas.captureStream()`).
   * Frames are sampled every `windowSeconds / segments` seconds (dropped, never queued, while the model is busy);
   * each sampled frame costs one backbone pass, its features go into a ring buffer of the last `segments` frames in
   * the worker, and every result is PP-TSN's average over that window. Results arrive through `onResult` while the
   * video plays; `stop()` (or `signal`) ends the stream and frees the window's features. `topK`,
   * `scoreThreshold` (0–1) and `classes` (labels or indices) pick each result's `top` as they do classify's;
   * `probabilities` always cover every class. Bad options (an unknown class, a threshold outside 0–1, …) throw
   * `PPTSNError('invalid-argument')` from this call, before any frame is grabbed.
   *
   * ```ts
   * const live = model.classifyStream(await navigator.mediaDevices.getUserMedia({ video: true }), {
   *   onResult: (r) => (label.textContent = `${r.top[0].label} ${(r.top[0].score * 100).toFixed(0)} %`),
   * });
   * // later
   * await live.stop();
   * ```
   */
  classifyStream(source: HTMLVideoElement | MediaStream, options: StreamOptions): StreamHandle {
    this.live();
    return openStream(
      {
        nextId: () => this.nextId++,
        current: () => this.current(),
        update: (r) => {
          this.currentBackend = r.backend;
          this.report = r.backendReport;
        },
        streams: this.streams,
        labels: this.labels,
      },
      source,
      options,
    );
  }

  /**
   * Fine-tuning on the user's own clips (see api/trainer.ts): a trainer in this model's worker, starting from these
   * weights with a new head for `options.classes`. With the `name` of a run stored in IndexedDB (same classes, or
   * none given) its clips and last checkpoint are restored, and `fit` resumes where it stopped. `options.clips`, a
   * PaddleVideo-style list of `{ source, label }`, is added before the trainer is returned (`Trainer.addClips`);
   * `options.teacher`, another loaded model, distils into this one (api/trainer.ts); with `options.pretrained`
   * (PaddleClas ImageNet weights: URL, File or bytes) and `depth` the student starts from that backbone instead of
   * this model's (a smaller student taught by this model: `createTrainer({ teacher: this, depth: 18, pretrained })`).
   */
  async createTrainer(options: TrainerOptions): Promise<Trainer<PPTSN>> {
    const session = await this.current();
    const [init, onStep, onEpoch] = await trainerArgs(options);
    const remote = await onLive(session, session.engine.createTrainer(init, onStep, onEpoch));
    const plan = this.restartPlan;
    const trainer = new Trainer<PPTSN>(remote, {
      loadConverted: (bytes, fileName, labels) =>
        PPTSN.load({
          model: bytes,
          fileName,
          labels,
          backend: this.currentBackend,
          cache: false,
          ...(plan?.init.wasmPaths !== undefined ? { wasmPaths: plan.init.wasmPaths } : {}),
          ...(plan ? { worker: plan.spawn } : {}),
        }),
      sourceOf: trainerClipSource,
    }, options.signal, options.onProgress);
    return withClips(trainer, options);
  }

  /** This model's weights, for `other.createTrainer({ teacher: thisModel })` (distillation; a copy crosses over). */
  async teacherWeights(): Promise<StateDict> {
    return this.call(undefined, 'teacherWeights', (engine) => engine.teacherStateDict());
  }

  /** tfjs tensors and bytes held by the worker's engine: back at their baseline after every call (leak checks). */
  async memory(): Promise<MemoryInfo> {
    return this.call(undefined, 'memory', (engine) => engine.memory());
  }

  /** `dispose()` under MediaPipe's name. */
  close(): Promise<void> {
    return this.dispose();
  }

  /** `await using model = await PPTSN.load(…)` disposes the model at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /** Frees the model and every tensor, and ends the worker. Pending calls reject; further calls throw. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const stop of [...this.streams]) stop();
    const s = this.session;
    try {
      if (!s.dead) await Promise.race([s.engine.dispose(), s.died, new Promise((r) => setTimeout(r, 1000))]);
    } catch {
      // The worker is terminated below anyway.
    }
    s.end('the model was disposed');
  }
}

/** A user callback that cannot fail the call: its exceptions go to `reportError` (the console). */
function guardedCallback<A>(fn: (a: A) => void): (a: A) => void {
  return (a) => {
    try {
      fn(a);
    } catch (e) {
      if (typeof reportError === 'function') reportError(e);
      else console.error(e);
    }
  };
}
