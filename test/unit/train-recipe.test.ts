/**
 * The fine-tuning recipe, piece by piece, against its formula (docs/contract.md §7): the learning rate at chosen
 * iterations, the label-smoothed and mixup losses, one Nesterov step with L2 and the FC multipliers, the Beta
 * sampler's moments, precise-BN statistics, and head-strategy training on cached features converging on a toy
 * problem.
 *
 *   node --import tsx --test test/unit/train-recipe.test.ts
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { registerGradientsNode } from '../helpers/nodeGradients.js';
import { CustomWarmupCosineDecay, warmupCosineLr } from '../../src/core/train/schedule.js';
import { labelSmoothedLoss } from '../../src/core/train/labelSmoothing.js';
import { mixBatch, mixupAccuracy, mixupLoss, sampleBeta, sampleGamma, type MixupDraw } from '../../src/core/train/mixup.js';
import { PaddleMomentum, paramGroups, type ParamGroup } from '../../src/core/train/optimizer.js';
import { preciseBN } from '../../src/core/train/preciseBn.js';
import { ClipTrainer, resolveSettings, type TrainerCheckpoint, type TrainingClip } from '../../src/core/train/trainer.js';
import { TrainableRecognizer } from '../../src/core/model/trainable.js';
import { mulberry32 } from '../../src/core/random.js';
import type { Recognizer } from '../../src/core/model/recognizer.js';
import type { FramePixels } from '../../src/core/frames/pixels.js';
import { seededInput, seededStateDict } from '../helpers/seeded.js';

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

before(async () => {
  await registerGradientsNode();
  await initNodeBackend('cpu');
});

describe('CustomWarmupCosineDecay', () => {
  it('matches the formula at chosen iterations (PP-TSN K400: 0.005 → 0.01, 10 of 100 epochs)', () => {
    const o = { baseLr: 0.01, warmupStartLr: 0.005, warmupEpochs: 10, maxEpoch: 100 };
    const sched = new CustomWarmupCosineDecay(o, 50);
    const cos = (e: number) => (0.01 * (Math.cos((Math.PI * e) / 100) + 1)) / 2;
    close(sched.lrAt(0), 0.005, 1e-12);
    // iteration 125 → e = 2.5, in the warm-up.
    close(sched.lrAt(125), 0.005 + (2.5 * (cos(10) - 0.005)) / 10, 1e-12);
    close(sched.lrAt(500), cos(10), 1e-12);
    close(sched.lrAt(2777), cos(2777 / 50), 1e-12);
    close(sched.lrAt(5000), 0, 1e-12);
    // Switched off: constant.
    close(warmupCosineLr(37, { ...o, warmupEpochs: 0, cosine: false }), 0.01, 1e-12);
    close(warmupCosineLr(0.5, { ...o, warmupEpochs: 0 }), cos(0.5), 1e-12);
  });

  it('scales the default base LR with the batch: 0.01 for 256 clips a step, linearly below', () => {
    close(resolveSettings({ classes: ['a', 'b'] }).learningRate, 0.01 * 8 / 256, 1e-15);
    close(resolveSettings({ classes: ['a', 'b'], batchSize: 256 }).learningRate, 0.01, 1e-15);
    const r = resolveSettings({ classes: ['a', 'b'], batchSize: 32 });
    close(r.learningRate, 0.00125, 1e-15);
    close(r.warmupStartLr, 0.000625, 1e-15);
    close(resolveSettings({ classes: ['a', 'b'], batchSize: 32, learningRate: 0.1 }).learningRate, 0.1, 1e-15);
  });
});

describe('label smoothing and mixup', () => {
  it('label-smoothed CE equals the hand computation', () => {
    const logits = [[2, 0.5, -1], [0.1, 0.2, 0.3]];
    const labels = [0, 2];
    const eps = 0.1;
    let want = 0;
    logits.forEach((row, i) => {
      const z = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      row.forEach((v, k) => (want += -((k === labels[i] ? 1 - eps : 0) + eps / 3) * (v - z)));
    });
    want /= 2;
    const got = tf.tidy(() => labelSmoothedLoss(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'), eps).dataSync()[0]!);
    close(got, want, 1e-6);
  });

  it('mixup mixes whole clips and mixes the loss and accuracy with λ', () => {
    const draw: MixupDraw = { lambda: 0.7, perm: [1, 0] };
    const x = tf.tensor2d([[1, 1], [2, 2], [10, 10], [20, 20]]); // 2 clips × 2 rows
    const mixed = mixBatch(x, draw, 2);
    assert.deepEqual(Array.from(mixed.dataSync()).map((v) => +v.toFixed(5)), [3.7, 3.7, 7.4, 7.4, 7.3, 7.3, 14.6, 14.6]);
    const logits = tf.tensor2d([[1, 0], [0, 3]]);
    const ce = (l: tf.Tensor1D) => labelSmoothedLoss(logits, l, 0);
    const got = tf.tidy(() => mixupLoss(ce, [0, 1], draw).dataSync()[0]!);
    const ceRow = (row: number[], y: number) => -(row[y]! - Math.log(Math.exp(row[0]!) + Math.exp(row[1]!)));
    const la = (ceRow([1, 0], 0) + ceRow([0, 3], 1)) / 2;
    const lb = (ceRow([1, 0], 1) + ceRow([0, 3], 0)) / 2;
    close(got, 0.7 * la + 0.3 * lb, 1e-6);
    close(mixupAccuracy([0, 1], [0, 1], draw), 0.7, 1e-12);
    tf.dispose([x, mixed, logits]);
  });

  it('Gamma and Beta samplers have the right moments', () => {
    const rng = mulberry32(7);
    const n = 20000;
    let g = 0;
    for (let i = 0; i < n; i++) g += sampleGamma(2.5, rng);
    close(g / n, 2.5, 0.03);
    let m = 0;
    let v = 0;
    const xs: number[] = [];
    for (let i = 0; i < n; i++) xs.push(sampleBeta(0.2, 0.2, rng));
    for (const x of xs) m += x / n;
    for (const x of xs) v += (x - m) ** 2 / n;
    // Beta(α, α): mean 1/2, variance 1/(4(2α + 1)) = 0.1786 for α = 0.2.
    close(m, 0.5, 0.03);
    close(v, 1 / (4 * 1.4), 0.05);
    assert.ok(xs.every((x) => x >= 0 && x <= 1));
  });
});

describe('Paddle Momentum (nesterov) with L2 and LR multipliers', () => {
  it('one step equals the hand computation', async () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const fw = tf.variable(tf.tensor1d([0.5]));
    const fb = tf.variable(tf.tensor1d([0.25]));
    const groups: ParamGroup[] = [
      { key: 'conv', variable: w, lrMult: 1, decay: 1e-4 },
      { key: 'fc.w', variable: fw, lrMult: 5, decay: 1e-4 },
      { key: 'fc.b', variable: fb, lrMult: 10, decay: 0 },
    ];
    const opt = new PaddleMomentum(groups, { momentum: 0.9, nesterov: true });
    const grads = new Map<string, tf.Tensor>([['conv', tf.tensor1d([0.3, 0.1])], ['fc.w', tf.tensor1d([-1])], ['fc.b', tf.tensor1d([2])]]);
    const lr = 0.01;
    const hand = (p: number, g: number, mult: number, decay: number, v0: number) => {
      const gg = g + decay * p;
      const v = 0.9 * v0 + gg;
      return { p: p - lr * mult * (gg + 0.9 * v), v };
    };
    opt.applyGradients(grads, lr);
    let s1 = [hand(1, 0.3, 1, 1e-4, 0), hand(-2, 0.1, 1, 1e-4, 0), hand(0.5, -1, 5, 1e-4, 0), hand(0.25, 2, 10, 0, 0)];
    close(w.dataSync()[0]!, s1[0]!.p, 1e-6);
    close(w.dataSync()[1]!, s1[1]!.p, 1e-6);
    close(fw.dataSync()[0]!, s1[2]!.p, 1e-6);
    close(fb.dataSync()[0]!, s1[3]!.p, 1e-6);
    // A second step uses the velocity.
    opt.applyGradients(grads, lr);
    const s2 = hand(s1[3]!.p, 2, 10, 0, s1[3]!.v);
    close(fb.dataSync()[0]!, s2.p, 1e-6);
    s1 = [];
    const state = await opt.getState();
    assert.equal(state.size, 3);
    opt.dispose();
    tf.dispose([w, fw, fb, ...grads.values()]);
  });

  it('groups: decay on conv and FC weights only, ×5/×10 on the FC', () => {
    const m = TrainableRecognizer.fromStateDict(seededStateDict(18, 3, 1), { trainable: 'last-stage' });
    const g = paramGroups(m.parameters());
    const fcw = g.find((p) => p.key === 'head.fc.weight')!;
    const fcb = g.find((p) => p.key === 'head.fc.bias')!;
    assert.deepEqual([fcw.lrMult, fcw.decay, fcb.lrMult, fcb.decay], [5, 1e-4, 10, 0]);
    for (const p of g.filter((p) => p.key.startsWith('backbone.'))) {
      assert.ok(p.key.startsWith('backbone.bb_3_'), p.key);
      assert.equal(p.decay, p.key.endsWith('_conv.weight') ? 1e-4 : 0, p.key);
      assert.equal(p.lrMult, 1);
    }
    assert.ok(!g.some((p) => /_mean|_variance/.test(p.key)));
    m.dispose();
  });
});

describe('precise BN', () => {
  it('running statistics = the plain average of the per-batch statistics', async () => {
    const m = TrainableRecognizer.fromStateDict(seededStateDict(18, 3, 2), { trainable: 'last-stage' });
    const batch = (k: number) => tf.tidy(() => tf.relu(tf.tensor4d(seededInput([2, 4, 4, 256], 100 + k), [2, 4, 4, 256])) as tf.Tensor4D);
    const K = 3;
    const want = new Map<string, { mean: Float32Array; variance: Float32Array }>();
    for (let k = 0; k < K; k++) {
      const x = batch(k);
      const stats = m.batchStatistics(x, { from: 4 });
      x.dispose();
      for (const [key, s] of stats) {
        const mean = s.mean.dataSync() as Float32Array;
        const variance = s.variance.dataSync() as Float32Array;
        const w = want.get(key) ?? { mean: new Float32Array(mean.length), variance: new Float32Array(mean.length) };
        mean.forEach((v, i) => (w.mean[i]! += v / K));
        variance.forEach((v, i) => (w.variance[i]! += v / K));
        want.set(key, w);
        tf.dispose([s.mean, s.variance]);
      }
    }
    const before = tf.memory().numTensors;
    const used = await preciseBN(m, K, batch, 4);
    assert.equal(used, K);
    assert.equal(tf.memory().numTensors, before);
    const sd = await m.toStateDict();
    assert.ok(want.size >= 4);
    for (const [key, w] of want) {
      const mean = sd.get(`${key}._batch_norm._mean`)!.data;
      const variance = sd.get(`${key}._batch_norm._variance`)!.data;
      for (let i = 0; i < mean.length; i++) {
        close(mean[i]!, w.mean[i]!, 1e-4);
        close(variance[i]!, w.variance[i]!, 1e-4);
      }
    }
    m.dispose();
  });
});

/** A stand-in for the frozen backbone: features are a fixed random projection of each image's mean colour. */
function colourRecognizer(F: number): Recognizer {
  // Scaled so features are O(1), like a real backbone's pooled activations.
  const proj = tf.tidy(() => tf.mul(tf.tensor2d(seededInput([3, F], 9), [3, F]), 0.05) as tf.Tensor2D);
  return {
    runStages(x: tf.Tensor4D) {
      return tf.tidy(() => tf.reshape(tf.relu(tf.matMul(tf.mean(x, [1, 2]) as tf.Tensor2D, proj)), [x.shape[0], 1, 1, F]) as tf.Tensor4D);
    },
  } as unknown as Recognizer;
}

