/**
 * `PPTSN`: the public browser API. Everything heavy happens in a module worker (the `Engine`); this class only
 * resolves arguments, grabs frames from `<video>` elements (which exist only on the main thread), forwards calls
 * through comlink, and turns an AbortSignal into a prompt rejection plus a `cancel` message to the worker.
 *
 * Worker lifetime: the worker holds a Web Lock for as long as it lives and the page queues a request for it, so a
 * worker that crashes or is terminated is noticed at once (no heartbeat a long chunk could trip). Calls pending on
 * it reject instead of hanging (or are retried once on a fresh worker, for classify/preprocess), and the next call
 * starts a new worker with the same model: from Cache Storage when it was cached, else from its original source.
 */
import { proxy, releaseProxy, transfer as transferMark, wrap, type Remote } from 'comlink';
import { PPTSNError, isPPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames.js';
import { MAX_SEGMENTS, resolvePreprocessOptions, type PreprocessOptions } from '../core/preprocess/presets.js';
import { sampleIndices } from '../core/preprocess/sampler.js';
import { readFrames } from '../video/frames.js';
import { isVideoElement } from '../video/util.js';
import { grabFrames, type FrameGrabber } from '../video/stream.js';
import type { Engine } from '../worker/engine.js';
import { installErrorTransport } from '../worker/errorTransport.js';
import { ModelStore } from '../worker/modelStore.js';
import type { EngineCallOptions, EngineInit, EngineModelSource, EngineReady, EngineVideo } from '../worker/protocol.js';
import { scoreFilterOf } from './callOptions.js';
import type { EmbedOptions, EmbedResult } from './types.js';
import { clipPreprocess, engineTensor, framesVideo, isFrameList, isTensorInput } from './inputs.js';
import { cacheErrorRelay, type CacheError } from './cacheError.js';
import { cacheInfo, requestPersistence, type CacheInfo } from './storage.js';
import { evaluateSources, type EvaluateItem, type EvaluateOptions } from './evaluate.js';
import { isRawframesSource, readRawframesSource } from './rawframes.js';
import { spawnEngineWorker } from './spawn.js';
import { Trainer, trainerArgs, type TrainerOptions } from './trainer.js';
import type { EvalSummary } from '../core/eval/metrics.js';
import type {
  BackendName,
  BackendReportEntry,
  CachedModel,
  ClassifyOptions,
  ClassifyResult,
  LoadOptions,
  LoadProgress,
  MemoryInfo,
  ModelInfo,
  ModelSource,
  PreprocessResult,
  StreamHandle,
  StreamOptions,
  StreamResult,
  VideoSource,
} from './types.js';

installErrorTransport();

function abortedError(what: string): PPTSNError {
  return new PPTSNError('aborted', `${what} was aborted`);
}

/** Errors that mean "the worker died under this call" (a retry on a fresh worker may succeed). */
const workerLostErrors = new WeakSet<Error>();

/** One worker and its comlink proxy; `died` rejects when the worker is gone (crash, terminate, our dispose). */
interface Session {
  worker: Worker;
  engine: Remote<Engine>;
  died: Promise<never>;
  readonly dead: boolean;
  /** Why the worker stopped (the first `kill` reason), or null while it lives. */
  readonly stoppedBecause: string | null;
  kill(reason: string): void;
}

function newSession(worker: Worker): Session {
  let stoppedBecause: string | null = null;
  let reject!: (e: PPTSNError) => void;
  const died = new Promise<never>((_, r) => (reject = r));
  died.catch(() => undefined);
  return {
    worker,
    engine: wrap<Engine>(worker),
    died,
    get dead() {
      return stoppedBecause !== null;
    },
    get stoppedBecause() {
      return stoppedBecause;
    },
    kill(reason: string) {
      if (stoppedBecause !== null) return;
      stoppedBecause = reason;
      const e = new PPTSNError('internal', `the pptsn-web worker stopped (${reason}); the next call restarts it with the same model`);
      workerLostErrors.add(e);
      reject(e);
    },
  };
}

/** Resolves like `p`, or rejects as soon as the session's worker dies (so no call can hang on a dead worker). */
function onLive<T>(session: Session, p: Promise<T>): Promise<T> {
  return Promise.race([p, session.died]);
}

/** How to start the engine again after its worker died. */
interface RestartPlan {
  spawn: () => Worker;
  init: EngineInit;
  /** The original source, when `init` names a cache entry that may be missing (caching is best effort). */
  fallback?: EngineModelSource;
}

/**
 * Starts `worker`'s engine: first the life lock (so a death during loading is noticed too), then `init`.
 * On failure the worker is terminated and the error rethrown as a PPTSNError.
 */
async function startSession(worker: Worker, init: EngineInit, onProgress?: (p: LoadProgress) => void, signal?: AbortSignal): Promise<{ session: Session; ready: EngineReady }> {
  const session = newSession(worker);
  // Every event gets its percentage here, whichever worker phase sent it.
  const progress = onProgress ? proxy((p: LoadProgress) => onProgress(p.total > 0 ? { ...p, progress: Math.min(100, (100 * p.loaded) / p.total) } : p)) : undefined;
  const onError = (ev: ErrorEvent) => {
    ev.preventDefault?.();
    session.kill(`it failed to start: ${ev.message || 'script error (check that dist/worker/worker.js is served)'}`);
  };
  worker.addEventListener('error', onError);
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    session.kill('loading was aborted');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    const lockName = `pptsn-web-worker-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
    if (locks && (await onLive(session, session.engine.holdLifeLock(lockName)))) {
      // Granted only once the worker, which holds the lock, has ended.
      void locks.request(lockName, () => session.kill('it crashed or was terminated')).catch(() => undefined);
    }
    const ready = await onLive(session, session.engine.init(init, progress));
    return { session, ready };
  } catch (e) {
    worker.terminate();
    session.kill('loading failed');
    if (aborted) throw abortedError('loading the model');
    // While loading there is no model to restart with: the reason alone.
    if (workerLostErrors.has(e as Error)) throw new PPTSNError('internal', `the pptsn-web worker stopped (${session.stoppedBecause})`);
    throw isPPTSNError(e) ? e : new PPTSNError('internal', `loading the model failed: ${(e as Error)?.message ?? String(e)}`);
  } finally {
    worker.removeEventListener('error', onError);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** A string is a cached model's name unless it looks like a URL or a path (has a scheme, a slash, or ends in .json). */
function looksLikeUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(s) || s.includes('/') || /\.json($|[?#])/i.test(s);
}

function baseUrl(): string {
  return typeof document !== 'undefined' ? document.baseURI : globalThis.location.href;
}

function modelSourceOf(options: LoadOptions): EngineModelSource {
  const m: ModelSource = options.model;
  const fileName = options.fileName;
  const extra = { ...(options.info ? { info: options.info } : {}), ...(options.labels ? { labels: [...options.labels] } : {}) };
  if (typeof m === 'string') return looksLikeUrl(m) ? { kind: 'url', url: new URL(m, baseUrl()).href } : { kind: 'name', name: m };
  if (m instanceof URL) return { kind: 'url', url: m.href };
  if (typeof Blob !== 'undefined' && m instanceof Blob) {
    const name = fileName ?? (typeof File !== 'undefined' && m instanceof File ? m.name : undefined);
    return { kind: 'bytes', data: m, ...(name ? { fileName: name } : {}), ...extra };
  }
  if (m instanceof ArrayBuffer) return { kind: 'bytes', data: m, ...(fileName ? { fileName } : {}), ...extra };
  if (ArrayBuffer.isView(m)) {
    // Copy the view's bytes: structured clone would send the whole underlying buffer.
    const copy = new Uint8Array(m.byteLength);
    copy.set(new Uint8Array(m.buffer, m.byteOffset, m.byteLength));
    return { kind: 'bytes', data: copy.buffer, ...(fileName ? { fileName } : {}), ...extra };
  }
  throw new PPTSNError('invalid-argument', 'model must be a model.json URL, a File/Blob/ArrayBuffer of a .pdparams/.pdiparams file, or a cached model name');
}

/** Transferables of frames, so pixel buffers move to the worker instead of being copied. */
function transferablesOf(frames: FramePixels[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const f of frames) if (f.data.buffer instanceof ArrayBuffer) seen.add(f.data.buffer);
  return [...seen];
}

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
    const init: EngineInit = {
      model: modelSourceOf(options),
      backend: options.backend ?? 'auto',
      cache: options.cache ?? true,
      warmup: options.warmup ?? true,
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(options.wasmPaths !== undefined ? { wasmPaths: typeof options.wasmPaths === 'string' ? new URL(options.wasmPaths, baseUrl()).href : { ...options.wasmPaths } } : {}),
      ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
      ...(options.winograd !== undefined ? { winograd: options.winograd } : {}),
      ...(options.wasmThreads !== undefined ? { wasmThreads: options.wasmThreads } : {}),
    };
    const spawn = typeof options.worker === 'function' ? options.worker : options.worker ? null : spawnEngineWorker;
    const worker = typeof options.worker === 'object' ? options.worker : spawn!();
    const cache = cacheErrorRelay(options.onProgress);
    const { session, ready } = await startSession(worker, init, cache.onProgress, signal);
    if (init.cache && !cache.error()) void requestPersistence();
    const model = new PPTSN(session, spawn ? restartPlanOf(init, ready, spawn) : null, ready.backend, ready.backendReport, Object.freeze([...ready.labels]), Object.freeze(ready.info));
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

  /** The backend the network runs on (it changes if a WebGPU device is lost and the engine moves on). */
  get backend(): BackendName {
    return this.currentBackend;
  }

  /** Every backend considered at load (and after a lost device), with why it was used, skipped or failed. */
  get backendReport(): readonly BackendReportEntry[] {
    return this.report;
  }

  private live(): void {
    if (this.disposed) throw new PPTSNError('invalid-argument', 'this model was disposed');
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
    const old = this.session;
    try {
      old.engine[releaseProxy]();
    } catch {
      // Its port is closed already.
    }
    old.worker.terminate();
    let started: { session: Session; ready: EngineReady };
    try {
      started = await startSession(plan.spawn(), plan.init);
    } catch (e) {
      if (!plan.fallback || !isPPTSNError(e) || !['invalid-argument', 'storage', 'model-invalid', 'integrity'].includes(e.code)) throw e;
      // The cache entry is gone (cleared storage): convert the original weight file again.
      started = await startSession(plan.spawn(), { ...plan.init, model: plan.fallback });
    }
    if (this.disposed) {
      started.session.worker.terminate();
      started.session.kill('the model was disposed');
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
    const running = onLive(session, start(session.engine, id));
    if (!signal) return running;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        void session.engine.cancel(id).catch(() => undefined);
        reject(abortedError(what));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      running.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /**
   * Prepares a video for the engine. Blobs and URLs are decoded in the worker. A `<video>` with a fetchable source
   * is decoded in the worker from its URL (exact frames); otherwise (cross-origin without CORS) its frames are
   * grabbed here by seeking and transferred. A `<video>` playing a live MediaStream is refused at once
   * ('unsupported-source', use classifyStream): readFrames says so.
   */
  private async videoFor(source: VideoSource, preprocess: PreprocessOptions, signal: AbortSignal | undefined): Promise<{ video: EngineVideo; fallback?: () => Promise<EngineVideo> }> {
    if (isFrameList(source)) return { video: framesVideo(source) };
    const config = resolvePreprocessOptions(preprocess);
    if (isRawframesSource(source)) {
      // Rawframes: the sampled JPEGs decoded here (only those) and sent as frames; a folder has no timestamps.
      const r = await readRawframesSource(source, config, signal ? { signal } : {});
      return { video: { kind: 'frames', frames: r.frames, frameIndices: r.indices, timestamps: r.indices.map(() => NaN) } };
    }
    // The source the call was made with, so frames of a different one are never returned for it.
    const elementSrc = isVideoElement(source) && !source.srcObject ? source.currentSrc || source.src : undefined;
    const grab = async (from: Blob | string | HTMLVideoElement): Promise<EngineVideo> => {
      // A <video> whose source changes while it is being seeked would hand over frames of the new source (or
      // stall): a src change ('emptied'/'loadstart') aborts the read with a typed error instead.
      const changed = new AbortController();
      const onChange = () => changed.abort();
      const el = isVideoElement(from) ? from : null;
      el?.addEventListener('emptied', onChange);
      el?.addEventListener('loadstart', onChange);
      // Changed before the read even started (e.g. while the worker tried the URL): same error, not the new video.
      if (el && elementSrc !== undefined && (el.currentSrc || el.src) !== elementSrc) changed.abort();
      try {
        if (changed.signal.aborted) throw changed.signal.reason;
        const r = await readFrames(from, {
          indices: (frameCount: number) => sampleIndices(config.sampling, frameCount, config.segments),
          path: 'element',
          signal: signal ? AbortSignal.any([signal, changed.signal]) : changed.signal,
        });
        return { kind: 'frames', frames: r.frames, frameIndices: r.frameIndices, timestamps: r.timestamps, frameCount: r.frameCount, rotation: r.rotation };
      } catch (e) {
        if (changed.signal.aborted && !signal?.aborted) {
          throw new PPTSNError('decode-failed', "the <video> element's source changed while its frames were being read; classify it again once the new source has loaded", { cause: e });
        }
        throw e;
      } finally {
        el?.removeEventListener('emptied', onChange);
        el?.removeEventListener('loadstart', onChange);
      }
    };
    if (isVideoElement(source)) {
      const src = source.currentSrc || source.src;
      if (src && !source.srcObject && /^(https?|blob):/i.test(src)) return { video: { kind: 'media', source: src }, fallback: () => grab(source) };
      return { video: await grab(source) };
    }
    if (typeof Blob !== 'undefined' && source instanceof Blob) return { video: { kind: 'media', source }, fallback: () => grab(source) };
    if (typeof source === 'string' || source instanceof URL) {
      const url = new URL(String(source), baseUrl()).href;
      return { video: { kind: 'media', source: url }, fallback: () => grab(url) };
    }
    throw new PPTSNError('unsupported-source', 'classify accepts a File, Blob, URL (string or URL), HTMLVideoElement or a rawframes folder (image Files/Blobs or a FileSystemDirectoryHandle)');
  }

  /** Sends a call; if the worker cannot decode the media (no WebCodecs for it), retries with frames grabbed here. */
  private async withVideo<T>(source: VideoSource, preprocess: PreprocessOptions, signal: AbortSignal | undefined, what: string, run: (engine: Remote<Engine>, id: number, video: EngineVideo) => Promise<T>): Promise<T> {
    this.live();
    const attempt = async () => {
      const { video, fallback } = await this.videoFor(source, preprocess, signal);
      const send = (v: EngineVideo) =>
        this.call(signal, what, (engine, id) =>
          v.kind === 'frames' ? run(engine, id, transferFrames(v)) : run(engine, id, v),
        );
      try {
        return await send(video);
      } catch (e) {
        const elementCanTry = fallback && typeof document !== 'undefined' && isPPTSNError(e) && (e.code === 'unsupported-source' || e.code === 'cross-origin' || e.code === 'network');
        if (!elementCanTry) throw e;
        return send(await fallback());
      }
    };
    try {
      return await attempt();
    } catch (e) {
      // The worker died under this call (crash, terminated): once, on a fresh worker. Frames are grabbed again,
      // since those sent to the dead worker were transferred with it.
      if (!workerLostErrors.has(e as Error) || signal?.aborted || this.disposed) throw e;
      return attempt();
    }
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
    const preprocess = clipPreprocess(preprocessOptionsOf(options), source);
    const callOptions: EngineCallOptions = { preprocess, topK: options.topK ?? 5, ...scoreFilterOf(options) };
    const onProgress = options.onProgress ? proxy(guardedCallback(options.onProgress)) : undefined;
    const r = isTensorInput(source)
      ? await this.call(options.signal, 'classify', (engine, id) => {
          const t = engineTensor(source);
          return engine.classifyTensor(id, transferMark(t, [t.data.buffer as ArrayBuffer]), callOptions);
        })
      : await this.withVideo(source, preprocess, options.signal, 'classify', (engine, id, video) => engine.classify(id, video, callOptions, onProgress));
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
    const preprocess = clipPreprocess(preprocessOptionsOf(options), source);
    const r = isTensorInput(source)
      ? await this.call(options.signal, 'embed', (engine, id) => { const t = engineTensor(source); return engine.embedTensor(id, transferMark(t, [t.data.buffer as ArrayBuffer]), { preprocess, perFrame: options.perFrame === true }); })
      : await this.withVideo(source, preprocess, options.signal, 'embed', (engine, id, video) => engine.embed(id, video, { preprocess, perFrame: options.perFrame === true }));
    this.currentBackend = r.backend;
    return r;
  }

  /**
   * The network input PaddleVideo would build for this video: `[1, T·C, 3, 224, 224]` float32 in PaddleVideo's layout
   * and crop order, with the frame indices and timestamps, for diffing against PaddleVideo's own pipeline.
   */
  async preprocess(source: VideoSource, options: ClassifyOptions = {}): Promise<PreprocessResult> {
    if (isTensorInput(source)) throw new PPTSNError('invalid-argument', 'preprocess takes a video or frames; a tensor input is already preprocessed');
    const preprocess = clipPreprocess(preprocessOptionsOf(options), source);
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
   * video plays; `stop()` (or `signal`) ends the stream and frees the window's features.
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
    if (!options || typeof options.onResult !== 'function') throw new PPTSNError('invalid-argument', 'classifyStream needs options with an onResult callback');
    const isStream = typeof MediaStream !== 'undefined' && source instanceof MediaStream;
    if (!isStream && !isVideoElement(source)) throw new PPTSNError('unsupported-source', 'classifyStream accepts an HTMLVideoElement or a MediaStream');
    const windowSeconds = options.windowSeconds ?? 2.5;
    if (!(Number.isFinite(windowSeconds) && windowSeconds > 0)) throw new PPTSNError('invalid-argument', `windowSeconds must be a positive number, got ${String(windowSeconds)}`);
    const segments = options.segments ?? 8;
    if (!(Number.isInteger(segments) && segments >= 1 && segments <= MAX_SEGMENTS)) throw new PPTSNError('invalid-argument', `segments must be an integer from 1 to ${MAX_SEGMENTS}, got ${String(segments)}`);
    const topK = options.topK ?? 5;
    if (!(Number.isInteger(topK) && topK >= 0)) throw new PPTSNError('invalid-argument', `topK must be a non-negative integer, got ${String(topK)}`);
    // Per-frame preprocessing: the stream's T is the window, so each push is one frame.
    const preprocess: PreprocessOptions = {
      preset: options.preset ?? 'fast',
      crops: options.crops ?? 'center',
      ...(options.scale !== undefined ? { scale: options.scale } : {}),
      segments: 1,
    };
    resolvePreprocessOptions(preprocess);
    const id = this.nextId++;
    let stopped = false;
    let failure: Error | undefined;
    let results = 0;
    let inflight: Promise<void> = Promise.resolve();
    const opened = this.current().then(async (s) => {
      await onLive(s, s.engine.streamOpen(id, { preprocess, topK, windowFrames: segments }));
      return s;
    });
    opened.catch(() => undefined);
    let grabber: FrameGrabber | undefined;
    const fail = (e: unknown) => {
      if (stopped || failure) return;
      failure = isPPTSNError(e) ? e : new PPTSNError('internal', `live classification failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      try {
        options.onError?.(failure);
      } finally {
        grabber?.stop();
      }
    };
    const onFrame = async (frame: { index: number; timestamp: number; pixels?: FramePixels }) => {
      const t0 = performance.now();
      const pixels = frame.pixels;
      if (stopped || failure || !pixels) return;
      const work = (async () => {
        const s = await opened;
        if (stopped) return;
        const buffers = pixels.data.buffer instanceof ArrayBuffer ? [pixels.data.buffer] : [];
        const r = await onLive(s, s.engine.streamPush(id, transferMark(pixels, buffers), { index: frame.index, timestamp: frame.timestamp }));
        if (stopped || failure) return;
        results++;
        this.currentBackend = r.backend;
        this.report = r.backendReport;
        const { backendReport: _report, ...result } = r;
        result.timings.totalMs = performance.now() - t0;
        try {
          options.onResult(result as StreamResult);
        } catch (e) {
          // A throwing callback is the page's bug, not the stream's: surface it like an event handler's error.
          queueMicrotask(() => {
            throw e;
          });
        }
      })();
      inflight = work.catch(() => undefined);
      return work;
    };
    try {
      grabber = grabFrames(source, { rate: segments / windowSeconds, output: 'rgba', onFrame, onError: fail, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (e) {
      void opened.then((s) => s.engine.streamClose(id)).catch(() => undefined);
      throw e;
    }
    const running = grabber;
    opened.catch(fail);
    const stop = () => {
      stopped = true;
      running.stop();
    };
    this.streams.add(stop);
    const done = (async () => {
      await running.done;
      stopped = true;
      await inflight;
      const s = await opened.catch(() => null);
      if (s && !s.dead) await onLive(s, s.engine.streamClose(id)).catch(() => undefined);
      this.streams.delete(stop);
      if (failure) throw failure;
    })();
    done.catch(() => undefined);
    return {
      stop: async () => {
        stop();
        await done.catch(() => undefined);
      },
      done,
      get results() {
        return results;
      },
      get dropped() {
        return running.dropped;
      },
    };
  }

  /**
   * Fine-tuning on the user's own clips (see api/trainer.ts): a trainer in this model's worker, starting from these
   * weights with a new head for `options.classes`. With the `name` of a run stored in IndexedDB (same classes, or
   * none given) its clips and last checkpoint are restored, and `fit` resumes where it stopped.
   */
  async createTrainer(options: TrainerOptions): Promise<Trainer<PPTSN>> {
    const session = await this.current();
    const [init, onStep, onEpoch] = trainerArgs(options);
    const remote = await onLive(session, session.engine.createTrainer(init, onStep, onEpoch));
    const plan = this.restartPlan;
    return new Trainer<PPTSN>(remote, {
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
      sourceOf: (source) => {
        // The trainer reads rawframes itself (api/trainer.ts); they never get here.
        if (isRawframesSource(source)) throw new PPTSNError('internal', 'rawframes sources are read by the trainer');
        if (isVideoElement(source)) {
          const src = source.currentSrc || source.src;
          if (!src) throw new PPTSNError('invalid-argument', 'the <video> element has no source to read clips from');
          return new URL(src, location.href).href;
        }
        if (isFrameList(source) || isTensorInput(source)) throw new PPTSNError('unsupported-source', 'training clips are videos: a File, Blob, URL or <video>');
        if (source instanceof URL) return source.href;
        if (typeof source === 'string') return typeof location !== 'undefined' ? new URL(source, location.href).href : source;
        return source;
      },
    }, options.signal);
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
    try {
      s.engine[releaseProxy]();
    } catch {
      // Already closed.
    }
    s.worker.terminate();
    s.kill('the model was disposed');
  }
}

/** Marks an EngineVideo's frame buffers for transfer. */
function transferFrames(v: Extract<EngineVideo, { kind: 'frames' }>): EngineVideo {
  // comlink's `transfer` attaches the list to the value for the next postMessage.
  return transferMark(v, transferablesOf(v.frames));
}


/**
 * What a restart reloads: the same init on the backend the model ended up on, with a converted weight file
 * replaced by its cache entry (no second conversion; the original kept as the fallback).
 */
function restartPlanOf(init: EngineInit, ready: EngineReady, spawn: () => Worker): RestartPlan {
  const base: EngineInit = { ...init, backend: ready.backend };
  if (init.model.kind === 'bytes' && init.cache && ready.info.source.location) {
    return { spawn, init: { ...base, model: { kind: 'name', name: ready.info.source.location } }, fallback: init.model };
  }
  return { spawn, init: base };
}

function preprocessOptionsOf(o: ClassifyOptions): PreprocessOptions {
  return {
    ...(o.preset !== undefined ? { preset: o.preset } : {}),
    ...(o.segments !== undefined ? { segments: o.segments } : {}),
    ...(o.crops !== undefined ? { crops: o.crops } : {}),
    ...(o.scale !== undefined ? { scale: o.scale } : {}),
  };
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
