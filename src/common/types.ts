/**
 * Plain-data types shared by the page (`src/api/`) and the worker (`src/worker/`): results, progress, backend names.
 * They cross the worker boundary by structured clone. This module sits below both, so imports point down; the
 * public API re-exports everything here from `src/api/types.ts`.
 */
import type { Prediction } from '../core/classify/scores.js';
import type { PPTSNErrorCode } from '../core/errors.js';
import type { CropMode, PresetName } from '../core/preprocess/presets.js';

export type { Prediction };

/** The TensorFlow.js backends the engine can run on, fastest first. */
export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** A backend to use, or `'auto'` to take the fastest one that starts (webgpu → webgl → wasm → cpu). */
export type BackendChoice = BackendName | 'auto';

/** Why a backend was or was not used; `model.backendReport` lists one entry per backend tried or skipped. */
export interface BackendReportEntry {
  backend: BackendName;
  /** `selected`: in use; `skipped`: not tried (not requested, or known to be slow/absent); `failed`: tried and did not start. */
  status: 'selected' | 'skipped' | 'failed';
  /** A human-readable reason for `skipped`/`failed`, and a short description of the device for `selected`. */
  reason: string;
}

/** Load progress: `loaded`/`total` are bytes for `download` and `cache`, and steps for the other phases. */
export interface LoadProgress {
  phase: 'download' | 'cache' | 'convert' | 'upload' | 'warmup' | 'ready';
  loaded: number;
  /** 0 when unknown (a server that sends no Content-Length and no manifest sizes). */
  total: number;
  /** The file this event is about (a shard's path for `download`/`cache`, the weight file for `convert`). */
  file?: string;
  /** 0–100, where `total` is known (like transformers.js' `progress`). */
  progress?: number;
  /**
   * Only on a `cache` event: caching `file` failed (the storage quota is full: code `quota-exceeded`; another
   * Cache Storage failure: `storage`) and the load went on with the model in memory; nothing of it stays cached.
   * On the page this is a `PPTSNError` (also kept as `model.cacheError`).
   */
  error?: CacheFailure;
}

/** A cache write that failed during `PPTSN.load`: the file, the bytes it needed, and the typed error's code and message. */
export interface CacheFailure {
  code: PPTSNErrorCode;
  message: string;
  /** The file that could not be stored (a shard's path, or `model.json`). */
  file: string;
  /** Its size in bytes: the space it needed. */
  bytes: number;
}

/**
 * Where the tfjs WASM files are served: a directory URL ending in `/`, or one URL per file. Besides the three
 * binaries, `tfjs-backend-wasm-threaded-simd.js` (the pthread glue) is what WASM threads need: it is looked for
 * beside these binaries (a record may name it), then next to the worker, where the build copies it.
 */
export type WasmPaths =
  | string
  | Partial<Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.js', string>>;

// The preset names and crop modes are the core's (core/preprocess/presets.ts), defined there once.
export type { CropMode, PresetName };

/** Milliseconds spent in each stage of a call (decoding overlaps inference, so the parts can exceed the total). */
export interface Timings {
  decodeMs: number;
  preprocessMs: number;
  inferenceMs: number;
  totalMs: number;
}

/**
 * Progress of a running `model.classify`, after each chunk of images: `top` is the answer so far (softmax of the
 * head on the mean of the features computed so far, PP-TSN's average over a prefix of the T·C images). The last
 * report's `top` is the result's `top`.
 */
export interface ClassifyProgress {
  /** Images (frame crops) through the network so far, and in all (T·C). */
  done: number;
  total: number;
  /** The `topK` best classes of the running average, best first. */
  top: Prediction[];
  /**
   * Only in the reports sent while the ffmpeg.wasm fallback decodes (AVI and other files WebCodecs cannot read):
   * the fraction of the decode done, 0..1 (`done` is then 0 and `top` empty). Absent from the per-chunk reports.
   */
  decoding?: number;
}

