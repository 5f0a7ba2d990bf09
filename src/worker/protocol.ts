/**
 * What crosses the worker boundary: the arguments and results of the engine's methods. Plain structured-clone
 * data only (Blobs, typed arrays, records); callbacks cross as comlink proxies.
 */
import type { TopKOptions } from '../core/classify/scores.js';
import type { FramePixels } from '../core/frames/pixels.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';
import type { RawframesFiles } from '../video/rawframes.js';
import type { StateDict } from '../core/stateDict.js';
import type { DistillationSettings } from '../core/train/distillation.js';
import type { FitResult, TrainerSettings } from '../core/train/trainer.js';
import type { BackendChoice, BackendName, BackendReportEntry, ClassifyProgress, ClassifyResult, LoadProgress, ModelInfo, PreprocessResult, StreamResult, WasmPaths } from '../common/types.js';

/** Where the engine gets its model. */
export type EngineModelSource =
  | { kind: 'url'; url: string }
  | { kind: 'bytes'; data: Blob | ArrayBuffer; fileName?: string; info?: Blob | ArrayBuffer; labels?: string[] }
  | { kind: 'name'; name: string };

export interface EngineInit {
  model: EngineModelSource;
  backend: BackendChoice;
  cache: boolean;
  /** Cache name for a converted file. */
  name?: string;
  wasmPaths?: WasmPaths;
  wasmThreads?: boolean;
  chunkSize?: number;
  winograd?: boolean;
  warmup: boolean;
}

export interface EngineReady {
  backend: BackendName;
  backendReport: BackendReportEntry[];
  labels: string[];
  info: ModelInfo;
  chunkSize: number;
  /** model.json's `pptsn.preset` (absent for a converted weight file): the page's default preset for this model. */
  preset?: string;
}

/**
 * A video for the engine: a Blob/URL the worker decodes itself, a rawframes clip's files (Blobs, Files keeping their
 * names, or a directory handle; decoded in the worker, src/video/rawframes.ts) with its name for messages, or frames
 * the main thread already grabbed from an `<video>` element (their pixel buffers are transferred, not copied).
 */
export type EngineVideo =
  | { kind: 'media'; source: Blob | string }
  | { kind: 'rawframes'; files: RawframesFiles; origin: string }
  | { kind: 'frames'; frames: FramePixels[]; frameIndices: number[]; timestamps: number[]; frameCount?: number; rotation?: number; stream?: number };

/**
 * Per-call options as the engine sees them (the AbortSignal stays on the main thread; it calls `cancel`). Resolved
 * and validated on the page (api/config.ts): the engine uses them as they come.
 */
export interface EngineCallOptions {
  preprocess: PreprocessConfig;
  topK: number;
  /** scoreThreshold / allowed class indices for `top`, resolved from the caller's labels on the page (api/config.ts). */
  filter?: TopKOptions;
}

export type EngineProgress = (p: LoadProgress) => void;

/** PaddleVideo's input for one clip, `[1, T·C, 3, H, W]` or `[T·C, 3, H, W]` (its buffer is transferred). */
export interface EngineTensor {
  data: Float32Array;
  shape: number[];
}

/** `model.embed`'s call options as the engine sees them. */
export interface EngineEmbedOptions {
  preprocess: PreprocessConfig;
  perFrame: boolean;
}

/** The engine's result adds the backend state, which may have changed (lost device → next backend). */
export interface EngineClassifyResult extends ClassifyResult {
  backendReport: BackendReportEntry[];
}

/** A live stream's settings (`classifyStream`): preprocessing of each frame, and the window length in frames. */
export interface EngineStreamOptions {
  preprocess: PreprocessConfig;
  topK: number;
  /** scoreThreshold / allowed class indices for each result's `top`, as classify's. */
  filter?: TopKOptions;
  /** Frames averaged per result (the ring buffer's capacity). */
  windowFrames: number;
}

/** Where a pushed frame sits in its stream. */
export interface EngineStreamFrame {
  /** Sequence number of the grabbed frame, 0-based. */
  index: number;
  /** Media or capture time, seconds. */
  timestamp: number;
}

export interface EngineStreamResult extends StreamResult {
  backendReport: BackendReportEntry[];
}

/** The API the worker exposes through comlink (implemented by `Engine`). */
export interface EngineApi {
  init(init: EngineInit, onProgress?: EngineProgress): Promise<EngineReady>;
  /** `onProgress` (a comlink proxy) gets the running top-k after each chunk; see worker/classifyProgress.ts. */
  classify(id: number, video: EngineVideo, options: EngineCallOptions, onProgress?: (p: ClassifyProgress) => unknown): Promise<EngineClassifyResult>;
  preprocess(id: number, video: EngineVideo, options: EngineCallOptions): Promise<PreprocessResult>;
  cancel(id: number): void;
  streamOpen(id: number, options: EngineStreamOptions): void;
  streamPush(id: number, frame: FramePixels, meta: EngineStreamFrame): Promise<EngineStreamResult>;
  streamClose(id: number): void;
  /** Holds the Web Lock `name` for the worker's lifetime, so the page learns of its death; false without Web Locks. */
  holdLifeLock(name: string): Promise<boolean>;
  memory(): { numTensors: number; numBytes: number; wasmHeapBytes?: number };
  dispose(): void;
}

/** Trainer options as they cross the worker boundary (callbacks travel separately). */
export interface EngineTrainerOptions extends Partial<TrainerSettings> {
  /** IndexedDB name of the run; default "default". */
  name?: string;
  /** false: nothing is stored (default true). */
  persist?: boolean;
  /** Frames kept per clip (default 16). */
  poolFrames?: number;
  /**
   * Distillation: the teacher's weights (another loaded model's state dict, same classes, any depth), run here as
   * a second Recognizer; `distillation` sets the loss (core/train/distillation.ts). A run with a teacher is not
   * stored (its teacher could not be restored with it).
   */
  teacher?: { stateDict: StateDict; distillation?: Partial<DistillationSettings> };
  /**
   * The student's start: a PaddleClas ImageNet backbone (`ResNet{D}_vd_pretrained.pdparams` bytes, `name` for
   * messages) instead of this model's backbone, a new head for the classes (core/train/pretrainedStart.ts). Such a
   * run is not stored (the file could not be restored with it).
   */
  pretrained?: { bytes: Uint8Array; name: string };
  /** The student's depth: the pretrained file's (checked), or without one this model's (anything else is refused). */
  depth?: number;
}

/** A clip as `clips()` lists it. */
export interface ClipInfo {
  id: string;
  /** The class, or null for a clip added without one (distillation). */
  label: string | null;
  frames: number;
  origin: string;
}

/** `export('model')`: model.json + shards, as files (and as `modelJson`/`shards`, writeModelJson's shape). */
export interface ExportedFiles {
  files: { name: string; data: Uint8Array }[];
  modelJson: unknown;
  shards: { path: string; data: Uint8Array }[];
}

/** The result of `fit` in the worker: the loop's own (plain data). */
export type EngineFitResult = FitResult;
