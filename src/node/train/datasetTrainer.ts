/**
 * `pptsn-web train`'s loop: PaddleVideo's `paddlevideo/tasks/train.py` over list files (docs/contract.md §7), on the core's
 * training pieces (TrainableRecognizer, step.ts, PaddleMomentum, CustomWarmupCosineDecay, mixup, precise BN).
 *
 * Per epoch e (0-based): shuffle (seeded by (seed, e)), ⌊N/B⌋ iterations dropping the last partial batch, each with
 * the LR of its global iteration, one mixup draw, the label-smoothed loss, Nesterov momentum with L2 and the FC
 * multipliers; then (every `validInterval` epochs and at the last) precise BN if asked, validation with the valid
 * pipeline (loss, top-1, top-5 as means of per-batch values), `_best` when top-1 improves, `_epoch_{e+1:05d}` every
 * `saveInterval` epochs and at the last.
 *
 * Where the work runs: 'head' computes pooled features of `views` augmented views per item once (the frozen backbone
 * on the CLI's fastest runtime, onnxruntime-node when installed) and caches them on disk, so an epoch is a few small
 * products; 'last-stage' caches the res5 inputs the same way while they fit `cacheBytes`, else recomputes the frozen
 * part every step; 'full' decodes and runs everything every step, in micro-batches (BN then sees micro-batch
 * statistics). Cached views repeat the same `views` augmentations each epoch where PaddleVideo draws new ones.
 *
 * Reproducible: every random draw is seeded from (seed, epoch), (seed, iteration, item) or (seed, item, view), so a
 * run resumed from its saved state repeats the batches, augmentations and dropout masks it would have drawn.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../../core/errors.js';
import { writePdparams } from '../../core/formats/pdparamsWriter.js';
import { writeModelJson } from '../../core/formats/modelJson.js';
import { IMAGE_BOUNDARY, type StageBoundary } from '../../core/model/resnetVd.js';
import { TrainableRecognizer } from '../../core/model/trainable.js';
import { hashSeed, mulberry32, permutation } from '../../core/random.js';
import { restoreCheckpoint, takeCheckpoint } from '../../core/train/checkpoint.js';
import { drawMixup, mixBatch } from '../../core/train/mixup.js';
import { PaddleMomentum, paramGroups } from '../../core/train/optimizer.js';
import { preciseBN } from '../../core/train/preciseBn.js';
import { itersPerEpoch, savesEpoch, validatesEpoch } from '../../core/train/recipe.js';
import { CustomWarmupCosineDecay } from '../../core/train/schedule.js';
import { optimisationStep } from '../../core/train/step.js';
import type { TrainingPosition } from '../../core/train/progress.js';
import { writeFileAtomic } from '../files.js';
import { initNodeBackend } from '../backends.js';
import { writeModelDir } from '../modelDir.js';
import { trainEngine } from './ortPass.js';
import { validInput, type ItemReader } from './data.js';
import { RunDir, type SavedState } from './runDir.js';
import { validate, type ValidResult } from './validate.js';
import { argmax, mixTeacher, Teacher, UNLABELLED } from './teacher.js';
import { distillationLoss, rowLabels, top1Agreement } from '../../core/train/distillation.js';
import { FrozenPart } from './frozenPart.js';
import type { DatasetTrainerOptions, TrainSummary } from './trainOptions.js';

export type { DatasetTrainerOptions, TrainEvent, TrainSummary } from './trainOptions.js';

const pad5 = (n: number) => String(n).padStart(5, '0');

export async function trainOnLists(o: DatasetTrainerOptions): Promise<TrainSummary> {
  const r = o.recipe;
  const run = new RunDir(o.runDir);
  const steps = itersPerEpoch(o.train.length, r.batchSize);
  if (steps < 1) {
    throw new PPTSNError('invalid-argument', `the train list has ${o.train.length} usable items, fewer than one batch of ${r.batchSize}: PaddleVideo drops the last partial batch, so an epoch would have no iteration. Give --batch-size ${Math.max(1, o.train.length)} or fewer, or more items`);
  }
  // The trainable backbone's passes on onnxruntime-node when it loads (ortPass.ts); checked before the run folder is
  // claimed, so `--backend onnx` without it leaves nothing behind.
  const engine = await trainEngine(o.backend ?? 'auto', o.onEvent);
  await run.claim({ ...o.identity, recipe: r, classes: o.classes, format: o.format, name: o.name });
  // Variables, head, loss and optimiser on tfjs wasm (cpu on request; set before the first tensor).
  await initNodeBackend(o.backend === 'cpu' ? 'cpu' : 'wasm');
  const model = TrainableRecognizer.fromStateDict(o.init, { trainable: r.strategy, dropout: r.dropout });
  const optimizer = new PaddleMomentum(paramGroups(model.parameters(), { weightDecay: r.weightDecay, lrMultipliers: r.lrMultipliers }), { momentum: 0.9, nesterov: r.nesterov });
  let frozen: FrozenPart | undefined;
  let teacher: Teacher | undefined;
  try {
    if (o.distill) teacher = await Teacher.open(o.distill.teacher, run.path('cache/teacher'), o.backend, { classes: o.classes.length });
    let position: TrainingPosition = { epoch: 0, stepInEpoch: 0, iteration: 0, history: [], preciseBNDone: false };
    let best: SavedState['best'] = { top1: 0, top5: 0, epoch: 0 };
    let files: string[] = [];
    const saved = await run.loadState();
    if (saved) {
      position = restoreCheckpoint(model, optimizer, saved.checkpoint);
      best = saved.best;
      files = saved.files;
      o.onEvent?.({ phase: 'resume', epoch: position.epoch, iteration: position.iteration });
    }
    await run.trimLog(position.iteration, position.epoch);
    const reader: ItemReader = { format: o.format, segments: r.segments, ...(o.decoder ? { decoder: o.decoder } : {}), ...(o.signal ? { signal: o.signal } : {}) };
    frozen = await FrozenPart.open(o, run, reader, position.epoch >= r.epochs, teacher);
    if (o.signal?.aborted) {
      await run.saveState({ checkpoint: await takeCheckpoint(model, optimizer, position), best, files });
      return { stopped: true, epochs: position.epoch, best: best.epoch ? best : null, files };
    }
    const from: StageBoundary = frozen.cached ? model.trainableFrom : IMAGE_BOUNDARY;
    // Clips a pass when images go in: onnxruntime's pass holds the micro-batch's activations (~300 MB an image of
    // ResNet50 at 224 px, RSS measured), tfjs's recomputes unit by unit (passGrads.ts) and takes more.
    const micro = frozen.cached ? r.batchSize : Math.min(r.batchSize, o.microBatch ?? (engine ? 4 : 8));
    const schedule = new CustomWarmupCosineDecay({ baseLr: r.learningRate, warmupStartLr: r.warmupStartLr, warmupEpochs: r.warmupEpochs, maxEpoch: r.epochs, cosine: true }, steps);
    const stopped = () => o.signal?.aborted === true;
    const save = async () => run.saveState({ checkpoint: await takeCheckpoint(model, optimizer, position), best, files });
    const writeFile = async (name: string, bytes: Uint8Array | string) => {
      await writeFileAtomic(run.path(name), bytes);
      if (!files.includes(name)) files.push(name);
      o.onEvent?.({ phase: 'saved', file: run.path(name) });
    };
    // Besides epoch ends, the state is saved every PPTSN_TRAIN_SAVE_S seconds (default 600) within an epoch, so a kill
    // (not a Ctrl-C, which saves) loses at most that much work; the saved position includes the step.
    const saveEveryMs = 1000 * Number(process.env['PPTSN_TRAIN_SAVE_S'] ?? 600);
    let lastSave = Date.now();
    const t0 = Date.now();
    const todo = r.epochs * steps - position.iteration;
    let done = 0;
    while (position.epoch < r.epochs) {
      const e = position.epoch;
      const order = permutation(o.train.length, mulberry32(hashSeed(r.seed, 'epoch', e))).map((i) => ({ item: o.train[i]!, position: i }));
      for (let k = position.stepInEpoch; k < steps; k++) {
        if (stopped()) {
          await save();
          return { stopped: true, epochs: position.epoch, best: best.epoch ? best : null, files };
        }
        const t = Date.now();
        const iteration = position.iteration;
        const lr = schedule.lrAt(iteration);
        const batch = order.slice(k * r.batchSize, (k + 1) * r.batchSize);
        const rng = mulberry32(hashSeed(r.seed, 'iter', iteration));
        const raw = await frozen.trainBatch(batch, iteration);
        const draw = r.mixupAlpha > 0 && batch.length >= 2 ? drawMixup(batch.length, r.mixupAlpha, rng) : null;
        const x = draw ? mixBatch(raw, draw, r.segments) : raw;
        if (draw) raw.dispose();
        // A teacher run on this step's images saw them mixed; stored logits get the same λ.
        const targets = teacher ? await frozen.teacherRows(teacher, batch, iteration, x, micro) : undefined;
        const mixed = targets ? mixTeacher(targets, frozen.teacherRuns(teacher!) ? null : draw) : undefined;
        const known = batch.map((b) => (b.item.label === UNLABELLED ? null : b.item.label));
        let res: Awaited<ReturnType<typeof optimisationStep>>;
        try {
          res = await optimisationStep(
            {
              model, optimizer, segments: r.segments, labelSmoothing: r.labelSmoothing, microBatch: micro, from, dropoutSeed: (m0) => hashSeed(r.seed, 'dropout', iteration, m0), ...(engine ? { engine } : {}),
              ...(mixed ? { loss: (logits: tf.Tensor2D, rows: number[]) => {
                const t = rows.length === batch.length ? mixed : (tf.gather(mixed, tf.tensor1d(rows, 'int32')) as tf.Tensor2D);
                const l = distillationLoss(logits, t, rowLabels(known, draw, rows), o.distill!.settings);
                return { total: l.total, extra: { kd: l.kd } };
              } } : {}),
            },
            x,
            // Unlabelled clips count the teacher's top-1 as their label in the logged accuracy.
            batch.map((b, i) => (b.item.label === UNLABELLED ? argmax(targets![i]!) : b.item.label)),
            draw,
            lr,
          );
        } finally {
          mixed?.dispose();
        }
        const kd = res.extra?.['kd'];
        position = { ...position, iteration: iteration + 1, stepInEpoch: k + 1 };
        done++;
        const ips = batch.length / Math.max(1e-3, (Date.now() - t) / 1000);
        await run.log({ type: 'iter', epoch: e + 1, iter: k, step: iteration, lr, loss: res.loss, top1: res.accuracy, ips, ...(kd !== undefined ? { kd } : {}) });
        o.onEvent?.({ phase: 'iter', epoch: e + 1, epochs: r.epochs, iter: k, iters: steps, step: iteration, loss: res.loss, top1: res.accuracy, lr, ips, etaS: ((Date.now() - t0) / 1000 / done) * (todo - done), ...(kd !== undefined ? { kd } : {}) });
        if (k + 1 < steps && Date.now() - lastSave > saveEveryMs) {
          await save();
          lastSave = Date.now();
        }
      }
      let valid: ValidResult | undefined;
      let agreement: number | undefined;
      if (validatesEpoch(e, r)) {
        if (r.preciseBN > 0 && r.strategy !== 'head') {
          await preciseBN(model, r.preciseBN, async (b) => frozen!.trainBatch(permutation(o.train.length, mulberry32(hashSeed(r.seed, 'preciseBN', e, b))).slice(0, r.batchSize).map((i) => ({ item: o.train[i]!, position: i })), hashSeed('preciseBN', e, b)), from);
        }
        if (o.valid.length > 0) {
          valid = await validate(model, o.valid, r, (items) => frozen!.validBatch(items), from);
          if (teacher) agreement = top1Agreement(valid.predicted, await teacher.validTop1(o.valid, (item) => validInput(item, reader)));
          // PaddleVideo: `if record_list[best_flag].avg > best` (strictly), best starting at 0.
          if (valid.top1 > best.top1) {
            best = { top1: valid.top1, top5: valid.top5, epoch: e + 1 };
            const sd = await model.toStateDict();
            await writeFile(`${o.name}_best.pdparams`, writePdparams(sd));
            await writeModelDir(run.path('model'), writeModelJson(sd, { labels: o.classes, preset: 'fast', generatedBy: 'pptsn-web train' }));
            if (!files.includes('model/model.json')) files.push('model/model.json');
          }
        }
      }
      if (savesEpoch(e, r)) await writeFile(`${o.name}_epoch_${pad5(e + 1)}.pdparams`, writePdparams(await model.toStateDict()));
      await run.log({ type: 'epoch', epoch: e + 1, ...(valid ? { valid: { loss: valid.loss, top1: valid.top1, top5: valid.top5 } } : {}), ...(agreement !== undefined ? { agreement } : {}) });
      o.onEvent?.({ phase: 'epoch', epoch: e + 1, ...(valid ? { valid } : {}), ...(agreement !== undefined ? { agreement } : {}), best });
      position = { ...position, epoch: e + 1, stepInEpoch: 0 };
      await save();
      lastSave = Date.now();
    }
    // Without validation (or with no improvement) `model/` holds the last weights, so classify/eval have a model.
    if (best.epoch === 0) {
      await writeModelDir(run.path('model'), writeModelJson(await model.toStateDict(), { labels: o.classes, preset: 'fast', generatedBy: 'pptsn-web train' }));
      if (!files.includes('model/model.json')) files.push('model/model.json');
    }
    return { stopped: false, epochs: position.epoch, best: best.epoch ? best : null, files };
  } finally {
    await engine?.dispose();
    await frozen?.dispose();
    await teacher?.dispose();
    optimizer.dispose();
    model.dispose();
  }
}
