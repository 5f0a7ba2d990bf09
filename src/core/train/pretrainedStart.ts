/**
 * A student's starting weights from a PaddleClas ImageNet backbone (issue "The tutorial's training", issue 22):
 * PaddleVideo's `backbone.pretrained` (SPEC §5 "Initialisation"). The file's backbone under PaddleVideo's keys
 * (core/formats/pretrained.ts, either PaddleClas naming), its 1000-class FC dropped, and a one-class placeholder
 * head `head.fc.weight [F, 1]`, `head.fc.bias [1]` of zeros that the trainer replaces (`withNewHead`): the same
 * start for `pptsn-web train --pretrained` and the page's `createTrainer({ pretrained })`.
 */
import { readPdparamsRaw } from '../formats/pdparams.js';
import { readPretrainedBackbone, type PretrainedNaming } from '../formats/pretrained.js';
import { featureDim, type Depth } from '../model/arch.js';
import type { StateDict } from '../stateDict.js';

export interface PretrainedStart {
  /** The backbone (`backbone.…`) and the placeholder head. */
  stateDict: StateDict;
  depth: Depth;
  naming: PretrainedNaming;
  /** The file's keys that are not backbone tensors (the ImageNet classifier). */
  dropped: string[];
}

/**
 * Reads a PaddleClas `ResNet{D}_vd_pretrained.pdparams` (bytes of `fileName`, named in errors); `depth`, when
 * given, must be the file's. Errors: PPTSNError('model-invalid') for a file that is not such a backbone,
 * ('invalid-argument') for one of another depth.
 */
export function pretrainedStart(bytes: Uint8Array, fileName: string, depth?: Depth): PretrainedStart {
  const raw = readPdparamsRaw(bytes, fileName);
  const pre = readPretrainedBackbone(raw.tensors, fileName, depth);
  const F = featureDim(pre.depth);
  const stateDict: StateDict = new Map(pre.backbone);
  stateDict.set('head.fc.weight', { shape: [F, 1], data: new Float32Array(F) });
  stateDict.set('head.fc.bias', { shape: [1], data: new Float32Array(1) });
  return { stateDict, depth: pre.depth, naming: pre.naming, dropped: pre.dropped };
}
