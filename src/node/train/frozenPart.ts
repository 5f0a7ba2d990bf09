/**
 * The part of the network a `train` run does not train (datasetTrainer.ts), and the batch inputs it gives the
 * trainable part: cached features or res5 inputs on disk ('head', 'last-stage' while they fit), else images.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ListItem } from '../../core/dataset/lists.js';
import { PPTSNError } from '../../core/errors.js';
import { writeModelJson } from '../../core/formats/modelJson.js';
import { Recognizer } from '../../core/model/recognizer.js';
import { LAST_STAGE_BOUNDARY } from '../../core/model/resnetVd.js';
import { hashSeed, mulberry32, randint, type Rng } from '../../core/random.js';
import { writeModelDir } from '../modelDir.js';
import { createNodeRunner, type NodeRunner } from '../runtime.js';
import { concatOwned, trainInput, validInput, type ItemReader } from './data.js';
import { FrozenCache } from './frozenCache.js';
import { RunDir } from './runDir.js';
import { Teacher } from './teacher.js';
import type { DatasetTrainerOptions } from './trainOptions.js';

/** The part of the network that does not train, and the batch inputs it gives the trainable part. */
export class FrozenPart {
  private constructor(
    private readonly o: DatasetTrainerOptions,
    private readonly reader: ItemReader,
    private readonly cache: FrozenCache | undefined,
    private readonly encode: ((images: tf.Tensor4D) => Promise<tf.Tensor4D>) | undefined,
    private readonly release: () => Promise<void>,
    private readonly teacher: Teacher | undefined,
  ) {}

  get cached(): boolean {
    return this.cache !== undefined;
  }

  static async open(o: DatasetTrainerOptions, run: RunDir, reader: ItemReader, finished: boolean, teacher?: Teacher): Promise<FrozenPart> {
    const r = o.recipe;
    const T = r.segments;
    // A teacher model sees the student's images each step, so last-stage then recomputes rather than caches.
    if (r.strategy === 'full' || finished || (r.strategy === 'last-stage' && teacher?.computes)) return new FrozenPart(o, reader, undefined, undefined, async () => undefined, teacher);
    if (r.strategy === 'head') {
      // The starting weights as a model folder, so the CLI's runner (onnxruntime-node when installed) runs the backbone.
      const initDir = run.path('init');
      await writeModelDir(initDir, writeModelJson(o.init, { labels: o.classes, preset: 'fast', generatedBy: 'pptsn-web train' }));
      const runner: NodeRunner = await createNodeRunner(initDir, o.backend ?? 'auto');
      const F = runner.model.stateDict.get('head.fc.weight')!.shape[0]!;
      const cache = new FrozenCache(run.path('cache/head'), [T, 1, 1, F]);
      const encode = async (images: tf.Tensor4D) => {
        const f = await runner.network.features(images);
        const out = tf.reshape(f, [images.shape[0], 1, 1, F]) as tf.Tensor4D;
        f.dispose();
        return out;
      };
      const part = new FrozenPart(o, reader, cache, encode, () => runner.dispose(), teacher);
      await part.fill();
      return part;
    }
    // last-stage: res5's input [T, 14, 14, C] per view; cached while it fits, else recomputed every step.
    const recognizer = Recognizer.fromStateDict(o.init);
    const probe = tf.tidy(() => recognizer.runStages(tf.zeros([1, 224, 224, 3]), 0, LAST_STAGE_BOUNDARY));
    const [, h, w, C] = probe.shape;
    probe.dispose();
    const bytes = (o.train.length * r.views + o.valid.length) * T * h * w * C * 2;
    if (bytes > (o.cacheBytes ?? 2 ** 31)) {
      recognizer.dispose();
      return new FrozenPart(o, reader, undefined, undefined, async () => undefined, teacher);
    }
    const cache = new FrozenCache(run.path('cache/last-stage'), [T, h, w, C]);
    const encode = async (images: tf.Tensor4D) => tf.tidy(() => recognizer.runStages(images, 0, LAST_STAGE_BOUNDARY));
    const part = new FrozenPart(o, reader, cache, encode, async () => recognizer.dispose(), teacher);
    await part.fill();
    return part;
  }

