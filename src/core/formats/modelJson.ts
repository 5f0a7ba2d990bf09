/**
 * Our model format: a `model.json` that is a valid TensorFlow.js weights manifest (so `tf.io.decodeWeights` and
 * the tfjs http loader can read its shards) plus a `pptsn` block with what the network needs (depth, classes,
 * labels, preset, provenance). Weights keep Paddle's layout and structured names; shards are
 * `group1-shard{i}of{N}.bin` of at most 4 MiB; each weight is float32 or float16
 * (`quantization: { dtype: 'float16' }`, tfjs' own encoding for half-precision weights).
 *
 * Integrity: each manifest group may carry `sha256`, the SHA-256 of each shard file (lowercase hex, parallel to
 * `paths`). The writer always adds it; the reader verifies every shard against it when present and refuses a
 * mismatch with PPTSNError('integrity'), so a corrupted download or a tampered shard (network, CDN, Cache Storage)
 * never becomes weights. Files written before the field existed have none and load as before; tfjs ignores it.
 */
import { PPTSNError } from '../errors.js';
import { archSpec, isDepth, paramSpecs, type Depth } from '../model/arch.js';
import type { StateDict } from '../stateDict.js';
import { decodeFloat16, encodeFloat16, FLOAT16_MAX } from './float16.js';
import { sha256Hex, sha256HexSync } from './sha256.js';
import { shapeSize } from './pyValues.js';
import { hostLittleEndian } from './tensor.js';
import { checkStateDict, shapeProblems } from './validate.js';

/** The source formats we read. */
export type WeightFormat = 'pdparams' | 'pdiparams' | 'model.json';

/** Where a model's weights came from. */
export interface WeightSource {
  fileName: string;
  /** SHA-256 of the original file, lowercase hex. */
  sha256: string;
  format: WeightFormat;
}

/** Our block in model.json. */
export interface PPTSNModelMeta {
  version: 1;
  depth: Depth;
  numClasses: number;
  /** One label per class, or empty when the model came without labels. */
  labels: string[];
  /** The preprocessing preset the weights are meant for (`accurate` for PaddleVideo's test pipeline). */
  preset: string;
  source: WeightSource | null;
  /** Weights are in Paddle's layouts (conv `[O, I, kh, kw]`, fc `[in, out]`) under structured names. */
  layout: 'paddle';
}

/** One entry of a tfjs weights manifest (the subset we write). */
export interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: 'float16' };
}

/** A model.json as we write it. */
export interface ModelJson {
  format: 'pptsn-weights';
  generatedBy: string;
  convertedBy: string;
  /** `sha256[i]` is the SHA-256 (hex) of the shard `paths[i]`; optional (older files have none). */
  weightsManifest: { paths: string[]; weights: ManifestWeight[]; sha256?: string[] }[];
  pptsn: PPTSNModelMeta;
}

/** A binary shard to store next to model.json. */
export interface Shard {
  /** File name, e.g. `group1-shard1of6.bin`. */
  name: string;
  /** The same name as it appears in the manifest's `paths` (tfjs' term), relative to model.json. */
  path: string;
  data: Uint8Array;
}

/** Largest shard we write (tfjs' converter default). */
export const SHARD_BYTES = 4 * 1024 * 1024;
const MAX_CLASSES = 1 << 20;

function invalid(message: string): never {
  throw new PPTSNError('model-invalid', `model.json: ${message}`);
}

export interface WriteModelJsonOptions {
  /** Per-class labels; empty or exactly one per class. */
  labels?: string[];
  /** Default `accurate`. */
  preset?: string;
  source?: WeightSource | null;
  /**
   * `float16` halves the download; a tensor with values beyond float16's range (±65504) stays float32 so nothing
   * overflows. BN statistics are stored like everything else (their float16 error is well below the BN epsilon's
   * effect; see the tolerance tests).
   */
  dtype?: 'float32' | 'float16';
  /** Shard size limit in bytes (default 4 MiB). */
  shardBytes?: number;
  /** Recorded as `generatedBy` (the original producer), default `PaddleVideo`. */
  generatedBy?: string;
}