function solidFrames(rgb: [number, number, number], n: number, seed: number): FramePixels[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const data = new Uint8Array(40 * 30 * 3);
    for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, rgb[i % 3]! + Math.round((rng() - 0.5) * 60)));
    return { width: 40, height: 30, channels: 3 as const, data };
  });
}

describe('ClipTrainer, head strategy on cached features', () => {
  it('converges on a toy problem, resumes from a checkpoint, and frees its tensors', async () => {
    const rec = colourRecognizer(512);
    const recTensors = tf.memory().numTensors;
    const colours: [number, number, number][] = [[200, 30, 30], [30, 200, 30], [30, 30, 200]];
    const clips: TrainingClip[] = [];
    colours.forEach((c, label) => {
      for (let i = 0; i < 4; i++) clips.push({ id: `c${label}-${i}`, label, frames: solidFrames(c, 6, label * 10 + i) });
    });
    const settings = { classes: ['red', 'green', 'blue'], strategy: 'head' as const, epochs: 15, batchSize: 4, segments: 2, learningRate: 0.05, views: 2, validationSplit: 0.25, seed: 3 };
    const t = new ClipTrainer(seededStateDict(18, 400, 5), resolveSettings(settings), rec);
    for (const c of clips) t.addClip(c);
    assert.equal(t.split().valid.length, 3);
    const ctrl = new AbortController();
    const checkpoints: TrainerCheckpoint[] = [];
    let steps = 0;
    const stopped = await t.fit({ signal: ctrl.signal, onStep: () => ++steps === 5 && ctrl.abort(), onCheckpoint: (c) => void checkpoints.push(c) });
    assert.equal(stopped.stopped, true);
    assert.equal(stopped.iteration, 5);
    const r = await t.fit({ onCheckpoint: (c) => void checkpoints.push(c) });
    assert.equal(r.stopped, false);
    assert.equal(r.history.length, 15);
    // ⌊9 / 4⌋ = 2 iterations an epoch: the last partial batch is dropped, as PaddleVideo's sampler (recipe.ts).
    assert.equal(r.iteration, 15 * 2);
    assert.ok(r.history.at(-1)!.loss < r.history[0]!.loss, `loss ${r.history[0]!.loss} → ${r.history.at(-1)!.loss}`);
    const ev = await t.evaluate();
    assert.equal(ev.split, 'validation');
    assert.equal(ev.accuracy, 1, JSON.stringify(ev));
    // Resume: a new trainer restored from the mid-run checkpoint ends at the same weights.
    const t2 = new ClipTrainer(seededStateDict(18, 400, 5), resolveSettings(settings), rec);
    for (const c of clips) t2.addClip(c);
    t2.restore(checkpoints.find((c) => c.iteration === 5 && c.stepInEpoch === 1)!);
    assert.equal(t2.progress.iteration, 5);
    await t2.fit();
    const a = (await t.toStateDict()).get('head.fc.weight')!.data;
    const b = (await t2.toStateDict()).get('head.fc.weight')!.data;
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
    assert.ok(d < 1e-5, `resumed run differs by ${d}`);
    t.dispose();
    t2.dispose();
    assert.equal(tf.memory().numTensors, recTensors);
  });
});

