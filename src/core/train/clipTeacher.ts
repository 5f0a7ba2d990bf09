/**
 * The teacher of distillation in the page's trainer (issue 22 item 5): another PP-TSN's inference `Recognizer`
 * (any depth, the same classes) whose logits are the student's soft targets, as PaddleVideo's
 * `RecognizerDistillation` (`paddlevideo/modeling/framework/recognizers/recognizerDistillation.py`) feeds the
 * teacher the student's input.
 *
 * What the teacher sees: with cached inputs ('head', 'last-stage') its logits of the same seeded views the student's
 * cache holds (the same sampling, crops and flips), mixed linearly under mixup as the CLI's `--teacher` does
 * (src/node/train/teacher.ts); with 'full' its logits of the batch's own (mixed) images. Unlabelled clips
 * (`UNLABELLED`) take the teacher's top-1 on their valid view as their label wherever one is counted (the split,
 * accuracy), and get the distillation term alone (distillation.ts `distillationLoss`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import type { Recognizer } from '../model/recognizer.js';
import type { TrainingClip } from './clips.js';
import { distillationLoss, resolveDistillation, rowLabels, top1Agreement, type DistillationSettings } from './distillation.js';
import type { MixupDraw } from './mixup.js';
import { settleTurn } from '../yieldTurn.js';

/** The label of a clip added without one: distillation only, its class from the teacher. */
export const UNLABELLED = -1;

/** A teacher's logits of one clip: `[K]` per train view, and of the valid view. */
interface TeacherClip {
  views: Float32Array[];
  valid: Float32Array;
}

/** Index of the largest value (the first on ties). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k;
  return best;
}

export class ClipTeacher {
  readonly settings: DistillationSettings;
  private readonly cache = new Map<string, TeacherClip>();

  /**
   * `recognizer`: the teacher (freed by `dispose` when `owns`); `classes`: the student's class count, which the
   * teacher's head must have. `settings`: the loss (distillation.ts; defaults: DML, weights 1).
   */
  constructor(private readonly recognizer: Recognizer, private readonly classes: number, settings: Partial<DistillationSettings> = {}, private readonly owns = true) {
    this.settings = resolveDistillation(settings);
  }

  /** Eval-mode logits `[N, K]` of images `[N·T, H, W, 3]` (N clips of T images, NHWC, normalised). */
  logits(images: tf.Tensor4D, T: number): tf.Tensor2D {
    const out = tf.tidy(() => {
      const f = this.recognizer.features(images);
      return this.recognizer.head(tf.reshape(f, [images.shape[0] / T, T, f.shape[1]!]) as tf.Tensor3D);
    });
    if (out.shape[1] !== this.classes) {
      out.dispose();
      throw new PPTSNError('invalid-argument', `the teacher has ${out.shape[1]} classes and the student ${this.classes}: distillation needs the same class list (give the student the teacher's classes)`);
    }
    return out;
  }

  /**
   * Computes the logits of every clip that has none: `views` train views (`images(clip, v)`, v < views; the same
   * seeded draws as the student's cache) and the valid view (`images(clip, views)`). Stops between views on `signal`
   * (a stopped clip keeps nothing).
   */
  async fill(clips: readonly TrainingClip[], views: number, T: number, images: (clip: TrainingClip, v: number) => tf.Tensor4D, signal?: AbortSignal): Promise<void> {
    for (const clip of clips) {
      if (this.cache.has(clip.id)) continue;
      const rows: Float32Array[] = [];
      for (let v = 0; v <= views; v++) {
        if (signal?.aborted) return;
        const x = images(clip, v);
        let l: tf.Tensor2D;
        try {
          l = this.logits(x, T);
        } finally {
          x.dispose();
        }
        rows.push((await l.data()) as Float32Array);
        l.dispose();
        await settleTurn();
      }
      this.cache.set(clip.id, { views: rows.slice(0, views), valid: rows[views]! });
    }
  }

  has(id: string): boolean {
    return this.cache.has(id);
  }

  delete(id: string): void {
    this.cache.delete(id);
  }

  /** The teacher's top-1 on the clip's valid view (after `fill`). */
  top1(id: string): number {
    const c = this.cache.get(id);
    if (!c) throw new PPTSNError('invalid-argument', `no teacher logits for clip ${id}: prepare the trainer first`);
    return argmax(c.valid);
  }

  /** The clips, each unlabelled one under the teacher's top-1 (left out until `fill` computed it). */
  labelled(clips: readonly TrainingClip[]): TrainingClip[] {
    return clips.flatMap((c) => (c.label !== UNLABELLED ? [c] : this.cache.has(c.id) ? [{ ...c, label: this.top1(c.id) }] : []));
  }

  /** The share of `clips` whose top-1 in the student's `logits` `[n, K]` is the teacher's. */
  agreement(logits: Float32Array, clips: readonly TrainingClip[]): number {
    const K = this.classes;
    return top1Agreement(clips.map((_, i) => argmax(logits.subarray(i * K, (i + 1) * K))), clips.map((c) => this.top1(c.id)));
  }

  /**
   * The targets `[B, K]` of a batch whose clip b used cached view `views[b]`, mixed like the input under `draw`
   * (λ·t_b + (1 − λ)·t_perm(b): the logits of a mixed feature are linear in it for 'head', up to the dropout).
   */
  cachedTargets(batch: readonly TrainingClip[], views: readonly number[], draw: MixupDraw | null): tf.Tensor2D {
    const rows = batch.map((c, b) => this.cache.get(c.id)!.views[views[b]!]!);
    const K = this.classes;
    const flat = new Float32Array(rows.length * K);
    rows.forEach((r, i) => {
      if (!draw) return flat.set(r, i * K);
      const o = rows[draw.perm[i]!]!;
      for (let k = 0; k < K; k++) flat[i * K + k] = draw.lambda * r[k]! + (1 - draw.lambda) * o[k]!;
    });
    return tf.tensor2d(flat, [rows.length, K]);
  }

  /**
   * The step's loss (step.ts `StepContext.loss`) against `targets` `[B, K]`: CE on the labelled rows plus the
   * distillation term on every row; `labels[b]` is `UNLABELLED` for a clip without one. Reports `kd`.
   */
  lossFn(targets: tf.Tensor2D, labels: readonly number[], draw: MixupDraw | null): (logits: tf.Tensor2D, rows: number[]) => { total: tf.Scalar; extra: Record<string, tf.Scalar> } {
    const known = labels.map((y) => (y === UNLABELLED ? null : y));
    return (logits, rows) => {
      const t = rows.length === labels.length ? targets : (tf.gather(targets, tf.tensor1d(rows, 'int32')) as tf.Tensor2D);
      const l = distillationLoss(logits, t, rowLabels(known, draw, rows), this.settings);
      return { total: l.total, extra: { kd: l.kd } };
    };
  }

  dispose(): void {
    this.cache.clear();
    if (this.owns) this.recognizer.dispose();
  }
}