/**
 * Converts a complete PP-TSN state dict into model.json + shards. The state dict is checked against the
 * architecture first.
 */
export function writeModelJson(stateDict: StateDict, options: WriteModelJsonOptions = {}): { modelJson: ModelJson; shards: Shard[] } {
  const { stateDict: checked, depth, numClasses } = checkStateDict(stateDict, 'state dict');
  const labels = options.labels ?? [];
  if (labels.length !== 0 && labels.length !== numClasses) {
    throw new PPTSNError('invalid-argument', `${labels.length} labels given for a model with ${numClasses} classes`);
  }
  const shardBytes = options.shardBytes ?? SHARD_BYTES;
  if (!Number.isSafeInteger(shardBytes) || shardBytes < 4) throw new PPTSNError('invalid-argument', `bad shard size ${shardBytes}`);
  const weights: ManifestWeight[] = [];
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const [name, t] of checked) {
    let bytes: Uint8Array;
    let half = options.dtype === 'float16';
    if (half) for (const v of t.data) if (!(Math.abs(v) <= FLOAT16_MAX) && Number.isFinite(v)) half = false;
    if (half) {
      const bits = encodeFloat16(t.data);
      bytes = new Uint8Array(bits.buffer);
      if (!hostLittleEndian) for (let i = 0; i < bytes.length; i += 2) [bytes[i], bytes[i + 1]] = [bytes[i + 1]!, bytes[i]!];
      weights.push({ name, shape: [...t.shape], dtype: 'float32', quantization: { dtype: 'float16' } });
    } else {
      bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      if (!hostLittleEndian) {
        bytes = new Uint8Array(t.data.length * 4);
        const dv = new DataView(bytes.buffer);
        t.data.forEach((v, i) => dv.setFloat32(i * 4, v, true));
      }
      weights.push({ name, shape: [...t.shape], dtype: 'float32' });
    }
    parts.push(bytes);
    total += bytes.length;
  }
  // tfjs treats a group's shards as one concatenated buffer, so a weight may straddle two shards.
  const count = Math.max(1, Math.ceil(total / shardBytes));
  const shards: Shard[] = [];
  let partIndex = 0;
  let partOffset = 0;
  for (let s = 0; s < count; s++) {
    const size = Math.min(shardBytes, total - s * shardBytes);
    const data = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const p = parts[partIndex]!;
      const n = Math.min(p.length - partOffset, size - off);
      data.set(p.subarray(partOffset, partOffset + n), off);
      off += n;
      partOffset += n;
      if (partOffset === p.length) {
        partIndex++;
        partOffset = 0;
      }
    }
    const name = `group1-shard${s + 1}of${count}.bin`;
    shards.push({ name, path: name, data });
  }
  const modelJson: ModelJson = {
    format: 'pptsn-weights',
    generatedBy: options.generatedBy ?? 'PaddleVideo',
    convertedBy: 'pptsn-web',
    // Shard hashes let loaders refuse corrupted or tampered shards (see the file comment).
    weightsManifest: [{ paths: shards.map((s) => s.name), weights, sha256: shards.map((s) => sha256HexSync(s.data)) }],
    pptsn: { version: 1, depth, numClasses, labels: [...labels], preset: options.preset ?? 'accurate', source: options.source ?? null, layout: 'paddle' },
  };
  return { modelJson, shards };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the `pptsn` block of untrusted JSON. */
