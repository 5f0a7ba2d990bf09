/**
 * The public types of the browser API (`PPTSN.load`, `model.classify`, …). The plain-data ones that the worker
 * shares live in `src/common/types.ts` and are re-exported here; the rest (options with callbacks and signals,
 * DOM sources) belong to the page.
 */
import type { BackendChoice, ClassifyProgress, CropMode, LoadProgress, PresetName, StreamResult, WasmPaths } from '../common/types.js';
import type { ClipFrame, TensorInput } from './inputs.js';
import type { CacheInfo } from './storage.js';
import type { CacheError } from './cacheError.js';
import type { CacheFailure } from '../common/types.js';

export type { ClipFrame, TensorInput, CacheInfo, CacheError, CacheFailure };

// `model[Symbol.asyncDispose]` is in the published .d.ts: declare the symbol (as lib.esnext.disposable does; the
// declarations merge) so an app compiled with TypeScript's default libs for its target (no `esnext.disposable`)
// typechecks. The runtime value is defined in callOptions.ts where the engine lacks it.
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}
import type { RawframesSource } from './rawframes.js';

export type {
  BackendChoice,
  BackendName,
  BackendReportEntry,
  CachedModel,
  ClassifyProgress,
  ClassifyResult,
  CropMode,
  LoadProgress,
  MemoryInfo,
  ModelInfo,
  Prediction,
  PreprocessResult,
  PresetName,
  StreamResult,
  Timings,
  WasmPaths,
  EmbedResult,
} from '../common/types.js';

/**
 * A model to load:
 * - a URL (string or `URL`) of a `model.json` written by `pptsn-web convert` (shards are fetched next to it);
 * - a `File`, `Blob` or `ArrayBuffer` holding PaddleVideo weights (`.pdparams` or `.pdiparams`), converted in the
 *   worker;
 * - the name of a model cached by an earlier `PPTSN.load` (see `PPTSN.cachedModels()`).
 */
export type ModelSource = string | URL | Blob | ArrayBuffer | ArrayBufferView;

