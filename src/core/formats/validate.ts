/**
 * Turns the tensors a reader found into a checked PP-TSN state dict: maps internal names to PaddleVideo's
 * structured keys when needed, infers depth and class count from the keys (arch.ts `inferArch`) and checks
 * every key and shape against the architecture's `paramSpecs`, naming each wrong, missing or unknown key.
 */
import { PPTSNError } from '../errors.js';
import { archSpec, DEPTHS, inferArch, paramSpecs, type Depth, type ParamSpec } from '../model/arch.js';
import type { StateDict } from '../stateDict.js';
import { fmtShape } from './tensor.js';

/** Anything with a shape and float32 data (RawTensor, ParamArray). */
export interface ShapedData {
  shape: number[];
  data: Float32Array;
}

/** A state dict that passed the architecture check. */
export interface CheckedStateDict {
  /** Structured keys in PaddleVideo's state-dict order (paramSpecs). */
  stateDict: StateDict;
  depth: Depth;
  numClasses: number;
}

const MAX_LISTED = 8;

function listSome(items: string[]): string {
  return items.length > MAX_LISTED ? `${items.slice(0, MAX_LISTED).join(', ')} … (${items.length} in all)` : items.join(', ');
}

/** Internal name (`res3a_branch2a_weights`) → structured key, for one depth (the names do not depend on the class count). */
export function internalToStructured(depth: Depth): Map<string, string> {
  return new Map(paramSpecs(archSpec(depth, 1)).map((p) => [p.internal, p.key]));
}

/**
 * If every name is an internal name of one depth's plan, the internal → structured map of that depth.
 * PaddleClas/static-graph era `.pdparams` files (e.g. backbone pretrains) are keyed this way.
 */
export function matchInternalNames(names: Iterable<string>): Map<string, string> | undefined {
  const list = [...names];
  for (const d of DEPTHS) {
    const map = internalToStructured(d);
    if (list.length === map.size && list.every((n) => map.has(n))) return map;
  }
  return undefined;
}

/**
 * Compares found shapes with the plan; returns one message per problem (wrong shape, missing, unknown key),
 * in the plan's order.
 */
export function shapeProblems(specs: readonly ParamSpec[], found: ReadonlyMap<string, { shape: readonly number[] }>): string[] {
  const problems: string[] = [];
  const known = new Set<string>();
  for (const p of specs) {
    known.add(p.key);
    const t = found.get(p.key);
    if (!t) problems.push(`${p.key}: missing`);
    else if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      problems.push(`${p.key}: expected ${fmtShape(p.shape)}, found ${fmtShape(t.shape)}`);
    }
  }
  for (const k of found.keys()) if (!known.has(k)) problems.push(`${k}: unknown key`);
  return problems;
}

/**
 * Checks tensors keyed by structured (or, for old files, internal) names against the PP-TSN plan and returns
 * them as a StateDict in paramSpecs order. Throws `PPTSNError('model-invalid')` naming every bad key.
 */
export function checkStateDict(tensors: ReadonlyMap<string, ShapedData>, what = 'weight file'): CheckedStateDict {
  let byKey: ReadonlyMap<string, ShapedData> = tensors;
  const structured = [...tensors.keys()].some((k) => k.startsWith('backbone.') || k.startsWith('head.'));
  if (!structured) {
    const map = matchInternalNames(tensors.keys());
    if (map) byKey = new Map([...tensors].map(([k, v]) => [map.get(k)!, v]));
  }
  let depth: Depth;
  let numClasses: number;
  try {
    ({ depth, numClasses } = inferArch(byKey.keys(), byKey.get('head.fc.weight')?.shape));
  } catch (e) {
    const keys = [...byKey.keys()];
    throw new PPTSNError(
      'model-invalid',
      `${what} is not a complete PP-TSN state dict (${keys.length} tensors${keys.length ? `, e.g. ${listSome(keys.slice(0, 3))}` : ''}): ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (!Number.isSafeInteger(numClasses) || numClasses < 1) throw new PPTSNError('model-invalid', `${what}: head.fc.weight has a bad class count ${numClasses}`);
  const specs = paramSpecs(archSpec(depth, numClasses));
  const problems = shapeProblems(specs, byKey);
  if (problems.length) {
    throw new PPTSNError('model-invalid', `${what} does not match PP-TSN ResNet${depth}-vd with ${numClasses} classes: ${listSome(problems)}`);
  }
  const stateDict: StateDict = new Map();
  for (const p of specs) {
    const t = byKey.get(p.key)!;
    stateDict.set(p.key, { shape: [...t.shape], data: t.data });
  }
  return { stateDict, depth, numClasses };
}
