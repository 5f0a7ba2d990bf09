/**
 * `pptsn-web train --teacher` (issue 22 item 4): on synthetic colour clips (rawframes made with ffmpeg), a teacher
 * trained with `train --strategy head` on labelled clips teaches a ResNet18 student (another seeded model) on an
 * unlabelled list only; the student reaches ≥ 0.9 validation top-1 against the true labels it never saw and ≥ 0.9
 * top-1 agreement with the teacher. The logged `kd` equals `distillationLoss` on known logits (a logits-file teacher,
 * a student whose FC weights are 0, so its logits are its bias whatever the input); another KD setting into the same
 * run directory is refused. A teacher *model* with `--strategy last-stage` runs on each step's own mixed images,
 * per micro-batch: the logged `kd` equals `distillationLoss` of the teacher's logits of that very batch, rebuilt
 * here from the same seeds (and differs from the teacher's logits of the unmixed views mixed with λ).
 * Labelled and unlabelled clips train together with a teacher model (the CE on the labelled rows, on wasm); a
 * teacher-logits file without the --valid items is refused before the run starts.
 *   node --import tsx --test test/unit/train-distill.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { seededStateDict } from '../helpers/seeded.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';
import { convert } from '../../src/cli/convert.js';
import { runTrain } from '../../src/cli/train.js';
import { distillationLoss, resolveDistillation } from '../../src/core/train/distillation.js';
import { isPPTSNError } from '../../src/core/errors.js';
import { hashSeed } from '../../src/core/random.js';
import { drawMixup, mixBatch } from '../../src/core/train/mixup.js';
import { permutation } from '../../src/core/random.js';
import { mulberry32 } from '../../src/core/random.js';
import { readUnlabelled } from '../../src/node/train/unlabelled.js';
import { concatOwned, trainInput } from '../../src/node/train/data.js';
import { mixTeacher } from '../../src/node/train/teacher.js';
import { createNodeRunner } from '../../src/node/runtime.js';
import { formatJsonLines } from '../../src/cli/classifyJson.js';

let dir = '';
const COLOURS = ['red', 'green', 'blue'];
const quiet = { print: () => undefined, log: () => undefined };
/** Small, fast recipe: no mixup, dropout or smoothing, so a few epochs separate three colours. */
const RECIPE = { strategy: 'head' as const, segments: 1, batchSize: 3, mixupAlpha: 0, dropout: 0, labelSmoothing: 0, warmupEpochs: 0, views: 2, seed: 3 };

function readLog(run: string): Record<string, unknown>[] {
  return readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function modelDir(name: string, seed: number, edit?: (sd: ReturnType<typeof seededStateDict>) => void): Promise<string> {
  const sd = seededStateDict(18, 3, seed);
  edit?.(sd);
  writeFileSync(join(dir, `${name}.pdparams`), writePdparams(sd));
  await convert({ input: join(dir, `${name}.pdparams`), outDir: join(dir, name), log: () => undefined });
  return join(dir, name);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-distill-'));
  // Per colour: clips 0–2 labelled (the teacher's), 3–5 unlabelled (the student's), 6–7 validation.
  const lists: Record<string, string[]> = { labelled: [], unlabelled: [], valid: [] };
  COLOURS.forEach((c, label) => {
    for (let k = 0; k < 8; k++) {
      const rel = `c${label}/v${k}`;
      mkdirSync(join(dir, 'frames', rel), { recursive: true });
      execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `color=c=${c}:s=96x72:r=10:d=1.2,noise=alls=${20 + 3 * k}:allf=t`, '-q:v', '3', join(dir, 'frames', rel, 'img_%05d.jpg')]);
      const n = readdirSync(join(dir, 'frames', rel)).length;
      if (k < 3) lists['labelled']!.push(`${rel} ${n} ${label}`);
      // The unlabelled list: plain paths (no frame count, no label).
      else if (k < 6) lists['unlabelled']!.push(rel);
      else lists['valid']!.push(`${rel} ${n} ${label}`);
    }
  });
  for (const [name, lines] of Object.entries(lists)) writeFileSync(join(dir, `${name}.txt`), lines.join('\n') + '\n');
});

