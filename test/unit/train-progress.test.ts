/**
 * Fine-tuning as a person lives it (issue 26), in Node on tiny inputs:
 * - a step stopped between micro-batches throws `aborted` having changed nothing (parameters, BN running statistics,
 *   velocities), and the step redone equals an uninterrupted one bit for bit;
 * - inside a micro-batch's pass (`full`), the layers report parts of it, and an interrupt polled at any layer (forward
 *   or backward) leaves the pass with nothing changed and no tensor left on tfjs's gradient tape;
 * - `fit` reports `features` progress (clips and views) before its first step, then `training` with epoch/step and
 *   one ETA; a stop during the features or the training returns a stopped result whose resume ends bit-identical to
 *   an uninterrupted run;
 * - `head` at the defaults on features as large as a real ResNet50's (‖f‖² ~ 10⁵) converges (last epoch's loss below
 *   the first's) where PP-TSN's unadapted LR diverges, and the divergence is warned about in the progress events.
 *
 *   node --import tsx --test test/unit/train-progress.test.ts
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { registerGradientsNode } from '../helpers/nodeGradients.js';
import { ClipTrainer, type TrainingClip, type TrainingProgress, type TrainerSettings, resolveSettings } from '../../src/core/train/trainer.js';
import { optimisationStep, PART_REPORTS, type StepContext } from '../../src/core/train/step.js';
import { PaddleMomentum, paramGroups } from '../../src/core/train/optimizer.js';
import { takeCheckpoint } from '../../src/core/train/checkpoint.js';
import { TrainableRecognizer } from '../../src/core/model/trainable.js';
import { convBNLayers } from '../../src/core/model/arch.js';
import { LAST_STAGE_BOUNDARY } from '../../src/core/model/resnetVd.js';
import { trainingFailure } from '../../src/core/train/failure.js';
import { PhaseClock } from '../../src/core/train/progress.js';
import { mulberry32 } from '../../src/core/random.js';
import type { Recognizer } from '../../src/core/model/recognizer.js';
import type { FramePixels } from '../../src/core/frames/pixels.js';
import { seededInput, seededStateDict } from '../helpers/seeded.js';

before(async () => {
  await registerGradientsNode();
  await initNodeBackend('wasm');
});

const position = { epoch: 0, stepInEpoch: 0, iteration: 0, history: [], preciseBNDone: false };

function maxDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let d = 0;
  for (const [k, v] of Object.entries(a)) {
    const w = b[k]!;
    assert.equal(w.length, v.length, k);
    for (let i = 0; i < v.length; i++) d = Math.max(d, Math.abs(v[i]! - w[i]!));
  }
  return d;
}

/** a and b hold the same parameters, running statistics and velocities, bit for bit; then both are freed. */
type ModelAndOptimizer = { model: TrainableRecognizer; opt: PaddleMomentum };
async function assertSameStateThenDispose(a: ModelAndOptimizer, b: ModelAndOptimizer): Promise<void> {
  const ca = await takeCheckpoint(a.model, a.opt, position);
  const cb = await takeCheckpoint(b.model, b.opt, position);
  assert.equal(maxDiff(ca.params, cb.params), 0);
  assert.equal(maxDiff(ca.velocity, cb.velocity), 0);
  for (const m of [a, b]) {
    m.opt.dispose();
    m.model.dispose();
  }
}

