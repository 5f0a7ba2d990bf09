/**
 * The public types of the browser API (`PPTSN.load`, `model.classify`, …). Everything here is plain data that can
 * cross the worker boundary by structured clone, so the same shapes are used on both sides of it.
 */

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

/**
 * A model to load:
 * - a URL (string or `URL`) of a `model.json` written by `pptsn-web convert` (shards are fetched next to it);
 * - a `File`, `Blob` or `ArrayBuffer` holding PaddleVideo weights (`.pdparams` or `.pdiparams`), converted in the
 *   worker;
 * - the name of a model cached by an earlier `PPTSN.load` (see `PPTSN.cachedModels()`).
 */
export type ModelSource = string | URL | Blob | ArrayBuffer | ArrayBufferView;

/** Load progress: `loaded`/`total` are bytes for `download`, and steps for the other phases. */
export interface LoadProgress {
  phase: 'download' | 'cache' | 'convert' | 'upload' | 'warmup' | 'ready';
  loaded: number;
  /** 0 when unknown (a server that sends no Content-Length and no manifest sizes). */
  total: number;
}

/** Where the tfjs WASM binaries are served: a directory URL ending in `/`, or one URL per file. */
export type WasmPaths =
  | string
  | Partial<Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm', string>>;

/** Options of `PPTSN.load`. */
export interface LoadOptions {
  /** The model: a `model.json` URL, a weight file (`File`/`Blob`/`ArrayBuffer`), or a cached model's name. */
  model: ModelSource;
  /** Backend to run on (default `'auto'`: webgpu → webgl → wasm → cpu, skipping software GPU emulation). */
  backend?: BackendChoice;
  /** Called as bytes arrive and as the worker converts, uploads and warms up the model. */
  onProgress?: (progress: LoadProgress) => void;
  /** Aborts the load (the worker is terminated); the promise rejects with code `aborted`. */
  signal?: AbortSignal;
  /** Keep model files in Cache Storage so a reload or an offline page loads without the network (default true). */
  cache?: boolean;
  /** Name to cache a converted weight file under (default: the file's name, else `"model"`). */
  name?: string;
  /** File name of an `ArrayBuffer`/`Blob` weight source (tells `.pdparams` from `.pdiparams`). */
  fileName?: string;
  /** The `.pdiparams.info` file that goes with a `.pdiparams`, if any. */
  info?: Blob | ArrayBuffer;
  /** Class names for a converted weight file (a `model.json` carries its own). */
  labels?: string[];
  /** Where the tfjs WASM binaries are served; by default the copies emitted next to the worker are used. */
  wasmPaths?: WasmPaths;
  /**
   * Run the WASM backend multi-threaded (default: on wherever the page is cross-origin isolated, i.e. served with
   * COOP/COEP, using every logical core; otherwise the single-threaded SIMD binary). Set false to force one
   * thread. Threads also need the app's tfjs-backend-wasm to be the version pptsn-web's pthread source was made for
   * (4.22.0); with another version it runs one thread and `backendReport` says why. Works with minified bundles too: pptsn-web gives tfjs's pthread workers the unminified Emscripten
   * source (`model.backendReport` says how many threads run).
   */
  wasmThreads?: boolean;
  /** Images per network pass; by default chosen for the backend and device. Smaller uses less memory. */
  chunkSize?: number;
  /**
   * Compute the stride-1 3×3 convolutions with ≥ 128 channels by Winograd F(2×2, 3×3) (default: on for the wasm
   * backend, where it is 1.5–2× faster on those layers; off elsewhere). Its float32 rounding differs from a direct
   * convolution (logits ~1e-6 relative); set false for the direct arithmetic PaddleVideo uses.
   */
  winograd?: boolean;
  /** Compile every shader before the first call (default true); set false to trade first-call latency for load time. */
  warmup?: boolean;
  /**
   * A worker to use instead of the bundled one (e.g. one built by your own toolchain from `pptsn-web/worker.js`).
   * Pass a function that creates it so a crashed or terminated worker can be replaced on the next call; with a
   * `Worker` object the model cannot restart.
   */
  worker?: Worker | (() => Worker);
}