after(() => {
  if (dir && !process.env['PPTSN_KEEP_TMP']) rmSync(dir, { recursive: true, force: true });
});

test('a ResNet18 student distilled on unlabelled clips only learns the classes from a trained teacher', async () => {
  const root = join(dir, 'frames');
  // The teacher: a seeded ResNet18 whose head is trained on the labelled clips.
  const teacherStart = await modelDir('teacher-start', 11);
  await runTrain({ ...quiet, list: join(dir, 'labelled.txt'), out: join(dir, 'teacher-run'), modelDir: teacherStart, valid: join(dir, 'valid.txt'), root, recipe: { ...RECIPE, epochs: 12, learningRate: 0.001 }, backend: 'auto' });
  const teacherEpochs = readLog(join(dir, 'teacher-run')).filter((r) => r['type'] === 'epoch');
  const teacherTop1 = (teacherEpochs.at(-1)!['valid'] as { top1: number }).top1;
  assert.ok(teacherTop1 >= 0.9, `the teacher reaches ${teacherTop1} top-1`);

  // The student: another seeded ResNet18, taught by the teacher's model folder on the unlabelled list alone.
  const studentStart = await modelDir('student-start', 22);
  const out = join(dir, 'student-run');
  const summary = await runTrain({ ...quiet, unlabeled: join(dir, 'unlabelled.txt'), teacher: join(dir, 'teacher-run', 'model'), out, modelDir: studentStart, valid: join(dir, 'valid.txt'), root, format: 'rawframes', recipe: { ...RECIPE, epochs: 12, learningRate: 0.001 }, backend: 'auto' });
  assert.equal(summary.stopped, false);
  const log = readLog(out);
  const iters = log.filter((r) => r['type'] === 'iter');
  assert.ok(iters.length > 0 && iters.every((r) => typeof r['kd'] === 'number' && Number.isFinite(r['kd'])), 'every iteration logs kd');
  // Unlabelled only: the loss is the distillation term alone (kd weight 1).
  for (const r of iters) assert.ok(Math.abs((r['loss'] as number) - (r['kd'] as number)) <= 1e-6 * Math.max(1, r['kd'] as number));
  const last = log.filter((r) => r['type'] === 'epoch').at(-1)!;
  const top1 = (last['valid'] as { top1: number }).top1;
  assert.ok(top1 >= 0.9, `the student reaches ${top1} validation top-1 against labels it never saw`);
  assert.ok((last['agreement'] as number) >= 0.9, `agreement ${String(last['agreement'])}`);
  assert.ok((iters.at(-1)!['kd'] as number) < (iters[0]!['kd'] as number), 'kd falls');
  const identity = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { list: unknown; distillation: { teacher: { model: string }; kdLoss: string; kdWeight: number } };
  assert.equal(identity.list, null);
  assert.equal(identity.distillation.kdLoss, 'dml');
  assert.equal(identity.distillation.teacher.model, join(dir, 'teacher-run', 'model'));
});