describe('a step stopped between micro-batches', () => {
  it('changes nothing, and redone equals an uninterrupted step', async () => {
    const T = 2;
    const B = 3;
    const labels = [0, 1, 0];
    const make = () => {
      const model = TrainableRecognizer.fromStateDict(seededStateDict(18, 2, 41), { trainable: 'last-stage', dropout: 0 });
      const opt = new PaddleMomentum(paramGroups(model.parameters()));
      return { model, opt };
    };
    const input = () => tf.tensor4d(seededInput([B * T, 4, 4, 256], 5), [B * T, 4, 4, 256]);
    const ctx = (m: ReturnType<typeof make>): StepContext => ({ model: m.model, optimizer: m.opt, segments: T, labelSmoothing: 0.1, microBatch: 1, from: LAST_STAGE_BOUNDARY, dropoutSeed: (m0: number) => m0 });
    const a = make();
    const b = make();
    // One step on both first, so the velocities are non-zero (a stop must leave them as they were too).
    for (const m of [a, b]) await optimisationStep(ctx(m), input(), labels, null, 0.01);
    const before = await takeCheckpoint(a.model, a.opt, position);
    const ctrl = new AbortController();
    const seen: number[] = [];
    await assert.rejects(
      optimisationStep(ctx(a), input(), labels, null, 0.01, { signal: ctrl.signal, onMicroBatch: (done) => (seen.push(done), done === 1 && ctrl.abort()) }),
      (e: { code?: string }) => e.code === 'aborted',
    );
    assert.deepEqual(seen, [1], 'stopped after the first micro-batch, not at the end of the step');
    const after = await takeCheckpoint(a.model, a.opt, position);
    assert.equal(maxDiff(before.params, after.params), 0, 'parameters and running statistics unchanged');
    assert.equal(maxDiff(before.velocity, after.velocity), 0, 'velocities unchanged');
    // Redone without a stop: the same as b's uninterrupted step, bit for bit.
    const ra = await optimisationStep(ctx(a), input(), labels, null, 0.01, { signal: new AbortController().signal });
    const rb = await optimisationStep(ctx(b), input(), labels, null, 0.01);
    assert.equal(ra.loss, rb.loss);
    await assertSameStateThenDispose(a, b);
  });
});

describe('inside a micro-batch pass (full)', () => {
  it('reports parts of the pass from its layers, and an interrupt at any layer leaves the step changing nothing, no tensor behind', async () => {
    const T = 1;
    const B = 2;
    const labels = [0, 1];
    const make = () => {
      const model = TrainableRecognizer.fromStateDict(seededStateDict(18, 2, 43), { trainable: 'full', dropout: 0 });
      return { model, opt: new PaddleMomentum(paramGroups(model.parameters())) };
    };
    const input = () => tf.tensor4d(seededInput([B * T, 32, 32, 3], 7), [B * T, 32, 32, 3]);
    const ctx = (m: ReturnType<typeof make>): StepContext => ({ model: m.model, optimizer: m.opt, segments: T, labelSmoothing: 0.1, microBatch: 1, from: 0, dropoutSeed: (m0: number) => m0 });
    const a = make();
    const b = make();
    const L = b.model.trainableLayers(0);
    assert.equal(L, convBNLayers(b.model.arch).length, 'from the image: every ConvBN of the plan');
    const parts: number[] = [];
    const ends: number[] = [];
    await optimisationStep(ctx(b), input(), labels, null, 0.01, { onPart: (c) => void parts.push(c), onMicroBatch: (c) => void ends.push(c) });
    assert.deepEqual(ends, [1, 2]);
    for (let m = 0; m < B; m++) {
      const inside = parts.filter((c) => c > m && c < m + 1);
      assert.equal(inside.length, Math.floor((2 * L - 1) / Math.ceil((2 * L) / PART_REPORTS)), `reports inside micro-batch ${m + 1}: ${inside.join(', ')}`);
    }
    assert.ok(parts.every((c, i) => i === 0 || c > parts[i - 1]!), 'parts only grow');
    // Interrupted in micro-batch 1's forward, its backward, and micro-batch 2's backward (the poll between them counts one).
    for (const at of [5, 2 * L - 8, 2 * L + 1 + L + 8]) {
      const before = await takeCheckpoint(a.model, a.opt, position);
      const n0 = tf.memory().numTensors;
      let polls = 0;
      await assert.rejects(
        optimisationStep(ctx(a), input(), labels, null, 0.01, { interrupt: () => ++polls >= at }),
        (e: { code?: string; message?: string }) => e.code === 'aborted' && /inside the pass of clip (1|2) of 2/.test(e.message ?? ''),
      );
      assert.equal(polls, at, `left at poll ${at}`);
      assert.equal(tf.memory().numTensors, n0, `interrupted at poll ${at}: no tensor left behind`);
      const after = await takeCheckpoint(a.model, a.opt, position);
      assert.equal(maxDiff(before.params, after.params), 0, `interrupted at poll ${at}: parameters and running statistics unchanged`);
      assert.equal(maxDiff(before.velocity, after.velocity), 0, `interrupted at poll ${at}: velocities unchanged`);
    }
    // Then the step, not interrupted, equals b's bit for bit.
    await optimisationStep(ctx(a), input(), labels, null, 0.01, { interrupt: () => false });
    await assertSameStateThenDispose(a, b);
  });
});

