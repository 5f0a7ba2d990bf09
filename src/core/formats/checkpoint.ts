/**
 * Weight files as people have them (docs/contract.md §8): besides `paddle.save(layer.state_dict())`, training scripts save
 * `{'model': state_dict, 'epoch': n, …}` or `{'state_dict': …}`, Paddle ≥ 2.1 pickles each Tensor as
 * `builtins.tuple((name, ndarray))`, and PaddleVideo writes an optimizer state (`.pdopt`) beside each
 * checkpoint. This module finds the state dict inside such a pickle and recognises files that are not PP-TSN
 * weights at all, so the message says what the file is and what to do.
 */
import { PPTSNError } from '../errors.js';
import { printable, PyDict, PyNdArray, PyTuple, type PyValue } from './pyValues.js';

/** Keys under which checkpoints keep the model's state dict, in the order they are tried. */
export const CHECKPOINT_KEYS = ['model', 'state_dict', 'model_state_dict', 'net', 'params'] as const;

/** Where the state dict was found. */
export interface FoundStateDict {
  dict: PyDict;
  /** The checkpoint key holding it (`model`, `state_dict`, …); undefined for a plain state dict. */
  key?: string;
  /** The checkpoint's other top-level keys (e.g. `epoch`), for the report. */
  otherKeys: string[];
}

function isTensorLike(v: PyValue | undefined): boolean {
  return v instanceof PyNdArray || (v instanceof PyTuple && v.items.length === 2 && typeof v.items[0] === 'string' && v.items[1] instanceof PyNdArray);
}

/**
 * The state dict of a `.pdparams` pickle: the root itself when it holds arrays, else the dict under one of
 * `CHECKPOINT_KEYS`. Throws `PPTSNError('model-invalid')` for an optimizer state or a checkpoint without weights.
 */
export function findStateDict(root: PyDict, fileName: string): FoundStateDict {
  const keys = [...root.map.keys()].map(String);
  refuseOptimizerState(keys, fileName);
  const values = [...root.map.values()];
  if (!values.some(isTensorLike)) {
    for (const key of CHECKPOINT_KEYS) {
      const inner = root.map.get(key);
      if (inner instanceof PyDict && [...inner.map.values()].some(isTensorLike)) {
        refuseOptimizerState([...inner.map.keys()].map(String), fileName);
        return { dict: inner, key, otherKeys: keys.filter((k) => k !== key).map((k) => printable(k.slice(0, 40))) };
      }
    }
    const dicts = keys.filter((k) => root.map.get(k) instanceof PyDict);
    if (dicts.length) {
      throw new PPTSNError('model-invalid', `${fileName} is a checkpoint without model weights under ${CHECKPOINT_KEYS.join('/')} (top-level keys: ${keys.slice(0, 8).map((k) => printable(k.slice(0, 40))).join(', ')}): save the model's state_dict() with paddle.save and convert that file`);
    }
  }
  return { dict: root, otherKeys: [] };
}

/** Unwraps a Paddle Tensor pickled as `(name, ndarray)`; anything else is returned as is. */
export function unwrapTensor(v: PyValue): PyValue {
  return v instanceof PyTuple && v.items.length === 2 && typeof v.items[0] === 'string' && v.items[1] instanceof PyNdArray ? v.items[1] : v;
}

/** Suffixes of Paddle optimizer accumulators (Momentum, Adam, …) and the LR scheduler entry of a `.pdopt`. */
const OPTIMIZER_KEY = /(_velocity_\d+|_moment[12]_\d+|_beta[12]_pow_acc_\d+|_mean_square_\d+|_mean_grad_\d+)$|^LR_Scheduler$|^@LR_DECAY_COUNTER@$/;

function refuseOptimizerState(keys: string[], fileName: string): void {
  const hits = keys.filter((k) => OPTIMIZER_KEY.test(k));
  if (hits.length && hits.length >= keys.length / 2) {
    throw new PPTSNError('model-invalid', `${fileName} is a Paddle optimizer state (a .pdopt file: ${printable(hits[0]!.slice(0, 60))}, …), not model weights: convert the .pdparams file saved beside it`);
  }
}

/**
 * Names what a state dict that is not PP-TSN looks like, or undefined when it looks like PP-TSN (possibly
 * incomplete). PP-TSM's backbone (ResNetTweaksTSM) shifts channels in time; its files name the shift or TSM.
 */
export function foreignModel(keys: readonly string[], internalNames: readonly string[] = []): string | undefined {
  const all = [...keys, ...internalNames];
  if (all.some((k) => /temporal_shift|tsm|shift/i.test(k))) {
    return 'PP-TSM weights (a temporal-shift model); pptsn-web runs PP-TSN only: use PP-TSN weights (e.g. ppTSN_k400.pdparams or your PP-TSN training checkpoint)';
  }
  const structured = keys.some((k) => k.startsWith('backbone.') || k.startsWith('head.'));
  if (keys.length && !structured && keys.some((k) => /^(layer\d|conv1\.|bn1\.|fc\.)/.test(k))) {
    return 'weights of another model (keys like a torchvision ResNet); convert a PaddleVideo PP-TSN .pdparams instead';
  }
  if (keys.length && structured && !keys.some((k) => /^backbone\.(conv1_1|bb_\d+_\d+)\./.test(k) || k.startsWith('head.fc.'))) {
    return `weights of another PaddleVideo model (e.g. ${printable(keys[0]!.slice(0, 60))}); pptsn-web runs PP-TSN (ResNet-vd + ppTSNHead): use a PP-TSN .pdparams`;
  }
  return undefined;
}
