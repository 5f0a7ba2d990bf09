/**
 * `PPTSN`: the public browser API. Everything heavy happens in a module worker (the `Engine`); this class only
 * resolves arguments, grabs frames from `<video>` elements (which exist only on the main thread), forwards calls
 * through comlink, and turns an AbortSignal into a prompt rejection plus a `cancel` message to the worker.
 */
import { proxy, releaseProxy, transfer as transferMark, wrap, type Remote } from 'comlink';
import { PPTSNError, isPPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames.js';
import { resolvePreprocessOptions, type PreprocessOptions } from '../core/preprocess/presets.js';
import { sampleIndices } from '../core/preprocess/sampler.js';
import { readFrames } from '../video/frames.js';
import type { Engine } from '../worker/engine.js';
import { installErrorTransport } from '../worker/errorTransport.js';
import { ModelStore } from '../worker/modelStore.js';
import type { EngineCallOptions, EngineInit, EngineModelSource, EngineVideo } from '../worker/protocol.js';
import { spawnEngineWorker } from './spawn.js';
import type {
  BackendName,
  BackendReportEntry,
  CachedModel,
  ClassifyOptions,
  ClassifyResult,
  LoadOptions,
  MemoryInfo,
  ModelInfo,
  ModelSource,
  PreprocessResult,
  VideoSource,
} from './types.js';

installErrorTransport();

function abortedError(what: string): PPTSNError {
  return new PPTSNError('aborted', `${what} was aborted`);
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

function isVideoElement(x: unknown): x is HTMLVideoElement {
  return typeof HTMLVideoElement !== 'undefined' && x instanceof HTMLVideoElement;
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

  private constructor(
    private readonly worker: Worker,
    private readonly engine: Remote<Engine>,
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
      ...(options.wasmThreads !== undefined ? { wasmThreads: options.wasmThreads } : {}),
    };
    const worker = options.worker ?? spawnEngineWorker();
    const engine = wrap<Engine>(worker);
    const progress = options.onProgress ? proxy(options.onProgress) : undefined;
    let crashed: ((e: PPTSNError) => void) | undefined;
    const crash = new Promise<never>((_, reject) => (crashed = reject));
    const onError = (ev: ErrorEvent) => {
      ev.preventDefault?.();
      crashed?.(new PPTSNError('internal', `the pptsn-web worker failed to start: ${ev.message || 'script error (check that dist/worker/worker.js is served)'}`));
    };
    worker.addEventListener('error', onError);
    const onAbort = () => crashed?.(abortedError('loading the model'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const ready = await Promise.race([engine.init(init, progress), crash]);
      return new PPTSN(worker, engine, ready.backend, ready.backendReport, Object.freeze([...ready.labels]), Object.freeze(ready.info));
    } catch (e) {
      worker.terminate();
      throw isPPTSNError(e) ? e : new PPTSNError('internal', `loading the model failed: ${(e as Error)?.message ?? String(e)}`);
    } finally {
      worker.removeEventListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
      crash.catch(() => undefined);
    }
  }

  /** Models cached by earlier loads (Cache Storage of this origin). */
  static async cachedModels(): Promise<CachedModel[]> {
    const store = await ModelStore.open();
    return store ? store.list() : [];
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

  /**
   * Runs `start(id)` as call `id`; if `signal` fires first, rejects with `aborted` at once and tells the worker to
   * stop the call (it stops at its next chunk boundary, and the next call is not held up by it for long).
   */
  private async call<T>(signal: AbortSignal | undefined, what: string, start: (id: number) => Promise<T>): Promise<T> {
    this.live();
    if (signal?.aborted) throw abortedError(what);
    const id = this.nextId++;
    const running = start(id);
    if (!signal) return running;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        void this.engine.cancel(id).catch(() => undefined);
        reject(abortedError(what));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      running.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /**
   * Prepares a video for the engine. Blobs and URLs are decoded in the worker. A `<video>` with a fetchable source
   * is decoded in the worker from its URL (exact frames); otherwise (MediaStream, cross-origin without CORS) its
   * frames are grabbed here by seeking and transferred.
   */
  private async videoFor(source: VideoSource, preprocess: PreprocessOptions, signal: AbortSignal | undefined): Promise<{ video: EngineVideo; fallback?: () => Promise<EngineVideo> }> {
    const config = resolvePreprocessOptions(preprocess);
    const grab = async (from: Blob | string | HTMLVideoElement): Promise<EngineVideo> => {
      const r = await readFrames(from, {
        indices: (frameCount: number) => sampleIndices(config.sampling, frameCount, config.segments),
        path: 'element',
        ...(signal ? { signal } : {}),
      });
      return { kind: 'frames', frames: r.frames, frameIndices: r.frameIndices, timestamps: r.timestamps };
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
    throw new PPTSNError('unsupported-source', 'classify accepts a File, Blob, URL (string or URL) or HTMLVideoElement');
  }

  /** Sends a call; if the worker cannot decode the media (no WebCodecs for it), retries with frames grabbed here. */
  private async withVideo<T>(source: VideoSource, preprocess: PreprocessOptions, signal: AbortSignal | undefined, what: string, run: (id: number, video: EngineVideo) => Promise<T>): Promise<T> {
    this.live();
    const { video, fallback } = await this.videoFor(source, preprocess, signal);
    const send = (v: EngineVideo) =>
      this.call(signal, what, (id) =>
        v.kind === 'frames' ? run(id, transferFrames(v)) : run(id, v),
      );
    try {
      return await send(video);
    } catch (e) {
      const elementCanTry = fallback && typeof document !== 'undefined' && isPPTSNError(e) && (e.code === 'unsupported-source' || e.code === 'cross-origin' || e.code === 'network');
      if (!elementCanTry) throw e;
      return send(await fallback());
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
    const preprocess = preprocessOptionsOf(options);
    const callOptions: EngineCallOptions = { preprocess, topK: options.topK ?? 5 };
    const r = await this.withVideo(source, preprocess, options.signal, 'classify', (id, video) => this.engine.classify(id, video, callOptions));
    this.currentBackend = r.backend;
    this.report = r.backendReport;
    const { backendReport: _report, ...result } = r;
    return result;
  }

  /**
   * The network input PaddleVideo would build for this video: `[1, T·C, 3, 224, 224]` float32 in PaddleVideo's layout
   * and crop order, with the frame indices and timestamps, for diffing against PaddleVideo's own pipeline.
   */
  async preprocess(source: VideoSource, options: ClassifyOptions = {}): Promise<PreprocessResult> {
    const preprocess = preprocessOptionsOf(options);
    return this.withVideo(source, preprocess, options.signal, 'preprocess', (id, video) => this.engine.preprocess(id, video, { preprocess, topK: 0 }));
  }

  /** tfjs tensors and bytes held by the worker's engine: back at their baseline after every call (leak checks). */
  async memory(): Promise<MemoryInfo> {
    this.live();
    return this.engine.memory();
  }

  /** Frees the model and every tensor, and ends the worker. Pending calls reject; further calls throw. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      await Promise.race([this.engine.dispose(), new Promise((r) => setTimeout(r, 1000))]);
    } catch {
      // The worker is terminated below anyway.
    }
    this.engine[releaseProxy]();
    this.worker.terminate();
  }
}

/** Marks an EngineVideo's frame buffers for transfer. */
function transferFrames(v: Extract<EngineVideo, { kind: 'frames' }>): EngineVideo {
  // comlink's `transfer` attaches the list to the value for the next postMessage.
  return transferMark(v, transferablesOf(v.frames));
}


function preprocessOptionsOf(o: ClassifyOptions): PreprocessOptions {
  return {
    ...(o.preset !== undefined ? { preset: o.preset } : {}),
    ...(o.segments !== undefined ? { segments: o.segments } : {}),
    ...(o.crops !== undefined ? { crops: o.crops } : {}),
    ...(o.scale !== undefined ? { scale: o.scale } : {}),
  };
}
