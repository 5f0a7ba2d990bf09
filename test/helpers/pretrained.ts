/**
 * Generated PaddleClas ImageNet backbones for tests (the real ones cannot be downloaded here): a seeded ResNet-vd
 * state dict written under PaddleClas's names, old (`conv1_1._conv.weight`, FC `out.*`) or new
 * (`ppcls/arch/backbone/legendary_models/resnet.py`: `stem.{i}.conv`, `blocks.{j}.conv0.bn`, FC `fc.*`), with a
 * 1000-class FC, as `ResNet{D}_vd_pretrained.pdparams` files hold them.
 */
import { archSpec, type Depth } from '../../src/core/model/arch.js';
import { writePdparamsRaw } from '../../src/core/formats/pdparamsWriter.js';
import type { ShapedData } from '../../src/core/formats/validate.js';
import { seededStateDict } from './seeded.js';

/** The file's bytes and the backbone under PaddleVideo's keys (what reading it must give). */
export function paddleClasBackbone(depth: Depth, naming: 'old' | 'new', seed: number): { bytes: Uint8Array; backbone: Map<string, ShapedData> } {
  const sd = seededStateDict(depth, 1000, seed);
  const out = new Map<string, ShapedData>();
  const backbone = new Map<string, ShapedData>();
  const arch = archSpec(depth, 1000);
  const rename = new Map<string, string>();
  arch.stem.forEach((l, i) => rename.set(l.key, `stem.${i}`));
  arch.blocks.forEach((b, j) => {
    for (const l of [...b.branch, ...(b.short ? [b.short] : [])]) rename.set(l.key, `blocks.${j}.${l.key.slice(b.key.length + 1)}`);
  });
  for (const [k, v] of sd) {
    if (k.startsWith('head.')) {
      out.set(naming === 'old' ? k.replace('head.fc.', 'out.') : k.replace('head.fc.', 'fc.'), v);
      continue;
    }
    backbone.set(k, v);
    if (naming === 'old') out.set(k.slice('backbone.'.length), v);
    else {
      const m = /^(.*)\._(conv|batch_norm)\.(.*)$/.exec(k)!;
      out.set(`${rename.get(m[1]!)}.${m[2] === 'conv' ? 'conv' : 'bn'}.${m[3]}`, v);
    }
  }
  return { bytes: writePdparamsRaw(out), backbone };
}