/** The result of `model.classify`. */
export interface ClassifyResult {
  /** The `topK` best classes, best first. */
  top: Prediction[];
  /** The logits of the mean feature over all T·C images (PP-TSN averages features before the FC). */
  logits: Float32Array;
  /** softmax(logits). */
  probabilities: Float32Array;
  /** The 0-based frame indices sampled (one per segment). */
  frameIndices: number[];
  /** L: frames the source presents (edit list applied), the count the indices are over; absent for raw frames. */
  frameCount?: number;
  /** Clockwise rotation (degrees) applied to the source's frames to put them in display orientation. */
  rotation?: number;
  /**
   * The video stream read (ffmpeg's stream index, audio streams counted): the one decord reads
   * (`av_find_best_stream`: default disposition, then a moving stream over a still cover, then bit rate), not always
   * the first. Absent for raw frames and where the reader cannot tell (a `<video>` seeked without its file).
   */
  stream?: number;
  timings: Timings;
  /** The backend that ran the network. */
  backend: BackendName;
}

/** The result of `model.preprocess`: PaddleVideo's network input, to diff against PaddleVideo's own pipeline. */
export interface PreprocessResult {
  frameIndices: number[];
  /** L: frames the source presents (edit list applied), the count the indices are over; absent for raw frames. */
  frameCount?: number;
  /** Clockwise rotation (degrees) applied to the source's frames to put them in display orientation. */
  rotation?: number;
  /**
   * The video stream read (ffmpeg's stream index, audio streams counted): the one decord reads
   * (`av_find_best_stream`: default disposition, then a moving stream over a still cover, then bit rate), not always
   * the first. Absent for raw frames and where the reader cannot tell (a `<video>` seeked without its file).
   */
  stream?: number;

  /** Presentation time in seconds of each sampled frame. */
  timestamps: number[];
  /** `[1, T·C, 3, 224, 224]`, float32, NCHW, normalised, in PaddleVideo's crop order (offset-major, flips last). */
  tensor: { shape: number[]; data: Float32Array };
}

/** One result of live classification: the average over the frames in the window (ppTSNHead on their features). */
export interface StreamResult {
  /** The `topK` best classes of the window (of those ≥ `scoreThreshold` and in `classes`, when given), best first. */
  top: Prediction[];
  logits: Float32Array;
  probabilities: Float32Array;
  /** Frames averaged into this result: min(frames sampled so far, segments). */
  frames: number;
  /** Sequence numbers (0 = first sampled frame of the stream) of those frames, oldest first. */
  frameNumbers: number[];
  /** Their media time (`<video>`) or capture time (MediaStream), seconds. */
  timestamps: number[];
  /** `preprocessMs`/`inferenceMs` of the newest frame (one backbone pass + the head); `totalMs` from grab to result. */
  timings: Timings;
  backend: BackendName;
}

/** What the loaded model is. */
export interface ModelInfo {
  /** ResNet-vd depth of the backbone. */
  depth: number;
  /** Number of classes. */
  classes: number;
  /** Parameter count (trainable + BatchNorm statistics). */
  parameters: number;
  /** Weight data type in the engine. */
  dtype: 'float32';
  /** Where the weights came from: the original file, its SHA-256 and format, and how this load got them. */
  source: {
    fileName?: string;
    sha256?: string;
    format?: string;
    /** The model.json URL or cache name this load used. */
    location: string;
    /** `network`, `cache` (no model bytes fetched), or `converted` (from a weight file in this load). */
    loadedFrom: 'network' | 'cache' | 'converted';
  };
}

/** tfjs memory of the worker engine, for leak checks: both return to their baseline after every call. */
export interface MemoryInfo {
  numTensors: number;
  numBytes: number;
  /** wasm backend: size of the WebAssembly heap, which never shrinks, i.e. the peak since the model loaded. */
  wasmHeapBytes?: number;
}

/** A model cached in Cache Storage. */
export interface CachedModel {
  name: string;
  /** The model.json URL it was loaded from, or undefined for a converted weight file. */
  url?: string;
  sha256: string;
  bytes: number;
  storedAt: string;
}

/** The result of `model.embed`: the feature ppTSNHead averages before its FC (core/classify/embed.ts). */
export interface EmbedResult {
  /** `[F]` (2048 for ResNet50+, 512 for ResNet18/34): the mean of the clip's T·C image features. */
  embedding: Float32Array;
  /** With `perFrame: true`: `[T][F]`, each sampled frame's features averaged over its crops. */
  frames?: Float32Array[];
  /** The 0-based frame indices sampled (one per segment). */
  frameIndices: number[];
  timings: Timings;
  backend: BackendName;
}
