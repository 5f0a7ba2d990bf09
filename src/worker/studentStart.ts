/**
 * Where the page trainer's student starts (issue 22, `createTrainer({ depth, pretrained })`): the model's own
 * weights, or a PaddleClas ImageNet backbone (core/train/pretrainedStart.ts) with an inference network of its own
 * for the feature cache.
 */
import { PPTSNError } from '../core/errors.js';
import { DEPTHS, isDepth } from '../core/model/arch.js';
import { Recognizer } from '../core/model/recognizer.js';
import { pretrainedStart } from '../core/train/pretrainedStart.js';
import type { StateDict } from '../core/stateDict.js';

/**
 * The host the student starts from: this model's, or (`options.pretrained`) an ImageNet backbone with its own
 * inference network for the feature cache (`owned`, the caller frees it). Refuses a `depth` that is not the start's.
 */
export function studentStart<H extends { stateDict: StateDict; recognizer: Recognizer; sha256?: string }>(host: H, options: { pretrained?: { bytes: Uint8Array; name: string }; depth?: number }): { host: H; owned?: Recognizer } {
  const d = options.depth;
  if (d !== undefined && !isDepth(d)) throw new PPTSNError('invalid-argument', `depth must be one of ${DEPTHS.join(', ')}, got ${String(d)}`);
  if (!options.pretrained) {
    const own = host.recognizer.arch.depth;
    if (d !== undefined && d !== own) throw new PPTSNError('invalid-argument', `a ResNet${d} student needs starting weights: give pretrained (PaddleClas's ResNet${d}_vd_pretrained.pdparams); without them the student starts from this model's own ResNet${own} backbone`);
    return { host };
  }
  const start = pretrainedStart(options.pretrained.bytes, options.pretrained.name, d);
  const owned = Recognizer.fromStateDict(start.stateDict);
  const { sha256: _s, ...rest } = host;
  return { host: { ...rest, stateDict: start.stateDict, recognizer: owned } as H, owned };
}
