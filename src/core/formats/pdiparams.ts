/**
 * Reader for `.pdiparams` files (`paddle.static.save_inference_model` / `paddle.jit.save`, docs/contract.md §3):
 * tensors concatenated in sorted internal-name order, each `u32 version | u64 lod_level | (u64 bytes + lod data) ×
 * lod_level | u32 version | i32 desc size | TensorDesc | data`. The file carries no names: they come from a
 * `.pdiparams.info` pickle when given, or from the architecture (paramSpecs' internal names, sorted), trying each
 * depth whose tensor count and shapes fit.
 */
import { PPTSNError } from '../errors.js';
import { archSpec, DEPTHS, paramSpecs, type Depth } from '../model/arch.js';
import { unpickle } from './pickle.js';
import { PyDict } from './pyValues.js';
import { fmtShape, toFloat32, type RawTensor, type StoredDtype } from './tensor.js';
import { checkStateDict, type CheckedStateDict } from './validate.js';

/** Paddle's `VarType.Type` values for the element types we read. */
const DATA_TYPES: Record<number, StoredDtype> = { 4: 'float16', 5: 'float32', 6: 'float64', 22: 'bfloat16' };
const TYPE_NAMES: Record<number, string> = { 0: 'BOOL', 1: 'INT16', 2: 'INT32', 3: 'INT64', 20: 'UINT8', 21: 'INT8', 23: 'COMPLEX64', 24: 'COMPLEX128' };
const ITEMSIZE: Record<StoredDtype, number> = { float16: 2, float32: 4, float64: 8, bfloat16: 2 };

/** Upper bounds no real file reaches: a TensorDesc is a few bytes per dim, LoD levels are 0 for weights. */
const MAX_DESC_BYTES = 4096;
const MAX_LOD_LEVELS = 16;
const MAX_RANK = 32;

function invalid(message: string): never {
  throw new PPTSNError('model-invalid', message);
}

/** Parses the TensorDesc protobuf: field 1 data_type (varint), field 2 dims (int64, packed or not); others skipped. */
function parseTensorDesc(b: Uint8Array, where: string): { dataType: number; dims: number[] } {
  let pos = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= b.length) invalid(`${where}: truncated TensorDesc`);
      const c = b[pos++]!;
      v |= BigInt(c & 0x7f) << shift;
      if (!(c & 0x80)) return v & 0xffffffffffffffffn;
    }
    invalid(`${where}: varint too long in TensorDesc`);
  };
  const dim = (v: bigint): number => {
    // int64 is two's complement in a varint: a negative dim (−1, unknown) is a huge unsigned value.
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) invalid(`${where}: bad tensor dimension ${BigInt.asIntN(64, v)}`);
    return Number(v);
  };
  let dataType = -1;
  const dims: number[] = [];
  while (pos < b.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 1 && wire === 0) dataType = Number(varint());
    else if (field === 2 && wire === 0) dims.push(dim(varint()));
    else if (field === 2 && wire === 2) {
      const len = Number(varint());
      if (len > b.length - pos) invalid(`${where}: truncated TensorDesc dims`);
      const end = pos + len;
      while (pos < end) dims.push(dim(varint()));
      if (pos !== end) invalid(`${where}: malformed packed dims in TensorDesc`);
    } else if (wire === 0) varint();
    else if (wire === 2) {
      const len = varint();
      if (len > BigInt(b.length - pos)) invalid(`${where}: truncated TensorDesc field`);
      pos += Number(len);
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else invalid(`${where}: unsupported protobuf wire type ${wire} in TensorDesc`);
    if (pos > b.length) invalid(`${where}: truncated TensorDesc`);
    if (dims.length > MAX_RANK) invalid(`${where}: tensor rank over ${MAX_RANK}`);
  }
  if (dataType < 0) invalid(`${where}: TensorDesc has no data_type`);
  return { dataType, dims };
}

/**
 * Reads every tensor of a `.pdiparams` in file order, without names. Every declared size is checked against the
 * bytes that remain before anything is allocated.
 */