/** A frozen backbone stand-in whose pooled features are a seeded projection of each image's colour, × `scale`. */
function projectionRecognizer(F: number, scale: number): Recognizer {
  const proj = tf.tidy(() => tf.mul(tf.tensor2d(seededInput([3, F], 9), [3, F]), scale) as tf.Tensor2D);
  const bias = tf.tidy(() => tf.mul(tf.abs(tf.tensor1d(seededInput([F], 11))), scale) as tf.Tensor1D);
  return {
    runStages(x: tf.Tensor4D) {
      return tf.tidy(() => tf.reshape(tf.relu(tf.add(tf.matMul(tf.mean(x, [1, 2]) as tf.Tensor2D, proj), bias)), [x.shape[0], 1, 1, F]) as tf.Tensor4D);
    },
  } as unknown as Recognizer;
}

function frames(rgb: number[], n: number, seed: number): FramePixels[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const data = new Uint8Array(40 * 30 * 3);
    for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, rgb[i % 3]! + Math.round((rng() - 0.5) * 120)));
    return { width: 40, height: 30, channels: 3 as const, data };
  });
}

/** 3 classes × 3 clips (the "head on 9 clips"). */
const CLIPS: TrainingClip[] = [[150, 90, 90], [90, 150, 90], [90, 90, 150]].flatMap((c, label) => [0, 1, 2].map((i) => ({ id: `c${label}-${i}`, label, frames: frames(c, 8, label * 10 + i) })));

async function run(rec: Recognizer, settings: Omit<TrainerSettings, 'classes'>, stopWhen?: (p: TrainingProgress) => boolean) {
  const t = new ClipTrainer(seededStateDict(18, 400, 5), resolveSettings({ classes: ['a', 'b', 'c'], ...settings }), rec);
  for (const c of CLIPS) t.addClip(c);
  const events: TrainingProgress[] = [];
  const ctrl = new AbortController();
  const checkpoints: Awaited<ReturnType<ClipTrainer['checkpoint']>>[] = [];
  const r = await t.fit({
    signal: ctrl.signal,
    onProgress: (p) => {
      events.push(p);
      if (stopWhen?.(p)) ctrl.abort();
    },
    onCheckpoint: (c) => void checkpoints.push(c),
  });
  return { t, r, events, checkpoints };
}

