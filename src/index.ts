/**
 * pptsn-web: PaddleVideo's PP-TSN video classifier in the browser. `PPTSN.load` starts a Web Worker running
 * TensorFlow.js (WebGPU, WebGL, WASM or CPU) and returns a model whose `classify` takes a File, Blob, URL or
 * `<video>`. Errors are `PPTSNError`s with a `code`.
 */
export { PPTSN } from './api/pptsn.js';
export type {
  BackendChoice,
  BackendName,
  BackendReportEntry,
  CachedModel,
  ClassifyOptions,
  TopOptions,
  ClassifyProgress,
  ClassifyResult,
  CropMode,
  EmbedOptions,
  EmbedResult,
  ClipFrame,
  TensorInput,
  CacheInfo,
  CacheError,
  CacheFailure,
  LoadOptions,
  LoadProgress,
  MemoryInfo,
  ModelInfo,
  ModelSource,
  Prediction,
  PreprocessResult,
  PresetName,
  StreamHandle,
  StreamOptions,
  StreamResult,
  Timings,
  VideoSource,
  WasmPaths,
} from './api/types.js';
export { Trainer, type TrainerOptions, type FitResult, type ClipInfo, type StepInfo, type EpochInfo, type EvaluateResult, type ExportedFiles, type TrainingProgress, type TrainingListItem } from './api/trainer.js';
export { paddleClasPretrainedUrl, type PretrainedSource } from './api/pretrainedSource.js';
export type { TrainingRunInfo } from './api/trainingRuns.js';
export { PPTSNError, isPPTSNError, type PPTSNErrorCode } from './core/errors.js';
export { RECOMMENDED_CSP } from './csp.js';
export { archSpec, paramSpecs, DEPTHS, type Depth, type ArchSpec } from './core/model/arch.js';
// For drawing and labelling: the crop boxes a preset cuts from a frame, and PaddleVideo's label-file format.
export { frameCropBoxes } from './core/preprocess/frameCrops.js';
export type { CropBox, Size } from './core/preprocess/transforms.js';
export { parseLabels } from './core/labels.js';
export type { StateDict, ParamArray } from './core/stateDict.js';
export type { EvaluateItem, EvaluateOptions } from './api/evaluate.js';
export type { RawframesSource } from './api/rawframes.js';
export type { EvalSummary, EvalRecord, ClassAccuracy } from './core/eval/metrics.js';
export { parseList, type ListEntry, type ListItem, type ListFormat } from './core/dataset/lists.js';
export { confusionCsv } from './core/eval/metrics.js';