export function readPdiparamsTensors(bytes: Uint8Array): RawTensor[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: RawTensor[] = [];
  let pos = 0;
  const need = (n: number | bigint, what: string): number => {
    const left = bytes.length - pos;
    if (n < 0 || (typeof n === 'bigint' ? n > BigInt(left) : n > left)) {
      invalid(`.pdiparams tensor #${out.length} at byte ${pos}: ${what} needs ${String(n)} bytes but only ${left} remain (file truncated or corrupt)`);
    }
    return Number(n);
  };
  while (pos < bytes.length) {
    const where = `.pdiparams tensor #${out.length} at byte ${pos}`;
    need(12, 'header');
    const version = view.getUint32(pos, true);
    if (version !== 0) invalid(`${where}: unsupported LoDTensor version ${version}`);
    const lodLevel = view.getBigUint64(pos + 4, true);
    pos += 12;
    if (lodLevel > BigInt(MAX_LOD_LEVELS)) invalid(`${where}: implausible LoD level ${lodLevel}`);
    for (let l = 0; l < Number(lodLevel); l++) {
      need(8, 'LoD size');
      const size = view.getBigUint64(pos, true);
      pos += 8;
      pos += need(size, 'LoD data');
    }
    need(8, 'tensor header');
    const tVersion = view.getUint32(pos, true);
    if (tVersion !== 0) invalid(`${where}: unsupported Tensor version ${tVersion}`);
    const descSize = view.getInt32(pos + 4, true);
    pos += 8;
    if (descSize < 0 || descSize > MAX_DESC_BYTES) invalid(`${where}: implausible TensorDesc size ${descSize}`);
    need(descSize, 'TensorDesc');
    const desc = parseTensorDesc(bytes.subarray(pos, pos + descSize), where);
    pos += descSize;
    const dtype = DATA_TYPES[desc.dataType];
    if (!dtype) invalid(`${where}: unsupported data type ${TYPE_NAMES[desc.dataType] ?? desc.dataType} (weights must be FP16, FP32 or FP64)`);
    let count = 1;
    for (const d of desc.dims) {
      count *= d;
      if (count > Number.MAX_SAFE_INTEGER) invalid(`${where}: shape ${fmtShape(desc.dims)} is too large`);
    }
    const byteLen = count * ITEMSIZE[dtype];
    need(byteLen, `data of shape ${fmtShape(desc.dims)} (${dtype})`);
    out.push({ shape: desc.dims, data: toFloat32(bytes.subarray(pos, pos + byteLen), dtype, true, count), dtype });
    pos += byteLen;
  }
  return out;
}

/** Byte-wise ordering, as Python's `sorted` orders the ASCII parameter names. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Parses a `.pdiparams.info` pickle (`paddle.jit.save`): `{internal_name: {structured_name, stop_gradient, …}}`.
 * Returns internal name → structured key.
 */
export function readPdiparamsInfo(bytes: Uint8Array): Map<string, string> {
  const root = unpickle(bytes);
  if (!(root instanceof PyDict)) invalid('.pdiparams.info must hold a dict');
  const out = new Map<string, string>();
  for (const [k, v] of root.map) {
    if (typeof k !== 'string') invalid('.pdiparams.info has a non-string key');
    const s = v instanceof PyDict ? v.map.get('structured_name') : undefined;
    if (typeof s !== 'string') invalid(`.pdiparams.info entry ${k} has no structured_name`);
    out.set(k, s);
  }
  return out;
}

/**
 * Names the tensors of a `.pdiparams` with the given internal names (sorted here, as the file is) and maps
 * them to structured keys through `toStructured` where it has an entry. No architecture check: for partial
 * files and tools.
 */
export function readPdiparamsRaw(bytes: Uint8Array, internalNames: Iterable<string>, toStructured?: ReadonlyMap<string, string>): Map<string, RawTensor> {
  const tensors = readPdiparamsTensors(bytes);
  const names = [...internalNames].sort(byName);
  if (names.length !== tensors.length) invalid(`.pdiparams holds ${tensors.length} tensors but ${names.length} names were given`);
  return new Map(names.map((n, i) => [toStructured?.get(n) ?? n, tensors[i]!]));
}

/** The depths whose plan has `count` tensors (names sorted as the file orders them). */
function candidates(count: number): { depth: Depth; sorted: { internal: string; key: string; shape: number[] }[] }[] {
  const out = [];
  for (const depth of DEPTHS) {
    const specs = paramSpecs(archSpec(depth, 1));
    if (specs.length === count) out.push({ depth, sorted: specs.map((p) => ({ internal: p.internal, key: p.key, shape: p.shape })).sort((a, b) => byName(a.internal, b.internal)) });
  }
  return out;
}

/**
 * Reads a complete PP-TSN `.pdiparams`. Names come from `info` (the `.pdiparams.info` bytes) when given;
 * otherwise each depth whose tensor count fits is tried, taking the class count from `fc_0.w_0`.
 */
export function readPdiparams(bytes: Uint8Array, options: { info?: Uint8Array; fileName?: string } = {}): CheckedStateDict {
  const what = options.fileName ?? '.pdiparams file';
  if (options.info) {
    const map = readPdiparamsInfo(options.info);
    return checkStateDict(readPdiparamsRaw(bytes, map.keys(), map), what);
  }
  const tensors = readPdiparamsTensors(bytes);
  const cands = candidates(tensors.length);
  if (!cands.length) {
    const counts = DEPTHS.map((d) => `${d}: ${paramSpecs(archSpec(d, 1)).length}`).join(', ');
    invalid(`${what} holds ${tensors.length} tensors, which fits no PP-TSN depth (tensors per depth ${counts}); pass its .pdiparams.info to name them`);
  }
  let lastError: unknown;
  for (const c of cands) {
    const named = new Map<string, RawTensor>();
    c.sorted.forEach((s, i) => named.set(s.key, tensors[i]!));
    try {
      return checkStateDict(named, what);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}