test('the logged kd is distillationLoss of the student\'s and the teacher\'s logits; another KD recipe is refused', async () => {
  const root = join(dir, 'frames');
  const bias = [0.3, -0.2, 0.5];
  const student = await modelDir('zero-fc', 33, (sd) => {
    sd.get('head.fc.weight')!.data.fill(0);
    sd.get('head.fc.bias')!.data.set(bias);
  });
  const paths = readFileSync(join(dir, 'unlabelled.txt'), 'utf8').trim().split('\n');
  const teacherRows = paths.map((_, i) => [Math.sin(i + 1) * 3, Math.cos(i * 2) * 2, i / 4 - 1]);
  writeFileSync(join(dir, 'teacher.jsonl'), paths.map((p, i) => JSON.stringify({ path: p, logits: teacherRows[i] })).join('\n') + '\n');
  const out = join(dir, 'kd-run');
  const kd = { kdLoss: 'kl' as const, temperature: 2 };
  // One iteration over all 9 clips (the batch's order does not change the mean over rows).
  const o = { ...quiet, unlabeled: join(dir, 'unlabelled.txt'), teacher: join(dir, 'teacher.jsonl'), out, modelDir: student, root, format: 'rawframes' as const, distillation: kd, recipe: { ...RECIPE, batchSize: paths.length, epochs: 1, views: 1 }, backend: 'auto' as const };
  await runTrain(o);
  const first = readLog(out).find((r) => r['type'] === 'iter')!;
  const s = tf.tensor2d(paths.map(() => bias), [paths.length, 3]);
  const t = tf.tensor2d(teacherRows, [paths.length, 3]);
  const expected = distillationLoss(s, t, null, resolveDistillation(kd));
  const want = (await expected.kd.data())[0]!;
  tf.dispose([s, t, expected.total, expected.kd]);
  assert.ok(Math.abs((first['kd'] as number) - want) <= 1e-5 * want, `kd ${String(first['kd'])} vs ${want}`);
  await assert.rejects(runTrain({ ...o, distillation: { ...kd, kdWeight: 2 } }), (e: unknown) => isPPTSNError(e) && /distillation/.test(e.message));
});

test('a teacher model with --strategy last-stage sees the step\'s own mixed images, one micro-batch at a time', async () => {
  const root = join(dir, 'frames');
  const bias = [0.1, 0.4, -0.3];
  const student = await modelDir('zero-fc-ls', 44, (sd) => {
    sd.get('head.fc.weight')!.data.fill(0);
    sd.get('head.fc.bias')!.data.set(bias);
  });
  // A teacher whose logits differ clearly between clips (its FC scaled ×20), on clips of three colours.
  const teacherDir = await modelDir('teacher-ls', 55, (sd) => sd.get('head.fc.weight')!.data.forEach((v, i, a) => (a[i] = 20 * v)));
  const lines = readFileSync(join(dir, 'unlabelled.txt'), 'utf8').trim().split('\n');
  writeFileSync(join(dir, 'four.txt'), [lines[0], lines[3], lines[6], lines[1]].join('\n') + '\n');
  const out = join(dir, 'ls-run');
  // One iteration of 4 clips in micro-batches of 2, mixup with α = 4 (λ near ½, so mixed ≠ unmixed).
  const recipe = { ...RECIPE, strategy: 'last-stage' as const, batchSize: 4, epochs: 1, mixupAlpha: 4, seed: 7 };
  writeFileSync(join(dir, 'two-valid.txt'), readFileSync(join(dir, 'valid.txt'), 'utf8').trim().split('\n').slice(0, 2).join('\n') + '\n');
  await runTrain({ ...quiet, unlabeled: join(dir, 'four.txt'), teacher: teacherDir, out, modelDir: student, valid: join(dir, 'two-valid.txt'), root, format: 'rawframes', recipe, microBatch: 2, backend: 'auto' });
  const logged = readLog(out).find((r) => r['type'] === 'iter')!['kd'] as number;

  // The step's batch, rebuilt from the trainer's seeds (datasetTrainer.ts): order, per-item draws, the mixup draw.
  const { items } = await readUnlabelled(join(dir, 'four.txt'), { format: 'rawframes', root });
  const order = permutation(items.length, mulberry32(hashSeed(recipe.seed, 'epoch', 0)));
  const reader = { format: 'rawframes' as const, segments: recipe.segments };
  const raw = concatOwned(await Promise.all(order.map((i, b) => trainInput(items[i]!, reader, mulberry32(hashSeed(recipe.seed, 'iter', 0, 'item', b))))));
  const draw = drawMixup(items.length, recipe.mixupAlpha, mulberry32(hashSeed(recipe.seed, 'iter', 0)));
  assert.ok(draw.lambda > 0.1 && draw.lambda < 0.9, `λ ${draw.lambda}`);
  const x = mixBatch(raw, draw, recipe.segments);
  const runner = await createNodeRunner(teacherDir, 'auto');
  const logitsOf = async (images: tf.Tensor4D) => {
    const f = await runner.network.features(images);
    const y = tf.tidy(() => runner.network.head(tf.reshape(f, [items.length, recipe.segments, f.shape[1]]) as tf.Tensor3D));
    f.dispose();
    return y;
  };
  const onMixed = await logitsOf(x);
  const unmixed = await logitsOf(raw);
  const rows = await unmixed.array();
  const mixedLogits = mixTeacher(rows.map((r) => Float32Array.from(r)), draw);
  await runner.dispose();
  const s = tf.tensor2d(items.map(() => bias), [items.length, 3]);
  const kdOf = async (t: tf.Tensor2D) => {
    const l = distillationLoss(s, t, null, resolveDistillation({}));
    const v = (await l.kd.data())[0]!;
    tf.dispose([l.total, l.kd]);
    return v;
  };
  const want = await kdOf(onMixed);
  const wrong = await kdOf(mixedLogits);
  tf.dispose([raw, x, onMixed, unmixed, mixedLogits, s]);
  assert.ok(Math.abs(logged - want) <= 1e-5 * want, `kd ${logged} vs ${want} (the teacher on the mixed images)`);
  assert.ok(Math.abs(wrong - want) > 1e-2 * want, `the control differs: ${wrong} vs ${want}`);
  // With a computed teacher, its valid logits are computed on first use: the epoch logs agreement.
  assert.equal(typeof readLog(out).find((r) => r['type'] === 'epoch')!['agreement'], 'number');
});