  /**
   * Computes every missing cache file: `views` train views of each train item, the valid view of each valid item;
   * with a teacher model, its logits of the same views.
   */
  private async fill(): Promise<void> {
    const { o, cache, encode } = this;
    const teacher = this.teacher?.computes ? this.teacher : undefined;
    const r = o.recipe;
    await cache!.init();
    const jobs = [...o.train.map((item, p) => ({ item, p, kind: 'train' as const })), ...o.valid.map((item, p) => ({ item, p, kind: 'valid' as const }))];
    let done = 0;
    for (const j of jobs) {
      // Stopped while caching: the files written so far are complete (atomic), the next run computes the rest.
      if (o.signal?.aborted) return;
      const count = j.kind === 'train' ? r.views : 1;
      const needFeatures = !(await cache!.read(j.kind, j.p, j.item.relPath, count));
      const needTeacher = teacher !== undefined && !(await teacher.has(j.kind, j.p, j.item, count));
      if (needTeacher && !needFeatures) {
        await teacher.store(j.kind, j.p, j.item, await this.teacherViews(teacher, j.kind, j.item, count));
      }
      if (needFeatures) {
        const parts: Float32Array[] = [];
        const targets: Float32Array[] = [];
        for (let v = 0; v < count; v++) {
          const x = await this.view(j.kind, j.item, v);
          try {
            if (needTeacher) targets.push(await teacher.logitsOf(x));
            const y = await encode!(x);
            parts.push((await y.data()) as Float32Array);
            y.dispose();
          } finally {
            x.dispose();
          }
        }
        if (needTeacher) await teacher.store(j.kind, j.p, j.item, targets);
        const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
        let off = 0;
        for (const p of parts) {
          all.set(p, off);
          off += p.length;
        }
        await cache!.write(j.kind, j.p, j.item.relPath, all);
      }
      o.onEvent?.({ phase: 'cache', done: ++done, total: jobs.length });
    }
  }

  /** Images of cached view `v` of an item (the train pipeline drawn with the item's view seed, or the valid one). */
  private async view(kind: 'train' | 'valid', item: ListItem, v: number): Promise<tf.Tensor4D> {
    return kind === 'train' ? trainInput(item, this.reader, mulberry32(hashSeed(this.o.recipe.seed, item.relPath, 'view', v))) : validInput(item, this.reader);
  }

  private async teacherViews(teacher: Teacher, kind: 'train' | 'valid', item: ListItem, count: number): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let v = 0; v < count; v++) {
      const x = await this.view(kind, item, v);
      try {
        out.push(await teacher.logitsOf(x));
      } finally {
        x.dispose();
      }
    }
    return out;
  }

  /** Which cached view item `b` of an iteration's batch uses (drawn with the item's rng, as `trainBatch`). */
  private viewOf(iteration: number, b: number): number {
    const r = this.o.recipe;
    return randint(mulberry32(hashSeed(r.seed, 'iter', iteration, 'item', b)), r.views);
  }

  /** Whether a model teacher runs on each step's images (no cache) rather than on the cached views. */
  teacherRuns = (teacher: Teacher): boolean => teacher.computes && !this.cache;

  /**
   * The teacher's logits `[K]` for each item of an iteration's batch: of the view `trainBatch` gave the student
   * (stored), or of the step's input `x` itself (`[B·T, 224, 224, 3]`, mixed; `micro` clips per teacher run).
   */
  async teacherRows(teacher: Teacher, batch: { item: ListItem; position: number }[], iteration: number, x: tf.Tensor4D, micro: number): Promise<Float32Array[]> {
    const r = this.o.recipe;
    if (this.teacherRuns(teacher)) return teacher.logitsOfBatch(x, r.segments, micro);
    return Promise.all(batch.map(({ item, position }, b) => teacher.target('train', position, item, this.cache ? this.viewOf(iteration, b) : 0, r.views)));
  }

  /** The batch input `[B·T, …]` of one iteration: a cached view per item (drawn with the item's rng), or fresh images. */
  async trainBatch(batch: { item: ListItem; position: number }[], iteration: number): Promise<tf.Tensor4D> {
    const r = this.o.recipe;
    const rngOf = (b: number): Rng => mulberry32(hashSeed(r.seed, 'iter', iteration, 'item', b));
    const parts = await Promise.all(batch.map(async ({ item, position }, b) => {
      if (!this.cache) return trainInput(item, this.reader, rngOf(b));
      const values = await this.cache.read('train', position, item.relPath, r.views);
      if (!values) throw new PPTSNError('decode-failed', `the feature cache of ${item.path} is missing in ${this.o.runDir}/cache: run the same command again to rebuild it`);
      return this.cache.view(values, this.viewOf(iteration, b));
    }));
    return concatOwned(parts);
  }

  /** Valid inputs of items `[n·T, …]`. */
  async validBatch(items: { item: ListItem; position: number }[]): Promise<tf.Tensor4D> {
    const parts = await Promise.all(items.map(async ({ item, position }) => {
      if (!this.cache) return validInput(item, this.reader);
      const values = await this.cache.read('valid', position, item.relPath, 1);
      if (!values) throw new PPTSNError('decode-failed', `the feature cache of ${item.path} is missing in ${this.o.runDir}/cache: run the same command again to rebuild it`);
      return this.cache.view(values, 0);
    }));
    return concatOwned(parts);
  }

  async dispose(): Promise<void> {
    await this.release();
  }
}