function readMeta(v: unknown): PPTSNModelMeta {
  if (!isRecord(v)) invalid('no "pptsn" block: not a pptsn-web model');
  if (v.version !== 1) invalid(`unsupported pptsn version ${String(v.version)} (this build reads version 1)`);
  const depth = v.depth;
  if (typeof depth !== 'number' || !isDepth(depth)) invalid(`bad depth ${String(depth)}`);
  const numClasses = v.numClasses;
  if (typeof numClasses !== 'number' || !Number.isSafeInteger(numClasses) || numClasses < 1 || numClasses > MAX_CLASSES) invalid(`bad class count ${String(numClasses)}`);
  const labels = v.labels ?? [];
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) invalid('labels must be an array of strings');
  if (labels.length !== 0 && labels.length !== numClasses) invalid(`${labels.length} labels for ${numClasses} classes`);
  if (v.layout !== 'paddle') invalid(`unsupported layout ${String(v.layout)}`);
  let source: WeightSource | null = null;
  if (v.source !== null && v.source !== undefined) {
    const s = v.source;
    if (!isRecord(s) || typeof s.fileName !== 'string' || typeof s.sha256 !== 'string' || !['pdparams', 'pdiparams', 'model.json'].includes(s.format as string)) invalid('malformed source');
    source = { fileName: s.fileName, sha256: s.sha256, format: s.format as WeightFormat };
  }
  const preset = typeof v.preset === 'string' ? v.preset : 'accurate';
  return { version: 1, depth, numClasses, labels: labels as string[], preset, source, layout: 'paddle' };
}

interface Entry {
  name: string;
  shape: number[];
  half: boolean;
  bytes: number;
}

