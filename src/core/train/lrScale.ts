/**
 * The factor on PP-TSN's learning rate that a run on a handful of clips needs (issue 26: `head` on a few clips
 * blew up, training loss 1.67 → 52 while validation accuracy was perfect). Deliberate differences from PaddleVideo's
 * recipe (docs/contract.md §7, README "Fine-tuning"), applied only when the caller did not set `learningRate`
 * (`adaptLearningRate`):
 *
 * 1. Linear scaling by the clips a step really has. The default base LR is 0.01 × batchSize / 256 (PP-TSN's 0.01
 *    is for 8 × 32 clips); with fewer training clips than `batchSize`, a step averages over those few, so the LR
 *    scales with min(batchSize, training clips) / batchSize as PaddleVideo's linear rule would.
 * 2. For 'head' (a linear layer on cached features), a cap from the features' scale. Softmax cross entropy has
 *    curvature at most ½ in the logits, so the FC weight's curvature is at most about ½·E‖f‖² (f the clip-averaged
 *    feature; dropout adds p/(1 − p)·max f_i², small beside ‖f‖² for 512–2048 features); Nesterov momentum 0.9
 *    diverges once lr × curvature passes about 1.4. PaddleVideo trains the FC at ×5 of the base LR together with a
 *    backbone that adapts; on a frozen ResNet50's 2048 pooled features (‖f‖² in the thousands) ×5 of even the
 *    scaled base LR crosses that edge. The cap keeps the FC weight's lr × curvature bound at HEAD_LR_MARGIN (1) at
 *    most, below the edge; features of a moderate scale are not capped. The ×5/×10 multipliers are kept: the cap
 *    lowers the whole schedule.
 */
import * as tf from '@tensorflow/tfjs-core';
import { FC_WEIGHT_LR_MULT } from './optimizer.js';
import type { ResolvedSettings } from './settings.js';

/** lr × (upper bound of the FC weight's curvature) the 'head' cap allows. */
export const HEAD_LR_MARGIN = 1;

/**
 * The factor for a run with `trainClips` training clips; for 'head', `views` are the cached train views
 * (`[T, 1, 1, F]` each) of those clips. 1 when `adaptLearningRate` is off.
 */
export async function lrScaleFor(s: Pick<ResolvedSettings, 'adaptLearningRate' | 'batchSize' | 'learningRate' | 'strategy' | 'dropout' | 'lrMultipliers'>, trainClips: number, views: readonly tf.Tensor4D[] = []): Promise<number> {
  if (!s.adaptLearningRate) return 1;
  let scale = Math.min(s.batchSize, Math.max(1, trainClips)) / s.batchSize;
  if (s.strategy === 'head' && views.length > 0) {
    const sq = tf.tidy(() => tf.stack(views.map((v) => tf.sum(tf.square(tf.mean(v, 0))))) as tf.Tensor1D);
    const norms = Array.from((await sq.data()) as Float32Array);
    sq.dispose();
    const meanSq = norms.reduce((a, b) => a + b, 0) / norms.length;
    const curvature = 0.5 * meanSq;
    const fcLr = s.learningRate * scale * (s.lrMultipliers ? FC_WEIGHT_LR_MULT : 1);
    if (curvature > 0 && fcLr * curvature > HEAD_LR_MARGIN) scale *= HEAD_LR_MARGIN / (fcLr * curvature);
  }
  return scale;
}

/** A warning when an epoch's training loss diverges: not finite, or far above the first epoch's. */
export function divergenceWarning(first: number, now: number, epoch: number): string | undefined {
  if (Number.isFinite(now) && !(Number.isFinite(first) && now > 3 * first && now > first + 1)) return undefined;
  return `the training loss is diverging (${first.toFixed(3)} at epoch 1, ${now.toFixed(3)} at epoch ${epoch}): lower learningRate (or leave it unset), or use more clips`;
}
