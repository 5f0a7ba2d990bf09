/**
 * The teacher of `pptsn-web train --teacher` (docs/contract.md §7 distillation, issue 22): its logits `[K]` for each training
 * view and validation item, from either
 * - a converted model folder (any depth, the student's classes), run on the frozen part's runtime (onnxruntime-node
 *   when installed). With `--strategy head` it sees exactly the augmented views whose backbone features are cached
 *   (the same frames, MultiScaleCrop and flip), and its logits are cached beside them, float32, one small file per
 *   item; under mixup the step mixes them with the batch's λ (`mixTeacher`). With `last-stage` and `full` it runs
 *   on each step's own input, the images the student gets (the same frames, crops, flips, and mixup: the mixed
 *   images, as PaddleVideo's `RecognizerDistillation` feeds the one mixed batch to both models), one micro-batch
 *   at a time (`logitsOfBatch`); the student's frozen part is then recomputed every step (no cache: a cache holds
 *   features, not the images the teacher needs). Its validation logits are cached after the first epoch;
 * - a teacher-logits file (`classify --json` / `eval --out` JSON Lines): one record per clip, computed by the teacher
 *   on the un-augmented input (its own sampling and crop), so every view of an item gets the same target.
 * Unlabelled items carry `UNLABELLED` as their label.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { ListItem } from '../../core/dataset/lists.js';
import { PPTSNError } from '../../core/errors.js';
import { hashSeed } from '../../core/random.js';
import type { DistillationSettings } from '../../core/train/distillation.js';
import type { MixupDraw } from '../../core/train/mixup.js';
import type { TeacherLogits } from '../../core/train/teacherLogits.js';
import { writeFileAtomic } from '../files.js';
import { createNodeRunner, type NodeRunner, type NodeRunnerChoice } from '../runtime.js';

/** The label of an item of `--unlabeled` (it gets the distillation term only). */
export const UNLABELLED = -1;

export type TeacherSource = { kind: 'model'; dir: string } | { kind: 'logits'; logits: TeacherLogits };

export interface DistillOptions {
  settings: DistillationSettings;
  teacher: TeacherSource;
}

type Kind = 'train' | 'valid';

/** Teacher logits per item and view: from a logits file, or from a model run on the same views as the student's cache. */
export class Teacher {
  private constructor(
    readonly numClasses: number,
    private readonly source: TeacherSource,
    private readonly dir: string,
    private readonly runner: NodeRunner | undefined,
  ) {}

  /**
   * Opens the teacher; `cacheDir` holds a model teacher's logits (`<run>/cache/teacher`). Refuses a teacher whose
   * class count is not the student's (`PPTSNError('invalid-argument')`).
   */
  static async open(source: TeacherSource, cacheDir: string, backend: NodeRunnerChoice | undefined, student: { classes: number }): Promise<Teacher> {
    const runner = source.kind === 'model' ? await createNodeRunner(source.dir, backend ?? 'auto') : undefined;
    const teacher = new Teacher(runner ? runner.model.numClasses : (source as { logits: TeacherLogits }).logits.numClasses, source, cacheDir, runner);
    if (teacher.numClasses !== student.classes) {
      await teacher.dispose();
      throw new PPTSNError('invalid-argument', `the teacher has ${teacher.numClasses} classes but the student ${student.classes}: the teacher and the student must have the same class list (--labels)`);
    }
    if (runner) await mkdir(cacheDir, { recursive: true });
    return teacher;
  }

  /**
   * The teacher's top-1 class of each validation item, in list order (the log's `agreement`). A model teacher
   * whose valid logits are not stored yet (no feature cache) computes them on `input(item)` (the valid pipeline's
   * images `[T, 224, 224, 3]`, disposed here) and stores them.
   */
  async validTop1(items: readonly ListItem[], input: (item: ListItem) => Promise<tf.Tensor4D>): Promise<number[]> {
    const out: number[] = [];
    for (const [p, item] of items.entries()) {
      if (this.runner && !(await this.has('valid', p, item, 1))) {
        const x = await input(item);
        try {
          await this.store('valid', p, item, [await this.logitsOf(x)]);
        } finally {
          x.dispose();
        }
      }
      out.push(argmax(await this.target('valid', p, item, 0, 1)));
    }
    return out;
  }

  /**
   * A model teacher's logits of a step's input `x` `[B·T, 224, 224, 3]` (the student's images, already mixed;
   * not disposed), `micro` clips per run: one `[K]` row per clip.
   */
  async logitsOfBatch(x: tf.Tensor4D, T: number, micro: number): Promise<Float32Array[]> {
    const net = this.runner!.network;
    const B = x.shape[0] / T;
    const rows: Float32Array[] = [];
    for (let m0 = 0; m0 < B; m0 += micro) {
      const mn = Math.min(micro, B - m0);
      const xm = tf.slice(x, m0 * T, mn * T);
      let f: tf.Tensor2D;
      try {
        f = await net.features(xm);
      } finally {
        xm.dispose();
      }
      const y = tf.tidy(() => net.head(tf.reshape(f, [mn, T, f.shape[1]]) as tf.Tensor3D));
      f.dispose();
      const flat = (await y.data()) as Float32Array;
      y.dispose();
      for (let i = 0; i < mn; i++) rows.push(flat.slice(i * this.numClasses, (i + 1) * this.numClasses));
    }
    return rows;
  }

