/**
 * Reader for `.pdparams` files (`paddle.save` of a state dict, docs/contract.md §3): a pickle (protocol 2, 3 or 4) of
 * `{structured_key: numpy.ndarray}` plus the `StructuredToParameterName@@` name table and, for arrays that
 * protocol 2/3 could not hold in one piece, `key@@.0, key@@.1, …` slices with an `UnpackBigParamInfor@@` entry.
 */
import { PPTSNError } from '../errors.js';
import { isPretrainedBackbone } from './pretrained.js';
import { findStateDict, foreignModel, unwrapTensor } from './checkpoint.js';
import { takeDistillationPart, type DistillationPart, type DistillationPick } from './distillation.js';
import { unpickle } from './pickle.js';
import { describe, printable, PyDict, PyList, PyNdArray, PyTuple, shapeSize, type PyValue } from './pyValues.js';
import { fortranToC, toFloat32, type RawTensor, type StoredDtype } from './tensor.js';
import { checkStateDict, type CheckedStateDict } from './validate.js';

/** Key of the structured → internal name table `paddle.save` adds. */
export const NAME_TABLE_KEY = 'StructuredToParameterName@@';
/** Key of the table describing split big parameters. */
export const BIG_PARAM_KEY = 'UnpackBigParamInfor@@';

/** What a `.pdparams` holds, before any architecture check. */
export interface RawPdparams {
  /** Tensors by the file's keys (split parameters already joined), in file order. */
  tensors: Map<string, RawTensor>;
  /** `StructuredToParameterName@@` (structured key → internal name), if the file has it. */
  parameterNames: Map<string, string> | undefined;
  /** Pickle protocol from the PROTO opcode (2 if absent). */
  protocol: number;
  /** For a training checkpoint, the key its state dict was under (`model`, `state_dict`, …). */
  checkpointKey?: string;
  /** A checkpoint's other top-level keys (e.g. `epoch`). */
  checkpointOtherKeys?: string[];
}

function invalid(message: string): never {
  throw new PPTSNError('model-invalid', message);
}

/**
 * Bounds the float32 bytes conversion may produce. A pickle can point many arrays at one memoised buffer, so a
 * small file could otherwise expand into gigabytes; a real file never shares buffers, and float16 (2 bytes → 4)
 * is the largest legitimate growth.
 */
class Budget {
  private left: number;
  constructor(readonly fileBytes: number) {
    this.left = 2 * fileBytes + 1024;
  }
  take(key: string, bytes: number): void {
    if (bytes > this.left) invalid(`${key}: arrays declare more data than a ${this.fileBytes}-byte file holds (shared or repeated buffers)`);
    this.left -= bytes;
  }
}

function arrayToTensor(fileKey: string, a: PyNdArray, budget: Budget): RawTensor {
  const key = printable(fileKey.slice(0, 200));
  if (!a.shape || !a.dtype || !a.data) invalid(`${key}: numpy array without data (no BUILD state)`);
  const { kind, itemsize, littleEndian, str } = a.dtype;
  let dtype: StoredDtype;
  if (kind === 'f' && itemsize === 4) dtype = 'float32';
  else if (kind === 'f' && itemsize === 2) dtype = 'float16';
  else if (kind === 'f' && itemsize === 8) dtype = 'float64';
  else invalid(`${key}: unsupported dtype ${str} (weights must be float16, float32 or float64)`);
  const n = shapeSize(a.shape, key);
  budget.take(key, n * 4);
  let data = toFloat32(a.data, dtype, littleEndian, n);
  if (a.fortran) data = fortranToC(data, a.shape);
  return { shape: [...a.shape], data, dtype };
}

function asStringMap(v: PyValue, what: string): Map<string, string> {
  if (!(v instanceof PyDict)) invalid(`${what} is not a dict`);
  const out = new Map<string, string>();
  for (const [k, val] of v.map) {
    if (typeof k !== 'string' || typeof val !== 'string') invalid(`${what} has a non-string entry`);
    out.set(k, val);
  }
  return out;
}

function intTuple(v: PyValue | undefined, what: string): number[] {
  const items = v instanceof PyTuple || v instanceof PyList ? v.items : undefined;
  if (!items || items.some((d) => typeof d !== 'number')) invalid(`${what} is not a list of integers`);
  return items as number[];
}