describe('ClipTrainer, steps an epoch', () => {
  it('drops the last partial batch (⌊N/B⌋), and clamps the batch to the clips when there are fewer', async () => {
    const rec = colourRecognizer(512);
    const colours: [number, number, number][] = [[200, 30, 30], [30, 200, 30]];
    const clips: TrainingClip[] = [0, 1, 2, 3, 4].map((i) => ({ id: `s${i}`, label: i % 2, frames: solidFrames(colours[i % 2]!, 4, i) }));
    const base = { classes: ['red', 'green'], strategy: 'head' as const, epochs: 2, segments: 1, views: 1, validationSplit: 0, seed: 1 };
    for (const [batchSize, stepsPerEpoch] of [[2, 2], [8, 1], [5, 1]] as const) {
      const t = new ClipTrainer(seededStateDict(18, 400, 5), resolveSettings({ ...base, batchSize }), rec);
      for (const c of clips) t.addClip(c);
      const seen: number[] = [];
      const r = await t.fit({ onStep: (s) => seen.push(s.steps) });
      assert.equal(r.iteration, 2 * stepsPerEpoch, `batch ${batchSize}: ${r.iteration} iterations`);
      assert.ok(seen.every((n) => n === stepsPerEpoch));
      t.dispose();
    }
  });
});
