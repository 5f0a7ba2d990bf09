/**
 * What crosses the worker boundary: the arguments and results of the engine's methods. Plain structured-clone
 * data only (Blobs, typed arrays, records); callbacks cross as comlink proxies.
 */
import type { FramePixels } from '../core/frames.js';
import type { PreprocessOptions } from '../core/preprocess/presets.js';
import type { BackendChoice, BackendName, BackendReportEntry, ClassifyResult, LoadProgress, ModelInfo, PreprocessResult, WasmPaths } from '../api/types.js';

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
  warmup: boolean;
}

export interface EngineReady {
  backend: BackendName;
  backendReport: BackendReportEntry[];
  labels: string[];
  info: ModelInfo;
  chunkSize: number;
}

/**
 * A video for the engine: a Blob/URL the worker decodes itself, or frames the main thread already grabbed from an
 * `<video>` element (their pixel buffers are transferred, not copied).
 */
export type EngineVideo =
  | { kind: 'media'; source: Blob | string }
  | { kind: 'frames'; frames: FramePixels[]; frameIndices: number[]; timestamps: number[] };

/** Per-call options as the engine sees them (the AbortSignal stays on the main thread; it calls `cancel`). */
export interface EngineCallOptions {
  preprocess: PreprocessOptions;
  topK: number;
}

export type EngineProgress = (p: LoadProgress) => void;

/** The engine's result adds the backend state, which may have changed (lost device → next backend). */
export interface EngineClassifyResult extends ClassifyResult {
  backendReport: BackendReportEntry[];
}

/** The API the worker exposes through comlink (implemented by `Engine`). */
export interface EngineApi {
  init(init: EngineInit, onProgress?: EngineProgress): Promise<EngineReady>;
  classify(id: number, video: EngineVideo, options: EngineCallOptions): Promise<EngineClassifyResult>;
  preprocess(id: number, video: EngineVideo, options: EngineCallOptions): Promise<PreprocessResult>;
  cancel(id: number): void;
  memory(): { numTensors: number; numBytes: number };
  dispose(): void;
}