test('a teacher-logits file without the --valid items is refused before the run starts, naming the list and the item', async () => {
  // Records for the labelled list only (as `eval --out` over the train list writes them): the valid items' logits,
  // first looked up after the first epoch, were missing there; the run had trained an epoch and claimed its folder.
  const labelled = readFileSync(join(dir, 'labelled.txt'), 'utf8').trim().split('\n').map((l) => l.split(' ')[0]!);
  const file = join(dir, 'train-only.jsonl');
  writeFileSync(file, labelled.map((p) => formatJsonLines(p, { logits: [[1, 0, -1]], top: [[{ index: 0, label: 'c0', score: 0.7 }]], backend: 'cpu' })).join('\n') + '\n');
  const out = join(dir, 'train-only-run');
  const o = { ...quiet, list: join(dir, 'labelled.txt'), teacher: file, out, modelDir: await modelDir('cover', 66), root: join(dir, 'frames'), recipe: { ...RECIPE, epochs: 1 }, backend: 'auto' as const };
  await assert.rejects(runTrain({ ...o, valid: join(dir, 'valid.txt') }), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument' &&
    /train-only\.jsonl has no teacher logits for c0\/v6 \(line 1 of the --valid list .*valid\.txt\) nor for 5 other items/.test(e.message));
  assert.equal(existsSync(join(out, 'run.json')), false, 'the run folder is not claimed');
  // Unlabelled items are named as the --unlabeled list's.
  await assert.rejects(runTrain({ ...o, unlabeled: join(dir, 'unlabelled.txt') }), (e: unknown) => isPPTSNError(e) && /c0\/v3 \(line 1 of the --unlabeled list .*unlabelled\.txt\)/.test(e.message));
});

test('labelled and --unlabeled clips together with a teacher model train (the CE picks the labelled rows on wasm)', async () => {
  // The CE term's row selection was a tf.gather, whose gradient wasm lacks: this run failed at its first step with
  // "Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'".
  const out = join(dir, 'mixed-run');
  const summary = await runTrain({
    ...quiet, list: join(dir, 'labelled.txt'), unlabeled: join(dir, 'unlabelled.txt'), teacher: await modelDir('mixed-teacher', 77), out,
    modelDir: await modelDir('mixed-student', 78), root: join(dir, 'frames'), recipe: { ...RECIPE, epochs: 1, mixupAlpha: 0.2 }, backend: 'auto',
  });
  assert.equal(summary.epochs, 1);
  const iters = readLog(out).filter((r) => r['type'] === 'iter');
  assert.equal(iters.length, 6, '18 clips in batches of 3');
  for (const r of iters) assert.ok(Number.isFinite(r['loss']) && Number.isFinite(r['kd']), JSON.stringify(r));
});