/** Checks the manifest's structure; returns, per group, its paths and entries with byte sizes. */
function readManifest(v: unknown): { paths: string[]; hashes: string[] | null; entries: Entry[]; bytes: number }[] {
  if (!Array.isArray(v) || v.length === 0) invalid('weightsManifest must be a non-empty array');
  const seen = new Set<string>();
  return v.map((g, gi) => {
    if (!isRecord(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) invalid(`weightsManifest[${gi}] needs paths and weights`);
    const paths = g.paths.map((p) => {
      // Shard paths are resolved next to model.json: plain file names only, never a URL or a parent directory.
      if (typeof p !== 'string' || !/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(p) || p.length > 200) invalid(`bad shard path ${JSON.stringify(p)?.slice(0, 80)}`);
      return p;
    });
    let hashes: string[] | null = null;
    if (g.sha256 !== undefined) {
      if (!Array.isArray(g.sha256) || g.sha256.length !== paths.length || g.sha256.some((h) => typeof h !== 'string' || !/^[0-9a-f]{64}$/i.test(h))) {
        invalid(`weightsManifest[${gi}].sha256 must hold one 64-digit hex SHA-256 per shard path`);
      }
      hashes = (g.sha256 as string[]).map((h) => h.toLowerCase());
    }
    let bytes = 0;
    const entries = g.weights.map((w) => {
      if (!isRecord(w) || typeof w.name !== 'string' || !Array.isArray(w.shape)) invalid(`malformed weight entry in group ${gi}`);
      const name = w.name;
      if (seen.has(name)) invalid(`${name} appears twice`);
      seen.add(name);
      if (w.dtype !== 'float32') invalid(`${name}: dtype ${String(w.dtype)} (weights are float32)`);
      let half = false;
      if (w.quantization !== undefined) {
        if (!isRecord(w.quantization) || w.quantization.dtype !== 'float16') invalid(`${name}: unsupported quantization (only float16)`);
        half = true;
      }
      if (w.shape.length > 8 || w.shape.some((d) => typeof d !== 'number')) invalid(`${name}: bad shape`);
      const shape = w.shape as number[];
      const n = shapeSize(shape, name);
      bytes += n * (half ? 2 : 4);
      if (bytes > Number.MAX_SAFE_INTEGER) invalid('weights are too large');
      return { name, shape, half, bytes: n * (half ? 2 : 4) };
    });
    if (bytes > 0 && paths.length === 0) invalid(`weightsManifest[${gi}] has weights but no shards`);
    return { paths, hashes, entries, bytes };
  });
}

/** Copies `n` bytes from a list of chunks, starting at a running position, into `dst`. */
class ChunkReader {
  private i = 0;
  private off = 0;
  constructor(private readonly chunks: Uint8Array[]) {}
  read(dst: Uint8Array): void {
    let done = 0;
    while (done < dst.length) {
      const c = this.chunks[this.i]!;
      const n = Math.min(c.length - this.off, dst.length - done);
      dst.set(c.subarray(this.off, this.off + n), done);
      done += n;
      this.off += n;
      if (this.off === c.length) {
        this.i++;
        this.off = 0;
      }
    }
  }
}

/** Fetches a shard by its manifest path (relative to model.json). */
export type FetchShard = (path: string) => Promise<Uint8Array | ArrayBuffer>;

/** A model read from model.json. */
export interface LoadedModelJson {
  stateDict: StateDict;
  depth: Depth;
  numClasses: number;
  /** `meta.labels` (one per class, or empty). */
  labels: string[];
  /** `meta.source`. */
  source: WeightSource | null;
  /** The whole `pptsn` block. */
  meta: PPTSNModelMeta;
}

/**
 * Reads model.json (already parsed, untrusted) and its shards. Checks the manifest against the architecture
 * named in the `pptsn` block before fetching anything, and every shard's size against the manifest before any
 * tensor is allocated.
 */
export async function readModelJson(json: unknown, fetchShard: FetchShard): Promise<LoadedModelJson> {
  if (!isRecord(json)) invalid('not a JSON object');
  const meta = readMeta(json.pptsn);
  const groups = readManifest(json.weightsManifest);
  const specs = paramSpecs(archSpec(meta.depth, meta.numClasses));
  const found = new Map(groups.flatMap((g) => g.entries.map((e) => [e.name, e] as const)));
  const problems = shapeProblems(specs, found);
  if (problems.length) {
    invalid(`does not match PP-TSN ResNet${meta.depth}-vd with ${meta.numClasses} classes: ${problems.slice(0, 8).join(', ')}${problems.length > 8 ? ` … (${problems.length} in all)` : ''}`);
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const g of groups) {
    const chunks: Uint8Array[] = [];
    let got = 0;
    for (const path of g.paths) {
      let raw: Uint8Array | ArrayBuffer;
      try {
        raw = await fetchShard(path);
      } catch (e) {
        if (e instanceof PPTSNError) throw e;
        throw new PPTSNError('network', `could not fetch shard ${path}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }
      const c = raw instanceof Uint8Array ? raw : new Uint8Array(raw);
      got += c.length;
      if (got > g.bytes) invalid(`shard ${path} makes ${got} bytes, more than the ${g.bytes} its weights need`);
      chunks.push(c);
    }
    if (got !== g.bytes) invalid(`shards hold ${got} bytes but the weights need ${g.bytes} (a shard is truncated or missing)`);
    // Hashes after the size check, so a truncated shard is reported as truncated (the more useful message).
    for (const [pi, path] of g.paths.entries()) {
      const want = g.hashes?.[pi];
      if (want === undefined) continue;
      const have = await sha256Hex(chunks[pi]!);
      if (have !== want) {
        throw new PPTSNError('integrity', `shard ${path}: its SHA-256 is ${have} but model.json says ${want}; the file is corrupt or was altered — download the model again`);
      }
    }
    const reader = new ChunkReader(chunks);
    for (const e of g.entries) {
      const buf = new Uint8Array(e.bytes);
      reader.read(buf);
      const count = e.bytes / (e.half ? 2 : 4);
      let data: Float32Array;
      if (e.half) {
        const bits = new Uint16Array(count);
        const dv = new DataView(buf.buffer);
        for (let i = 0; i < count; i++) bits[i] = dv.getUint16(i * 2, true);
        data = decodeFloat16(bits);
      } else if (hostLittleEndian) data = new Float32Array(buf.buffer);
      else {
        data = new Float32Array(count);
        const dv = new DataView(buf.buffer);
        for (let i = 0; i < count; i++) data[i] = dv.getFloat32(i * 4, true);
      }
      tensors.set(e.name, { shape: e.shape, data });
    }
  }
  const checked = checkStateDict(tensors, 'model.json');
  if (checked.depth !== meta.depth || checked.numClasses !== meta.numClasses) {
    invalid(`weights are ResNet${checked.depth}-vd/${checked.numClasses} classes but the pptsn block says ${meta.depth}/${meta.numClasses}`);
  }
  return { ...checked, labels: meta.labels, source: meta.source, meta };
}