/** Options of `PPTSN.load`. */
export interface LoadOptions {
  /** The model: a `model.json` URL, a weight file (`File`/`Blob`/`ArrayBuffer`), or a cached model's name. */
  model: ModelSource;
  /** Backend to run on (default `'auto'`: webgpu → webgl → wasm → cpu, skipping software GPU emulation). */
  backend?: BackendChoice;
  /**
   * Called as bytes arrive and as the worker converts, uploads and warms up the model. When caching a file fails
   * (the storage quota is full), the load still resolves with the model in memory, nothing of it stays cached, and
   * one `{ phase: 'cache', file, error }` event reports it: `error` is a `PPTSNError` with code `quota-exceeded`
   * (or `storage` for another Cache Storage failure), `file` and `bytes` (the space that file needed); the same
   * error is `model.cacheError`.
   */
  onProgress?: (progress: LoadProgress) => void;
  /** Aborts the load (the worker is terminated); the promise rejects with code `aborted`. */
  signal?: AbortSignal;
  /**
   * Keep model files in Cache Storage so a reload or an offline page loads without the network (default true).
   * Best effort: a full quota does not fail the load; see `onProgress` and `model.cacheError`.
   */
  cache?: boolean;
  /** Name to cache a converted weight file under (default: the file's name, else `"model"`). */
  name?: string;
  /** File name of an `ArrayBuffer`/`Blob` weight source (tells `.pdparams` from `.pdiparams`). */
  fileName?: string;
  /** The `.pdiparams.info` file that goes with a `.pdiparams`, if any. */
  info?: Blob | ArrayBuffer;
  /** Class names for a converted weight file (a `model.json` carries its own). */
  labels?: string[];
  /** Where the tfjs WASM files are served; by default the copies emitted next to the worker are used. */
  wasmPaths?: WasmPaths;
  /**
   * Run the WASM backend multi-threaded (default: on wherever the page is cross-origin isolated, i.e. served with
   * COOP/COEP, using every logical core; otherwise the single-threaded SIMD binary). Set false to force one
   * thread. Threads also need the app's tfjs-backend-wasm to be the version of the pthread glue served beside the
   * binaries (`tfjs-backend-wasm-threaded-simd.js`, copied by pptsn-web's build from its tfjs-backend-wasm, 4.22.0);
   * with another version, or without that file, it runs one thread and `backendReport` says why. Works with minified
   * bundles too: pptsn-web gives tfjs's pthread workers that unminified Emscripten source (`model.backendReport`
   * says how many threads run).
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

/**
 * Which classes a result's `top` holds, for `classify` and for each result of `classifyStream` (resolved once, on
 * the page, by core/classify/defaults.ts; the worker gets class indices). A bad value is `invalid-argument` at the
 * call, before any frame is read.
 */
export interface TopOptions {
  /** Number of best classes in `top` (default 5). */
  topK?: number;
  /** Leave classes below this probability (0–1) out of `top` (which may then hold fewer than `topK`, or none). */
  scoreThreshold?: number;
  /**
   * Only these classes (labels or 0-based indices) are candidates for `top`; `probabilities` still cover every
   * class (softmax over all of them, as PaddleVideo). An unknown label or index is `invalid-argument`.
   */
  classes?: readonly (string | number)[];
}

/** Options of `model.classify` and `model.preprocess`. Unset fields come from the preset. */
export interface ClassifyOptions extends TopOptions {
  /** Preset (default: the model's, model.json's `preset`, which is `accurate` for converted PaddleVideo weights). */
  preset?: PresetName;
  /** Number of segments T (one frame per segment). */
  segments?: number;
  /** Crops per frame. */
  crops?: CropMode;
  /** Short-side scaling: PaddleVideo's fixed-ratio (341×256) or keep-ratio. */
  scale?: 'fixed-ratio' | 'keep-ratio';
  /** Aborts decoding and inference; the promise rejects with code `aborted` within a second. */
  signal?: AbortSignal;
  /**
   * `classify` only: called after each chunk of images with the running top-k (see `ClassifyProgress`); the last
   * call, made before the promise resolves, carries the result's `top`. An exception thrown here is reported, not
   * propagated.
   */
  onProgress?: (progress: ClassifyProgress) => void;
}

/** Options of `model.classifyStream`. Unset preprocessing fields come from the `fast` preset (centre crop). */
export interface StreamOptions extends TopOptions {
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
  /** Stops the stream, like `handle.stop()`. */
  signal?: AbortSignal;
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

/** Options of `model.embed`: the preprocessing of `classify`, and whether to return per-frame features too. */
export interface EmbedOptions extends Omit<ClassifyOptions, 'topK' | 'scoreThreshold' | 'classes'> {
  /** Also return one feature per sampled frame (its crops averaged). Default false. */
  perFrame?: boolean;
}

/**
 * A video to classify: a `File`/`Blob`, a URL (string or `URL`; must be same-origin or CORS-enabled), an
 * `HTMLVideoElement` (frames are grabbed on the main thread and sent to the worker), an array of frames taken as
 * the sampled clip (one segment per frame; `VideoFrame`, `ImageBitmap`, `ImageData`, canvas or `<img>`; their
 * pixels are transferred to the worker), PaddleVideo's input tensor `{ data: Float32Array, shape }` of one clip,
 * `[1, T·C, 3, H, W]` or `[T·C, 3, H, W]` (its buffer is transferred: the caller's `data` is detached), or a
 * rawframes clip (PaddleVideo's `img_00001.jpg`, … : the files of a dropped folder, image Blobs in frame order, or a
 * `FileSystemDirectoryHandle`; only the sampled files are decoded). An array of Blobs/Files is a rawframes clip; an
 * array of decoded frames is an already-sampled clip.
 */
export type VideoSource = Blob | string | URL | HTMLVideoElement | readonly ClipFrame[] | TensorInput | RawframesSource;