describe('fit: progress, stop, resume, convergence', () => {
  it('reports features before the first step, one ETA, and a stop during features or training resumes bit-identically', async () => {
    const rec = projectionRecognizer(512, 1);
    const settings = { strategy: 'head' as const, epochs: 4, segments: 2, batchSize: 2, views: 2 };
    const whole = await run(rec, settings);
    const phases = whole.events.map((e) => e.phase);
    const firstTraining = phases.indexOf('training');
    assert.ok(phases.indexOf('features') === 0 && firstTraining > 0, `features first, then training: ${[...new Set(phases)].join(', ')}`);
    const features = whole.events.filter((e) => e.phase === 'features');
    assert.equal(features.at(-1)!.done, features.at(-1)!.total, 'features done/total reaches the total');
    assert.ok(features.some((e) => e.view !== undefined && e.views === 3), 'views within a clip are reported');
    const training = whole.events.filter((e) => e.phase === 'training');
    assert.ok(training.every((e) => e.epoch! >= 1 && e.step! >= 1 && e.etaMs === null || (e.etaMs! >= 0 && Number.isFinite(e.etaMs!))));
    assert.ok(training.some((e) => e.etaMs !== null), 'an ETA once the rate is measured');
    assert.ok(whole.events.some((e) => e.phase === 'validating') && whole.events.some((e) => e.phase === 'saving'));
    const final = (await whole.t.toStateDict()).get('head.fc.weight')!.data;

    for (const [what, stopWhen] of [
      ['features', (p: TrainingProgress) => p.phase === 'features' && p.done > 1],
      ['training', (p: TrainingProgress) => p.phase === 'training' && p.done >= 3],
    ] as const) {
      const stopped = await run(rec, settings, stopWhen);
      assert.equal(stopped.r.stopped, true, `stopped during ${what}`);
      assert.ok(stopped.r.iteration < whole.r.iteration, `${what}: stopped at iteration ${stopped.r.iteration}`);
      const cp = stopped.checkpoints.at(-1)!;
      assert.equal(cp.iteration, stopped.r.iteration, `${what}: a checkpoint at the stop`);
      const resumed = new ClipTrainer(seededStateDict(18, 400, 5), resolveSettings({ classes: ['a', 'b', 'c'], ...settings }), rec);
      for (const c of CLIPS) resumed.addClip(c);
      resumed.restore(cp);
      const r = await resumed.fit();
      assert.equal(r.iteration, whole.r.iteration);
      const w = (await resumed.toStateDict()).get('head.fc.weight')!.data;
      assert.deepEqual(Array.from(w), Array.from(final), `${what}: the resumed run ends bit-identical`);
      stopped.t.dispose();
      resumed.dispose();
    }
    whole.t.dispose();
  });

  it('head at the defaults converges on ResNet50-sized features where the unadapted LR diverges, and says so', async () => {
    // ‖f‖² ≈ 10⁵: a frozen backbone's pooled features, large and different per class.
    const rec = projectionRecognizer(512, 10);
    const settings = { strategy: 'head' as const, epochs: 30, segments: 3 };
    const adapted = await run(rec, settings);
    const losses = adapted.r.history.map((h) => h.loss);
    console.log(`adapted: ${losses.map((l) => l.toFixed(2)).join(' ')}`);
    assert.ok(losses.at(-1)! < losses[0]!, `last epoch's loss ${losses.at(-1)} below the first's ${losses[0]}`);
    assert.ok(losses.every((l) => l < 2 * losses[0]!), 'never far above where it started');
    assert.ok(!adapted.events.some((e) => e.warning), 'no divergence warning');
    assert.ok(adapted.r.history.at(-1)!.valAccuracy === 1);
    // PP-TSN's LR as is (batch-scaled base, FC ×5/×10): the loss climbs and the progress events warn.
    const plain = await run(rec, { ...settings, adaptLearningRate: false });
    const plainLosses = plain.r.history.map((h) => h.loss);
    console.log(`unadapted: ${plainLosses.map((l) => l.toFixed(2)).join(' ')}`);
    assert.ok(Math.max(...plainLosses) > 3 * plainLosses[0]!, 'the unadapted LR diverges on these features');
    const warned = plain.events.find((e) => e.warning);
    assert.ok(warned && /diverging.*learningRate/.test(warned.warning!), 'a warning in the progress events');
    adapted.t.dispose();
    plain.t.dispose();
  });
});

describe('a WebAssembly trap or an allocation failure while training', () => {
  it('is out-of-memory, saying what to change; other errors pass through', () => {
    const s = { strategy: 'full' as const, segments: 8, microBatchSize: 1 };
    const trap = trainingFailure(new WebAssembly.RuntimeError('table index is out of bounds'), s) as { code?: string; message: string };
    assert.equal(trap.code, 'out-of-memory');
    assert.match(trap.message, /table index is out of bounds.*'last-stage' or 'head'.*load the model again/);
    const oom = trainingFailure(new RangeError('Array buffer allocation failed'), { ...s, strategy: 'last-stage' }) as { code?: string; message: string };
    assert.equal(oom.code, 'out-of-memory');
    assert.match(oom.message, /fewer segments/);
    const other = new Error('something else');
    assert.equal(trainingFailure(other, s), other);
  });
});

describe('PhaseClock', () => {
  it('one ETA from the current phase; validating and saving inside training keep the training clock and its ETA', () => {
    let t = 0;
    const got: TrainingProgress[] = [];
    const clock = new PhaseClock((p) => got.push(p), () => t);
    clock.report({ phase: 'features', done: 0, total: 2 });
    t = 100;
    clock.report({ phase: 'features', done: 1, total: 2 });
    assert.equal(got.at(-1)!.etaMs, 100, 'features: 100 ms a clip, one left');
    t = 200;
    clock.report({ phase: 'training', done: 0, total: 4 });
    assert.equal(got.at(-1)!.etaMs, null, 'a new phase: no rate yet');
    t = 210;
    clock.report({ phase: 'training', done: 1, total: 4 });
    t = 240;
    clock.report({ phase: 'validating', done: 1, total: 2 });
    assert.equal(got.at(-1)!.etaMs, 120, 'validating carries the training ETA, its time counted in the rate (40 ms a step × 3)');
    t = 250;
    clock.report({ phase: 'training', done: 2, total: 4 });
    assert.equal(got.at(-1)!.etaMs, 50, 'back in training: the clock was not restarted (25 ms a step × 2)');
  });
});
