/** Weight-file formats: PaddleVideo `.pdparams` / `.pdiparams` readers and writer, our model.json. */
export { loadWeightFile, sniffWeightFormat, type LoadedWeights } from './load.js';
export { readPdparams, readPdparamsRaw, NAME_TABLE_KEY, BIG_PARAM_KEY, type RawPdparams } from './pdparams.js';
export { readPdiparams, readPdiparamsRaw, readPdiparamsTensors, readPdiparamsInfo } from './pdiparams.js';
export { writePdparams, writePdparamsRaw } from './pdparamsWriter.js';
export {
  readModelJson,
  writeModelJson,
  SHARD_BYTES,
  type ModelJson,
  type PPTSNModelMeta,
  type WeightSource,
  type WeightFormat,
  type ManifestWeight,
  type Shard,
  type FetchShard,
  type LoadedModelJson,
  type WriteModelJsonOptions,
} from './modelJson.js';
export { checkStateDict, shapeProblems, type CheckedStateDict } from './validate.js';
export { unpickle, PICKLE_LIMITS } from './pickle.js';
export { sha256Hex, sha256HexSync } from './sha256.js';
export { float32ToFloat16Bits, float16BitsToFloat32, encodeFloat16, decodeFloat16 } from './float16.js';
export type { RawTensor, StoredDtype } from './tensor.js';
