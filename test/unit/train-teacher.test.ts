/**
 * Distillation in the page's trainer (issue 22 item 5, core part): `ClipTrainer` with a `ClipTeacher` learns a
 * head from a teacher's logits on clips added without labels, reaching ≥ 0.9 agreement with the teacher and ≥ 0.9
 * accuracy against true labels it never saw; with the distillation weight 0 the same run learns nothing (the
 * control that shows the test can fail); unlabelled clips need a teacher; a teacher with other classes is refused;
 * no tensor leaks.
 *
 *   node --import tsx --test test/unit/train-teacher.test.ts
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { registerGradientsNode } from '../helpers/nodeGradients.js';
import { ClipTrainer, type EpochInfo, type StepInfo, type TrainingClip, resolveSettings } from '../../src/core/train/trainer.js';
import { ClipTeacher, UNLABELLED, argmax } from '../../src/core/train/clipTeacher.js';
import { mulberry32 } from '../../src/core/random.js';
import type { Recognizer } from '../../src/core/model/recognizer.js';
import type { FramePixels } from '../../src/core/frames/pixels.js';
import { seededInput, seededStateDict } from '../helpers/seeded.js';

before(async () => {
  await registerGradientsNode();
  await initNodeBackend('cpu');
});

/** The student's frozen backbone: a fixed random projection of each image's mean colour (512 features, depth 18). */
function studentBackbone(): Recognizer {
  const proj = tf.tidy(() => tf.mul(tf.tensor2d(seededInput([3, 512], 9), [3, 512]), 0.05) as tf.Tensor2D);
  return {
    runStages(x: tf.Tensor4D) {
      return tf.tidy(() => tf.reshape(tf.relu(tf.matMul(tf.mean(x, [1, 2]) as tf.Tensor2D, proj)), [x.shape[0], 1, 1, 512]) as tf.Tensor4D);
    },
    dispose: () => proj.dispose(),
  } as unknown as Recognizer;
}

/** A teacher that knows the classes: its features are the mean colour, its head picks the strongest channel. */
function colourTeacher(classes: number): Recognizer & { freed: boolean } {
  const t = {
    freed: false,
    features: (images: tf.Tensor4D) => tf.mean(images, [1, 2]) as tf.Tensor2D,
    head: (f: tf.Tensor3D) => tf.tidy(() => tf.matMul(tf.mean(f, 1) as tf.Tensor2D, tf.mul(tf.eye(3, classes), 4))) as tf.Tensor2D,
    dispose() {
      t.freed = true;
    },
  };
  return t as unknown as Recognizer & { freed: boolean };
}

function frames(rgb: [number, number, number], n: number, seed: number): FramePixels[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const data = new Uint8Array(40 * 30 * 3);
    for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, rgb[i % 3]! + Math.round((rng() - 0.5) * 60)));
    return { width: 40, height: 30, channels: 3 as const, data };
  });
}

const COLOURS: [number, number, number][] = [[200, 40, 40], [40, 200, 40], [40, 40, 200]];
/** True labels, never given to the trainer. */
const TRUTH = COLOURS.flatMap((_, label) => [0, 1, 2, 3].map((i) => ({ id: `u${label}-${i}`, label, frames: frames(COLOURS[label]!, 6, label * 10 + i) })));
const SETTINGS = { classes: ['red', 'green', 'blue'], strategy: 'head' as const, epochs: 12, batchSize: 4, segments: 2, views: 2, validationSplit: 0.25, learningRate: 0.05, seed: 3 };

async function distil(kdWeight: number) {
  const rec = studentBackbone();
  const teacherRec = colourTeacher(3);
  const t = new ClipTrainer(seededStateDict(18, 400, 5), resolveSettings(SETTINGS), rec, { teacher: new ClipTeacher(teacherRec, 3, { kdWeight }) });
  for (const c of TRUTH) t.addClip({ ...c, label: UNLABELLED });
  const steps: StepInfo[] = [];
  const epochs: EpochInfo[] = [];
  await t.fit({ onStep: (s) => steps.push(s), onEpoch: (e) => epochs.push(e) });
  const ev = await t.evaluate();
  const logits = await t.logitsOf(TRUTH);
  const correct = TRUTH.filter((c, i) => argmax(logits.subarray(i * 3, (i + 1) * 3)) === c.label).length / TRUTH.length;
  return { t, rec, teacherRec, steps, epochs, ev, correct };
}

describe('ClipTrainer with a teacher (head strategy)', () => {
  it('distils onto unlabelled clips: ≥ 0.9 agreement and ≥ 0.9 accuracy against unseen labels; kd weight 0 learns nothing', async () => {
    const base = tf.memory().numTensors;
    const r = await distil(1);
    // The split and the accuracy count the teacher's top-1 as an unlabelled clip's class (12 clips, 3 held out).
    assert.equal(r.t.split().valid.length, 3);
    assert.ok(r.steps.every((s) => typeof s.kd === 'number' && Number.isFinite(s.kd)), 'each step reports its distillation term');
    assert.ok(r.steps.at(-1)!.kd! < r.steps[0]!.kd!, `kd ${r.steps[0]!.kd} → ${r.steps.at(-1)!.kd}`);
    assert.ok(r.epochs.every((e) => typeof e.agreement === 'number'), 'each epoch reports agreement with the teacher');
    assert.ok(r.ev.agreement! >= 0.9, `agreement ${r.ev.agreement}`);
    assert.ok(r.correct >= 0.9, `accuracy against the true labels ${r.correct}`);
    r.t.dispose();
    assert.ok(r.teacherRec.freed, 'the trainer frees its teacher');
    r.rec.dispose();
    assert.equal(tf.memory().numTensors, base, 'no tensors left behind');

    const control = await distil(0);
    assert.ok(control.correct < 0.9, `without the distillation term nothing is learned (accuracy ${control.correct})`);
    control.t.dispose();
    control.rec.dispose();
  });

  it('an unlabelled clip needs a teacher; a teacher with other classes is refused', async () => {
    const rec = studentBackbone();
    const plain = new ClipTrainer(seededStateDict(18, 400, 5), resolveSettings(SETTINGS), rec);
    assert.throws(() => plain.addClip({ ...TRUTH[0]!, label: UNLABELLED }), /without a label needs a teacher/);
    plain.dispose();
    const t = new ClipTrainer(seededStateDict(18, 400, 5), resolveSettings(SETTINGS), rec, { teacher: new ClipTeacher(colourTeacher(4), 3) });
    for (const c of TRUTH) t.addClip({ ...c, label: UNLABELLED });
    await assert.rejects(t.fit(), /teacher has 4 classes and the student 3/);
    t.dispose();
    rec.dispose();
  });
});
