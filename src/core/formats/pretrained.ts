/**
 * ImageNet ResNet-vd backbones from PaddleClas, where PP-TSN's training starts (docs/contract.md §7, "On data sets";
 * `backbone.pretrained: ResNet50_vd_ssld_v2_pretrained.pdparams` in configs/recognition/pptsn/*.yaml, loaded by
 * `ResNetTweaksTSN.init_weights` → `paddlevideo/utils/save_load.py` `load_ckpt`). Such a file holds the backbone and
 * a 1000-class ImageNet FC, under one of these namings:
 *
 * - `paddleclas-old`: PaddleClas's old `ResNet_vd` dygraph names, PaddleVideo's backbone names without the
 *   `backbone.` prefix (`conv1_1._conv.weight`, `bb_0_0.conv0._batch_norm._mean`); FC `out.*` or `fc_0.*`.
 *   This is the file PaddleVideo's configs name.
 * - `paddleclas-new`: PaddleClas's `ppcls/arch/backbone/legendary_models/resnet.py`: `stem.{0,1,2}.{conv,bn}`,
 *   `blocks.{j}.{conv0,conv1,conv2,short}.{conv,bn}` with j counting blocks over all stages, FC `fc.*`.
 * - `static`: the static-graph era's internal names (`conv1_1_weights`, `bnv1_1_scale`, `res2a_branch2a_weights`),
 *   FC `fc_0.w_0`/`fc_0.b_0`.
 * - `paddlevideo`: a PaddleVideo backbone already prefixed (`backbone.conv1_1._conv.weight`), with or without a head.
 *
 * The ImageNet FC is never looked up by PaddleVideo (its head is `head.fc`, initialised Normal(0, 0.01)), so it is
 * dropped and reported. Everything here is plain data: no file system, no tensors.
 */
import { PPTSNError } from '../errors.js';
import { archSpec, DEPTHS, paramSpecs, type Depth } from '../model/arch.js';
import type { StateDict } from '../stateDict.js';
import { fmtShape } from './tensor.js';
import { internalToStructured, type ShapedData } from './validate.js';

export type PretrainedNaming = 'paddleclas-old' | 'paddleclas-new' | 'static' | 'paddlevideo';

/** A backbone read from a pretrained file. */
export interface PretrainedBackbone {
  /** Backbone parameters under PaddleVideo's structured keys (`backbone.…`), in state-dict order; no head. */
  backbone: StateDict;
  depth: Depth;
  naming: PretrainedNaming;
  /** Keys of the file that are not backbone tensors (the ImageNet FC), as written in the file. */
  dropped: string[];
}

const BN_PARTS: Record<string, string> = { weight: 'weight', bias: 'bias', _mean: '_mean', _variance: '_variance' };

/** `stem.1.bn._mean` → `backbone.conv1_2._batch_norm._mean` (PaddleClas legendary ResNet → PaddleVideo), for a depth. */
function newNamingMap(depth: Depth): Map<string, string> {
  const map = new Map<string, string>();
  const arch = archSpec(depth, 1);
  const layer = (from: string, to: string) => {
    map.set(`${from}.conv.weight`, `${to}._conv.weight`);
    for (const [a, b] of Object.entries(BN_PARTS)) map.set(`${from}.bn.${a}`, `${to}._batch_norm.${b}`);
  };
  arch.stem.forEach((l, i) => layer(`stem.${i}`, l.key));
  arch.blocks.forEach((b, j) => {
    for (const l of [...b.branch, ...(b.short ? [b.short] : [])]) layer(`blocks.${j}.${l.key.slice(b.key.length + 1)}`, l.key);
  });
  return map;
}

/** Backbone keys (structured) of a depth, in state-dict order. */
function backboneKeys(depth: Depth): string[] {
  return paramSpecs(archSpec(depth, 1)).filter((p) => p.key.startsWith('backbone.')).map((p) => p.key);
}

const IMAGENET_FC = /^(out|fc|fc_0|fc8|head\.fc)[._]/;

/** The naming and the key map (file key → structured key) that covers a file's keys, or undefined. */
function detect(keys: readonly string[]): { naming: PretrainedNaming; depth: Depth; map: Map<string, string> } | undefined {
  const body = keys.filter((k) => !IMAGENET_FC.test(k));
  for (const depth of DEPTHS) {
    const want = backboneKeys(depth);
    const wanted = new Set(want);
    const candidates: [PretrainedNaming, Map<string, string>][] = [
      ['paddlevideo', new Map(want.map((k) => [k, k]))],
      ['paddleclas-old', new Map(want.map((k) => [k.slice('backbone.'.length), k]))],
      ['paddleclas-new', newNamingMap(depth)],
      ['static', new Map([...internalToStructured(depth)].filter(([, s]) => wanted.has(s)))],
    ];
    for (const [naming, map] of candidates) {
      if (body.length === map.size && body.every((k) => map.has(k))) return { naming, depth, map };
    }
  }
  return undefined;
}

/**
 * True when the keys are a PaddleClas ImageNet backbone file rather than PP-TSN weights (for `convert`'s message).
 * Static-graph names are not counted: PP-TSN's own inference weights use them too.
 */
export function isPretrainedBackbone(keys: readonly string[]): boolean {
  const d = detect(keys);
  return d !== undefined && (d.naming === 'paddleclas-old' || d.naming === 'paddleclas-new');
}

/**
 * Reads the backbone out of a pretrained file's tensors (a `.pdparams` read with `readPdparamsRaw`). `depth`, when
 * given, must match the file. Throws `PPTSNError('model-invalid')` naming the file when the keys are not a ResNet-vd
 * backbone of a supported depth, or a tensor has the wrong shape.
 */
export function readPretrainedBackbone(tensors: ReadonlyMap<string, ShapedData>, fileName: string, depth?: Depth): PretrainedBackbone {
  const keys = [...tensors.keys()];
  const found = detect(keys);
  if (!found) {
    const sample = keys.slice(0, 4).join(', ');
    throw new PPTSNError('model-invalid', `${fileName} is not a ResNet-vd ImageNet backbone PaddleVideo can start from (keys: ${sample}${keys.length > 4 ? ', …' : ''}): use PaddleClas's ResNet{18,34,50,101,152,200}_vd pretrained .pdparams (PaddleVideo's configs name ResNet50_vd_ssld_v2_pretrained.pdparams), or a converted model with -m`);
  }
  if (depth !== undefined && depth !== found.depth) {
    throw new PPTSNError('invalid-argument', `${fileName} is a ResNet${found.depth}_vd backbone, but depth ${depth} was asked for (--depth, or createTrainer's depth): give ${found.depth}, or the ResNet${depth}_vd file`);
  }
  const specs = new Map(paramSpecs(archSpec(found.depth, 1)).map((p) => [p.key, p.shape]));
  const byStructured = new Map<string, ShapedData>();
  for (const [fileKey, t] of tensors) {
    const key = found.map.get(fileKey);
    if (key) byStructured.set(key, t);
  }
  const backbone: StateDict = new Map();
  for (const key of backboneKeys(found.depth)) {
    const t = byStructured.get(key)!;
    const shape = specs.get(key)!;
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new PPTSNError('model-invalid', `${fileName}: ${key} has shape ${fmtShape(t.shape)}, ResNet${found.depth}_vd needs ${fmtShape(shape)}`);
    }
    backbone.set(key, { shape: [...t.shape], data: t.data });
  }
  return { backbone, depth: found.depth, naming: found.naming, dropped: keys.filter((k) => !found.map.has(k)) };
}
