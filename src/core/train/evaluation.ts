/**
 * Evaluation of a fine-tuned model on labelled clips: accuracy, plain cross entropy (no smoothing) and the confusion
 * matrix from eval-mode logits, as PaddleVideo's `paddlevideo/metrics/center_crop_metric.py` scores the valid split.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StageBoundary } from '../model/resnetVd.js';
import type { TrainableRecognizer } from '../model/trainable.js';
import { yieldTurn } from '../yieldTurn.js';
import type { TrainingClip } from './clips.js';

/** The result of `evaluate`. */
export interface EvaluateResult {
  accuracy: number;
  /** Plain cross entropy (no smoothing). */
  loss: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  /** Which clips: the validation split, or every clip when there is none. */
  split: 'validation' | 'all';
  clips: number;
  /** With a teacher: the share of these clips where the student's top-1 is the teacher's (unlabelled clips count
   * the teacher's top-1 as their label in `accuracy` too). */
  agreement?: number;
}

/** Scores `logits` (`[clips.length, K]`, row i for clip i) against the clips' labels. */
export function scoreLogits(logits: Float32Array, clips: readonly TrainingClip[], K: number, split: EvaluateResult['split']): EvaluateResult {
  const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  let correct = 0;
  let loss = 0;
  clips.forEach((c, i) => {
    const row = logits.subarray(i * K, (i + 1) * K);
    let best = 0;
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (row[k]! > max) [max, best] = [row[k]!, k];
    // log-sum-exp, so a confident wrong answer gives a large finite loss rather than log(0).
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(row[k]! - max);
    loss += -(row[c.label]! - max - Math.log(z));
    confusion[c.label]![best]!++;
    if (best === c.label) correct++;
  });
  return { accuracy: correct / clips.length, loss: loss / clips.length, confusion, split, clips: clips.length };
}

/**
 * Eval-mode logits `[n, K]` of `clips`, `per` clips a forward pass: `input(c)` is the clip's valid view at `from`
 * (a cached tensor, kept, or fresh images, freed here). `onClip(done)` after each pass.
 */
export async function validLogits(model: TrainableRecognizer, clips: readonly TrainingClip[], input: (c: TrainingClip) => tf.Tensor4D, o: { segments: number; from: StageBoundary; per: number }, onClip?: (done: number) => void): Promise<Float32Array> {
  const out: number[] = [];
  for (let i = 0; i < clips.length; i += o.per) {
    const part = clips.slice(i, i + o.per);
    const logits = tf.tidy(() => {
      const xs = part.map(input);
      const x = xs.length === 1 ? xs[0]! : tf.concat(xs, 0);
      return model.logits(x, o.segments, { training: false, from: o.from });
    });
    out.push(...((await logits.data()) as Float32Array));
    logits.dispose();
    onClip?.(Math.min(clips.length, i + o.per));
    await yieldTurn();
  }
  return Float32Array.from(out);
}
