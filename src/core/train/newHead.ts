/** The classifier a fine-tuning run starts from: the base model's backbone with a fresh FC for the new classes. */
import { PPTSNError } from '../errors.js';
import { mulberry32 } from '../random.js';
import type { StateDict } from '../stateDict.js';
import { sampleNormal } from './mixup.js';

/**
 * A new FC for `numClasses` on top of the base model's backbone: ppTSNHead's init, weight ~ Normal(0, 0.01)
 * (seeded), bias 0. Returns a state dict sharing the base's backbone arrays.
 */
export function withNewHead(base: StateDict, numClasses: number, seed: number): StateDict {
  const w = base.get('head.fc.weight');
  if (!w) throw new PPTSNError('model-invalid', 'the model has no head.fc.weight');
  const F = w.shape[0]!;
  const rng = mulberry32(seed);
  const data = new Float32Array(F * numClasses);
  for (let i = 0; i < data.length; i++) data[i] = 0.01 * sampleNormal(rng);
  const out: StateDict = new Map(base);
  out.set('head.fc.weight', { shape: [F, numClasses], data });
  out.set('head.fc.bias', { shape: [numClasses], data: new Float32Array(numClasses) });
  return out;
}