  /** True when the teacher runs on the views (a model), false for a logits file. */
  get computes(): boolean {
    return this.runner !== undefined;
  }

  private file(kind: Kind, position: number, relPath: string): string {
    return join(this.dir, `${kind}-${position}-${hashSeed(relPath).toString(16)}.f32`);
  }

  /** A model teacher's logits `[K]` of one view's images `[T, 224, 224, 3]` (the ppTSN head's mean over T, the FC). */
  async logitsOf(images: tf.Tensor4D): Promise<Float32Array> {
    const net = this.runner!.network;
    const f = await net.features(images);
    const y = tf.tidy(() => net.head(tf.expandDims(f, 0) as tf.Tensor3D));
    f.dispose();
    const out = (await y.data()) as Float32Array;
    y.dispose();
    return out;
  }

  /** Whether a model teacher's logits of `count` views of an item are stored. */
  async has(kind: Kind, position: number, item: ListItem, count: number): Promise<boolean> {
    return (await this.readViews(kind, position, item, count)) !== undefined;
  }

  async store(kind: Kind, position: number, item: ListItem, views: Float32Array[]): Promise<void> {
    const all = new Float32Array(views.length * this.numClasses);
    views.forEach((v, i) => all.set(v, i * this.numClasses));
    await writeFileAtomic(this.file(kind, position, item.relPath), new Uint8Array(all.buffer));
  }

  private async readViews(kind: Kind, position: number, item: ListItem, count: number): Promise<Float32Array | undefined> {
    const bytes = await readFile(this.file(kind, position, item.relPath)).catch(() => undefined);
    if (!bytes || bytes.byteLength !== count * this.numClasses * 4) return undefined;
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }

  /** The teacher's logits `[K]` of view `view` (of `count`) of an item. */
  async target(kind: Kind, position: number, item: ListItem, view: number, count: number): Promise<Float32Array> {
    if (this.source.kind === 'logits') {
      const hit = this.source.logits.lookup([item.relPath, item.path]);
      if (!hit) throw new PPTSNError('invalid-argument', `${this.source.logits.source} has no teacher logits for ${item.relPath} (list line ${item.line}): run classify --json or eval --out over the same list`);
      return hit;
    }
    const all = await this.readViews(kind, position, item, count);
    if (!all) throw new PPTSNError('decode-failed', `the teacher's cached logits of ${item.path} are missing: run the same command again to rebuild them`);
    return all.subarray(view * this.numClasses, (view + 1) * this.numClasses);
  }

  async dispose(): Promise<void> {
    await this.runner?.dispose();
  }
}

/**
 * A teacher-logits file must hold every item a run asks it for: checked before the run starts (before its folder is
 * claimed), so a file made over the train list alone is refused at once, naming the list (`what`) and the item, and
 * not after the first epoch, when the `--valid` items' logits are first looked up. `PPTSNError('invalid-argument')`.
 */
export function checkLogitsCover(logits: TeacherLogits, items: readonly ListItem[], what: (item: ListItem) => string): void {
  const missing = items.filter((item) => !logits.lookup([item.relPath, item.path]));
  if (missing.length === 0) return;
  const first = missing[0]!;
  const others = missing.length > 1 ? ` nor for ${missing.length - 1} other item${missing.length > 2 ? 's' : ''}` : '';
  throw new PPTSNError('invalid-argument', `${logits.source} has no teacher logits for ${first.relPath} (line ${first.line} of ${what(first)})${others}: run classify --json or eval --out with the teacher over that list too, and give the records in one file (cat a.jsonl b.jsonl > teacher.jsonl)`);
}

/**
 * The teacher targets `[B, K]` of a batch under its mixup draw: row r = λ·t[r] + (1 − λ)·t[perm[r]], the teacher's
 * logits mixed with the same λ as the inputs and the labels (with a `head` teacher on cached features this is the
 * teacher's answer to the mixed features exactly, its head being linear in the mean feature; otherwise it is the
 * mixup target, as for hard labels, and it works the same for a logits-file teacher).
 */
export function mixTeacher(rows: readonly Float32Array[], draw: MixupDraw | null): tf.Tensor2D {
  const K = rows[0]!.length;
  const flat = new Float32Array(rows.length * K);
  rows.forEach((r, i) => {
    if (!draw) flat.set(r, i * K);
    else {
      const o = rows[draw.perm[i]!]!;
      for (let k = 0; k < K; k++) flat[i * K + k] = draw.lambda * r[k]! + (1 - draw.lambda) * o[k]!;
    }
  });
  return tf.tensor2d(flat, [rows.length, K]);
}

/** Index of the largest value (the first on ties). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k;
  return best;
}