/** A built-in preprocessing preset: `accurate` = PaddleVideo test (25 segments, TenCrop); `fast` = valid (8, CenterCrop). */
export type PresetName = 'accurate' | 'fast';

/** How frames are cropped: one centre crop, three crops along the long side, or ten (five + flips). */
export type CropMode = 'center' | 'three' | 'ten';

/** Options of `model.classify` and `model.preprocess`. Unset fields come from the preset. */
export interface ClassifyOptions {
  /** Preset (default `accurate`). */
  preset?: PresetName;
  /** Number of segments T (one frame per segment). */
  segments?: number;
  /** Crops per frame. */
  crops?: CropMode;
  /** Short-side scaling: PaddleVideo's fixed-ratio (341×256) or keep-ratio. */
  scale?: 'fixed-ratio' | 'keep-ratio';
  /** Number of best classes in `top` (default 5). */
  topK?: number;
  /** Aborts decoding and inference; the promise rejects with code `aborted` within a second. */
  signal?: AbortSignal;
}

/** One class in a result. */
export interface Prediction {
  index: number;
  label: string;
  score: number;
}

/** Milliseconds spent in each stage of a call (decoding overlaps inference, so the parts can exceed the total). */
export interface Timings {
  decodeMs: number;
  preprocessMs: number;
  inferenceMs: number;
  totalMs: number;
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
  timings: Timings;
  /** The backend that ran the network. */
  backend: BackendName;
}

/** The result of `model.preprocess`: PaddleVideo's network input, to diff against PaddleVideo's own pipeline. */
export interface PreprocessResult {
  frameIndices: number[];
  /** Presentation time in seconds of each sampled frame. */
  timestamps: number[];
  /** `[1, T·C, 3, 224, 224]`, float32, NCHW, normalised, in PaddleVideo's crop order (offset-major, flips last). */
  tensor: { shape: number[]; data: Float32Array };
}

/** Options of `model.classifyStream`. Unset preprocessing fields come from the `fast` preset (centre crop). */
export interface StreamOptions {
  /** Called with each result, while the video plays (one per sampled frame once the model keeps up). */
  onResult: (result: StreamResult) => void;
  /** Called once if the stream stops because of an error (PPTSNError: `cross-origin`, `device-lost`, …). */
  onError?: (error: Error) => void;
  /** Length of the window averaged into each result, in seconds of video (default 2.5). */
  windowSeconds?: number;
  /** Frames in the window (default 8): frames are sampled every `windowSeconds / segments` seconds. */
  segments?: number;
  /** Preset for the per-frame preprocessing (default `fast`: keep-ratio Scale, centre crop). */
  preset?: PresetName;
  /** Crops per frame (default `center`: one backbone pass per sampled frame). */
  crops?: CropMode;
  scale?: 'fixed-ratio' | 'keep-ratio';
  /** Number of best classes in `top` (default 5). */
  topK?: number;
  /** Stops the stream, like `handle.stop()`. */
  signal?: AbortSignal;
}

/** One result of live classification: the average over the frames in the window (ppTSNHead on their features). */
export interface StreamResult {
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

/** A running `classifyStream`. */
export interface StreamHandle {
  /** Stops sampling, waits for the frame in flight, and frees the window's features. */
  stop(): Promise<void>;
  /**
   * Settles when the stream has ended (stop, signal, the video ended or the track stopped) and its features are
   * freed; rejects with the error that ended it (also given to `onError`).
   */
  readonly done: Promise<void>;
  /** Results delivered so far. */
  readonly results: number;
  /** Frames skipped because the model was still busy with the previous one. */
  readonly dropped: number;
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

/**
 * A video to classify: a `File`/`Blob`, a URL (string or `URL`; must be same-origin or CORS-enabled), or an
 * `HTMLVideoElement` (frames are grabbed on the main thread and sent to the worker).
 */
export type VideoSource = Blob | string | URL | HTMLVideoElement;