/** Joins `key@@.0, key@@.1, …` into `key` as `UnpackBigParamInfor@@` describes (Paddle's `_unpack_saved_dict`). */
function joinBigParams(tensors: Map<string, RawTensor>, info: PyValue): void {
  if (!(info instanceof PyDict)) invalid(`${BIG_PARAM_KEY} is not a dict`);
  for (const [key, entry] of info.map) {
    if (typeof key !== 'string' || !(entry instanceof PyDict)) invalid(`${BIG_PARAM_KEY} has a malformed entry`);
    const shape = intTuple(entry.map.get('OriginShape'), `${BIG_PARAM_KEY}[${key}].OriginShape`);
    const slicesV = entry.map.get('slices');
    const slices = slicesV instanceof PyList || slicesV instanceof PyTuple ? slicesV.items : undefined;
    if (!slices || slices.some((s) => typeof s !== 'string')) invalid(`${BIG_PARAM_KEY}[${key}].slices is not a list of names`);
    const n = shapeSize(shape, key);
    let total = 0;
    const parts: RawTensor[] = [];
    const used = new Set<string>();
    for (const name of slices as string[]) {
      const part = tensors.get(name);
      if (!part) invalid(`${key}: slice ${name} listed in ${BIG_PARAM_KEY} is missing`);
      // Each slice is used once, so the joined array is never larger than the data the file holds.
      if (used.has(name)) invalid(`${key}: slice ${name} is listed twice in ${BIG_PARAM_KEY}`);
      used.add(name);
      total += part.data.length;
      parts.push(part);
    }
    if (total !== n) invalid(`${key}: slices hold ${total} values but OriginShape [${shape.join(', ')}] needs ${n}`);
    const data = new Float32Array(n);
    let off = 0;
    for (const p of parts) {
      data.set(p.data, off);
      off += p.data.length;
    }
    for (const name of slices as string[]) tensors.delete(name);
    tensors.set(key, { shape, data, dtype: parts[0]?.dtype ?? 'float32' });
  }
}

/**
 * Reads a `.pdparams` into raw tensors without checking them against the architecture (partial state dicts,
 * tests, tools). Refuses hostile pickles and malformed arrays with `PPTSNError('model-invalid')`.
 */
export function readPdparamsRaw(bytes: Uint8Array, fileName = '.pdparams file'): RawPdparams {
  const protocol = bytes[0] === 0x80 && bytes.length > 1 ? bytes[1]! : 2;
  const top = unpickle(bytes);
  if (!(top instanceof PyDict)) invalid(`a .pdparams file must hold a dict of arrays, this one holds a ${describe(top)}`);
  // A training checkpoint keeps the state dict under a key; Paddle Tensors arrive as (name, ndarray) tuples.
  const found = findStateDict(top, fileName);
  const root = found.dict;
  const tensors = new Map<string, RawTensor>();
  let parameterNames: Map<string, string> | undefined;
  let bigInfo: PyValue | undefined;
  const budget = new Budget(bytes.length);
  for (const [k, wrapped] of root.map) {
    const v = unwrapTensor(wrapped);
    if (typeof k !== 'string') invalid(`state dict key ${printable(String(k).slice(0, 80))} is not a string`);
    if (k === NAME_TABLE_KEY) parameterNames = asStringMap(v, NAME_TABLE_KEY);
    else if (k === BIG_PARAM_KEY) bigInfo = v;
    else if (v instanceof PyNdArray) tensors.set(k, arrayToTensor(k, v, budget));
    else if (typeof v === 'number') tensors.set(k, { shape: [], data: new Float32Array([v]), dtype: 'float64' });
    else invalid(`${printable(k.slice(0, 200))}: expected a numpy array, found ${describe(v)}`);
  }
  if (bigInfo !== undefined) joinBigParams(tensors, bigInfo);
  return { tensors, parameterNames, protocol, ...(found.key ? { checkpointKey: found.key, checkpointOtherKeys: found.otherKeys } : {}) };
}

/**
 * Reads a `.pdparams` and checks it is a complete PP-TSN state dict: returns it keyed by structured names in
 * PaddleVideo's order with the inferred depth and class count. A distillation checkpoint (formats/distillation.ts)
 * gives its student, or with `part: 'teacher'` its teacher, renamed to `Recognizer2D` keys (`distillation` says so).
 */
export function readPdparams(bytes: Uint8Array, fileName = '.pdparams file', options: { part?: DistillationPart } = {}): CheckedStateDict & { parameterNames: Map<string, string> | undefined; checkpointKey?: string; distillation?: DistillationPick } {
  const raw = readPdparamsRaw(bytes, fileName);
  const taken = takeDistillationPart(raw.tensors, raw.parameterNames, options.part, fileName);
  const tensors = taken?.tensors ?? raw.tensors;
  const parameterNames = taken ? taken.names : raw.parameterNames;
  let label = raw.checkpointKey ? `${fileName} (state dict under '${raw.checkpointKey}')` : fileName;
  if (taken) label = `the ${taken.pick.part} of ${label}`;
  let checked: CheckedStateDict;
  try {
    checked = checkStateDict(tensors, label);
  } catch (e) {
    if (isPretrainedBackbone([...raw.tensors.keys()])) {
      throw new PPTSNError('model-invalid', `${fileName} is an ImageNet ResNet-vd backbone (PaddleClas), not a PP-TSN model: it has no video head. Train from it with 'pptsn-web train <train_list> -o <run_dir> --pretrained ${fileName}' (PaddleVideo's backbone.pretrained)`, { cause: e });
    }
    const foreign = foreignModel([...tensors.keys()], [...(parameterNames?.values() ?? [])]);
    if (foreign) throw new PPTSNError('model-invalid', `${taken ? `the ${taken.pick.part} of ` : ''}${fileName} holds ${foreign}`, { cause: e });
    throw e;
  }
  return { ...checked, parameterNames, ...(raw.checkpointKey ? { checkpointKey: raw.checkpointKey } : {}), ...(taken ? { distillation: taken.pick } : {}) };
}
