/**
 * The engine's model on its backend: which backend runs (and the report of why), the loaded weights, the
 * `Recognizer` built from them, the chunk size, warm-up, and recovery from a lost WebGPU device (next backend,
 * same weights). Everything else in the engine asks this object for the recognizer and the backend state.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError, isPPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames/pixels.js';
import { Recognizer } from '../core/model/recognizer.js';
import { parameterCounts } from '../core/model/arch.js';
import { softmax, topK, type TopKOptions } from '../core/classify/scores.js';
import { preprocessFrames } from '../core/preprocess/pipeline.js';
import { PRESETS } from '../core/preprocess/presets.js';
import type { BackendName, BackendReportEntry, ModelInfo } from '../common/types.js';
import { BACKEND_ORDER, configureWasm, defaultChunkSize, selectBackend, watchDeviceLoss } from './backends.js';
import { loadModel, type LoadedModel } from './modelLoader.js';
import type { EngineInit, EngineProgress, EngineReady } from './protocol.js';

export class ModelRuntime {
  model: LoadedModel | null = null;
  recognizer: Recognizer | null = null;
  backend: BackendName = 'cpu';
  report: BackendReportEntry[] = [];
  chunkSize = 1;
  private fixedChunkSize: number | undefined;
  /** LoadOptions.winograd; undefined = the Recognizer's default (on for wasm). */
  private winograd: boolean | undefined;
  private warmupEnabled = true;
  private deviceLost: string | null = null;
  private readonly failedBackends: BackendName[] = [];

  /** Runs after a device loss, before the model is rebuilt elsewhere (live streams empty their windows). */
  constructor(private readonly onDeviceLost: () => void) {}

  /**
   * Picks the backend, loads the model and builds the recognizer. LoadOptions reach only the worker, so
   * `chunkSize` and `winograd` are checked here, once.
   */
  async load(init: EngineInit, onProgress?: EngineProgress): Promise<EngineReady> {
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
  }

  /** The model and recognizer of a call; `invalid-argument` before load or after dispose. */
  loaded(): { model: LoadedModel; recognizer: Recognizer } {
    if (!this.model || !this.recognizer) throw new PPTSNError('invalid-argument', 'the model is not loaded (or was disposed)');
    return { model: this.model, recognizer: this.recognizer };
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
    return { backend: this.backend, backendReport: this.backendReport(), labels: [...m.labels], info, chunkSize: this.chunkSize, ...(m.preset !== undefined ? { preset: m.preset } : {}) };
  }

  backendReport(): BackendReportEntry[] {
    return this.report.map((r) => ({ ...r }));
  }

  /** What every result carries: top-k, logits, probabilities and the backend they came from. */
  predictions(logits: Float32Array, k: number, filter: TopKOptions = {}) {
    const labels = this.model!.labels;
    const probabilities = softmax(logits);
    // The page resolved the filter against the same labels to class indices (api/config.ts).
    return { top: topK(probabilities, labels, k, filter), logits, probabilities, backend: this.backend, backendReport: this.backendReport() };
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
    const ten = preprocessFrames([frame], PRESETS.accurate);
    await ten.input.data();
    ten.input.dispose();
    const pre = preprocessFrames([frame], PRESETS.fast);
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

  /** Throws `device-lost` once the WebGPU device is gone (checked between chunks). */
  checkDevice(): void {
    if (this.deviceLost) throw new PPTSNError('device-lost', `the WebGPU device was lost (${this.deviceLost})`);
  }

  /**
   * Runs `run`; if it fails because the WebGPU device was lost, moves to the next backend and runs it once more
   * (unless `cancelled()`: an aborted call or a closed stream ends there).
   */
  async withDeviceRecovery<T>(run: () => Promise<T>, cancelled: () => boolean): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (!this.deviceLost && !(isPPTSNError(e) && e.code === 'device-lost')) throw e;
      if (cancelled()) throw e;
      await this.recoverFromDeviceLoss();
      return run();
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
    this.onDeviceLost();
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

  /** Frees the recognizer and forgets the model. */
  release(): void {
    this.recognizer?.dispose();
    this.recognizer = null;
    this.model = null;
  }
}
