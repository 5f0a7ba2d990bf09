/**
 * Checks a state dict against the layer plan before any tensor is built, so a wrong file fails with one
 * message that names every problem (missing, unknown and misshapen keys) instead of a backend error deep inside
 * a convolution.
 */
import { PPTSNError } from '../errors.js';
import { sizeOf, type StateDict } from '../stateDict.js';
import { archSpec, inferArch, isDepth, paramSpecs, type ArchSpec, type Depth } from './arch.js';

export interface ArchOptions {
  /** ResNet-vd depth; inferred from the blocks present in the state dict when omitted. */
  depth?: number;
  /** Class count; read from `head.fc.weight` `[F, classes]` when omitted. */
  numClasses?: number;
}

const LIST_LIMIT = 8;

function list(keys: string[]): string {
  const shown = keys.slice(0, LIST_LIMIT).join(', ');
  return keys.length > LIST_LIMIT ? `${shown}, … (${keys.length} in all)` : shown;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Resolves the architecture (given or inferred) and checks every key, shape and data length of `sd` against it. */
export function resolveArch(sd: StateDict, opts: ArchOptions = {}): ArchSpec {
  let depth: Depth;
  let numClasses: number;
  try {
    const needInfer = opts.depth === undefined || opts.numClasses === undefined;
    const inferred = needInfer ? inferArch(sd.keys(), sd.get('head.fc.weight')?.shape) : undefined;
    const d = opts.depth ?? inferred!.depth;
    if (!isDepth(d)) throw new RangeError(`unsupported ResNet-vd depth ${String(d)}`);
    depth = d;
    numClasses = opts.numClasses ?? inferred!.numClasses;
  } catch (e) {
    throw new PPTSNError('model-invalid', `cannot tell the PP-TSN architecture of these weights: ${(e as Error).message}`, { cause: e });
  }
  let arch: ArchSpec;
  try {
    arch = archSpec(depth, numClasses);
  } catch (e) {
    throw new PPTSNError('model-invalid', (e as Error).message, { cause: e });
  }
  validateStateDict(sd, arch);
  return arch;
}

/** Throws PPTSNError('model-invalid') naming every missing, unknown or misshapen parameter of `sd` for `arch`. */
export function validateStateDict(sd: StateDict, arch: ArchSpec): void {
  const specs = paramSpecs(arch);
  const expected = new Set(specs.map((p) => p.key));
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const p of specs) {
    const v = sd.get(p.key);
    if (!v) {
      missing.push(p.key);
      continue;
    }
    if (v.shape.length !== p.shape.length || v.shape.some((d, i) => d !== p.shape[i])) {
      wrong.push(`${p.key}: expected ${fmt(p.shape)}, found ${fmt(v.shape)}`);
    } else if (v.data.length !== sizeOf(p.shape)) {
      wrong.push(`${p.key}: shape ${fmt(p.shape)} needs ${sizeOf(p.shape)} values, found ${v.data.length}`);
    }
  }
  const unknown = [...sd.keys()].filter((k) => !expected.has(k));
  if (missing.length + wrong.length + unknown.length === 0) return;
  const parts = [`the weights do not fit PP-TSN ResNet${arch.depth}-vd with ${arch.numClasses} classes`];
  if (wrong.length) parts.push(`wrong shape: ${wrong.slice(0, LIST_LIMIT).join('; ')}${wrong.length > LIST_LIMIT ? `; … (${wrong.length} in all)` : ''}`);
  if (missing.length) parts.push(`missing: ${list(missing)}`);
  if (unknown.length) parts.push(`unknown: ${list(unknown)}`);
  throw new PPTSNError('model-invalid', parts.join('. '));
}
