/**
 * TrainableRecognizer: eval mode equals the inference Recognizer; train mode uses batch statistics and updates
 * the running ones by Paddle's formula (checked against a hand computation); gradients exist and are finite for
 * every trainable subset; precise-BN hooks; state-dict round trip; no tensor leaks.
 *
 *   node --import tsx --test test/unit/training-mode.test.ts
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { registerGradientsNode } from '../helpers/nodeGradients.js';
import { Recognizer } from '../../src/core/model/recognizer.js';
import { TrainableRecognizer, type TrainableSubset } from '../../src/core/model/trainable.js';
import { archSpec, convBNLayers } from '../../src/core/model/arch.js';
import { conv2dTrainable } from '../../src/core/model/convGrad.js';
import { seededInput, seededStateDict } from '../helpers/seeded.js';
import { relErr } from '../helpers/numerics.js';


/** n NHWC images [n, H, W, 3] from the seeded NCHW stream, transposed like predict() does. */
function images(n: number, H: number, W: number, seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(seededInput([n, 3, H, W], seed), [n, 3, H, W]), [0, 2, 3, 1]) as tf.Tensor4D);
}

const crossEntropy = (labels: number[], classes: number) => (logits: tf.Tensor2D): tf.Scalar =>
  tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), logits) as tf.Scalar;

describe('TrainableRecognizer (cpu)', () => {
  before(async () => {
    await registerGradientsNode();
    await initNodeBackend('cpu');
  });

  it("conv2dTrainable's matMul filter gradient equals tfjs's Conv2DBackpropFilter (odd sizes, stride 1 and 2, 1×1)", () => {
    for (const [H, W, K, s, p] of [[9, 7, 3, 2, 1], [8, 8, 3, 1, 1], [7, 6, 1, 1, 0], [11, 10, 3, 2, 1]] as const) {
      tf.tidy(() => {
        const x = tf.tensor4d(seededInput([2, H, W, 3], H), [2, H, W, 3]);
        const f = tf.tensor4d(seededInput([K, K, 3, 5], W), [K, K, 3, 5]);
        const w = tf.randomNormal(tf.conv2d(x, f, s, p).shape, 0, 1, 'float32', 1);
        const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2dTrainable(a as tf.Tensor4D, b as tf.Tensor4D, s, p), w)))([x, f]);
        const theirs = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p), w)))([x, f]);
        for (let i = 0; i < 2; i++) assert.ok(relErr(ours[i]!.dataSync(), theirs[i]!.dataSync()) < 1e-5, `${H}×${W} k${K} s${s} grad ${i}`);
      });
    }
  });

  it('eval mode equals the inference Recognizer (depth 18 and 50, odd sizes)', () => {
    for (const [depth, H, W] of [[18, 37, 33], [50, 32, 35]] as const) {
      const sd = seededStateDict(depth, 5, 1234);
      const inference = Recognizer.fromStateDict(sd);
      const model = TrainableRecognizer.fromStateDict(sd);
      const x = images(4, H, W, 99);
      try {
        const want = tf.tidy(() => inference.head(tf.reshape(inference.features(x), [2, 2, inference.arch.featureDim]) as tf.Tensor3D));
        const n0 = tf.memory().numTensors;
        const got = model.logits(x, 2, { training: false });
        assert.equal(tf.memory().numTensors - n0, 1, 'eval forward leaves only the logits');
        const err = relErr(got.dataSync(), want.dataSync());
        assert.ok(err < 1e-5, `depth ${depth}: eval vs inference ${err}`);
        tf.dispose([want, got]);
      } finally {
        x.dispose();
        inference.dispose();
        model.dispose();
      }
    }
  });

  it('a train-mode forward updates running statistics as 0.9·running + 0.1·batch (biased variance), by hand', async () => {
    const sd = seededStateDict(18, 3, 7);
    const model = TrainableRecognizer.fromStateDict(sd, { trainable: 'full' });
    const [n, H, W] = [2, 32, 32];
    const x = images(n, H, W, 3);
    try {
      // Hand computation of conv1_1 (3→32, 3×3, stride 2, symmetric pad 1) and its per-channel batch moments.
      const img = x.dataSync(); // NHWC
      const w = sd.get('backbone.conv1_1._conv.weight')!.data; // [O, I, kh, kw]
      const Ho = 16;
      const Wo = 16;
      const O = 32;
      const sum = new Float64Array(O);
      const sq = new Float64Array(O);
      const vals: number[][] = Array.from({ length: O }, () => []);
      for (let b = 0; b < n; b++)
        for (let oy = 0; oy < Ho; oy++)
          for (let ox = 0; ox < Wo; ox++)
            for (let o = 0; o < O; o++) {
              let acc = 0;
              for (let ky = 0; ky < 3; ky++)
                for (let kx = 0; kx < 3; kx++) {
                  const iy = oy * 2 - 1 + ky;
                  const ix = ox * 2 - 1 + kx;
                  if (iy < 0 || ix < 0 || iy >= H || ix >= W) continue;
                  for (let c = 0; c < 3; c++) acc += img[((b * H + iy) * W + ix) * 3 + c]! * w[((o * 3 + c) * 3 + ky) * 3 + kx]!;
                }
              vals[o]!.push(acc);
              sum[o]! += acc;
            }
      const m = n * Ho * Wo;
      const batchMean = Array.from(sum, (s) => s / m);
      vals.forEach((v, o) => v.forEach((a) => (sq[o]! += (a - batchMean[o]!) ** 2)));
      const batchVar = Array.from(sq, (s) => s / m); // biased, as Paddle's batch_norm kernel stores
      const oldMean = sd.get('backbone.conv1_1._batch_norm._mean')!.data;
      const oldVar = sd.get('backbone.conv1_1._batch_norm._variance')!.data;

      const n0 = tf.memory().numTensors;
      const logits = model.logits(x, 2, { training: true });
      logits.dispose();
      model.commitBatchStats();
      assert.equal(tf.memory().numTensors, n0, 'train forward + commit leave no tensors');
      const after = (await model.toStateDict());
      const newMean = after.get('backbone.conv1_1._batch_norm._mean')!.data;
      const newVar = after.get('backbone.conv1_1._batch_norm._variance')!.data;
      for (let o = 0; o < O; o++) {
        const em = 0.9 * oldMean[o]! + 0.1 * batchMean[o]!;
        const ev = 0.9 * oldVar[o]! + 0.1 * batchVar[o]!;
        assert.ok(Math.abs(newMean[o]! - em) <= 1e-5 * Math.max(1, Math.abs(em)), `mean[${o}] ${newMean[o]} vs ${em}`);
        assert.ok(Math.abs(newVar[o]! - ev) <= 1e-5 * Math.max(1, Math.abs(ev)), `variance[${o}] ${newVar[o]} vs ${ev}`);
      }
      // Trainable parameters are untouched by a forward; every BN layer's statistics moved.
      assert.deepEqual(after.get('backbone.conv1_1._conv.weight')!.data, sd.get('backbone.conv1_1._conv.weight')!.data);
      for (const l of convBNLayers(model.arch)) {
        assert.notDeepEqual(after.get(`${l.key}._batch_norm._mean`)!.data, sd.get(`${l.key}._batch_norm._mean`)!.data, l.key);
      }
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it("frozen parts stay in eval mode: 'last-stage' updates only bb_3_* statistics; 'head' with dropout 0 trains = evals", async () => {
    const sd = seededStateDict(18, 3, 8);
    const x = images(4, 32, 32, 4);
    const model = TrainableRecognizer.fromStateDict(sd, { trainable: 'last-stage' });
    try {
      model.logits(x, 2, { training: true }).dispose();
      model.commitBatchStats();
      const after = (await model.toStateDict());
      for (const l of convBNLayers(model.arch)) {
        const same = after.get(`${l.key}._batch_norm._variance`)!.data.every((v, i) => v === sd.get(`${l.key}._batch_norm._variance`)!.data[i]);
        assert.equal(same, !l.key.startsWith('backbone.bb_3_'), l.key);
      }
      const headOnly = TrainableRecognizer.fromStateDict(sd, { trainable: 'head', dropout: 0 });
      const a = headOnly.logits(x, 2, { training: true });
      const b = headOnly.logits(x, 2, { training: false });
      assert.ok(relErr(a.dataSync(), b.dataSync()) < 1e-6);
      headOnly.commitBatchStats(); // nothing recorded: no BN is trainable
      assert.deepEqual((await headOnly.toStateDict()).get('backbone.bb_3_1.conv1._batch_norm._mean')!.data, sd.get('backbone.bb_3_1.conv1._batch_norm._mean')!.data);
      // Dropout 0.4 is on in train mode only: seeded masks repeat, and differ from eval.
      const c1 = model.logits(x, 2, { training: true, seed: 5 });
      const c2 = model.logits(x, 2, { training: true, seed: 5 });
      const e = model.logits(x, 2, { training: false });
      model.discardBatchStats();
      assert.deepEqual(c1.dataSync(), c2.dataSync());
      assert.ok(relErr(c1.dataSync(), e.dataSync()) > 1e-3);
      tf.dispose([a, b, c1, c2, e]);
      headOnly.dispose();
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  const expectedCount = (subset: TrainableSubset): number => {
    const layers = convBNLayers(archSpec(18, 3));
    const trained = subset === 'full' ? layers : subset === 'last-stage' ? layers.filter((l) => l.key.startsWith('backbone.bb_3_')) : [];
    return trained.length * 3 + 2; // conv weight, BN scale, BN offset per layer; FC weight and bias
  };

  for (const subset of ['head', 'last-stage', 'full'] as TrainableSubset[]) {
    it(`gradients exist and are finite for the '${subset}' subset; no leaks`, () => {
      const sd = seededStateDict(18, 3, 9);
      const model = TrainableRecognizer.fromStateDict(sd, { trainable: subset });
      const inference = Recognizer.fromStateDict(sd);
      const x = images(4, 32, 32, 6);
      // 'last-stage' trains from the cached input of res5, as the fine-tuning strategy will.
      const from = subset === 'last-stage' ? 4 : subset === 'head' ? 5 : 0;
      const input = from === 0 ? x : inference.runStages(x, 0, from);
      try {
        const vars = model.trainableVariables();
        assert.equal(vars.length, expectedCount(subset));
        const n0 = tf.memory().numTensors;
        const { value, grads } = tf.variableGrads(model.objective(input, 2, crossEntropy([0, 2], 3), { from }), vars);
        model.commitBatchStats();
        const names = Object.keys(grads);
        assert.equal(names.length, vars.length, 'one gradient per trainable variable');
        for (const v of vars) {
          const g = grads[v.name]!;
          assert.deepEqual(g.shape, v.shape);
          const d = g.dataSync();
          assert.ok(d.every(Number.isFinite), `finite gradient for ${v.name}`);
        }
        assert.ok(Number.isFinite(value.dataSync()[0]!));
        const fcGrad = grads[vars[vars.length - 2]!.name]!.dataSync();
        assert.ok(fcGrad.some((g) => g !== 0), 'the FC weight gets a non-zero gradient');
        tf.dispose([value, ...Object.values(grads)]);
        assert.equal(tf.memory().numTensors, n0, 'gradient step leaves no tensors');
      } finally {
        if (input !== x) input.dispose();
        x.dispose();
        inference.dispose();
        model.dispose();
      }
    });
  }

  it('trainStep updates the trainable variables only; precise-BN hooks; toStateDict/toRecognizer round trip', async () => {
    const sd = seededStateDict(18, 3, 10);
    const x = images(4, 32, 32, 7);
    const model = TrainableRecognizer.fromStateDict(sd, { trainable: 'last-stage' });
    const fresh = TrainableRecognizer.fromStateDict(sd);
    const opt = tf.train.sgd(0.05);
    try {
      // Round trip of an untouched model is bit-exact, and its Recognizer matches the inference one.
      const rt = (await fresh.toStateDict());
      for (const [k, v] of sd) assert.deepEqual(rt.get(k)!.data, v.data, k);

      const n0 = tf.memory().numTensors;
      // One step: the objective's gradients applied by an optimiser, then the running statistics committed.
      const loss = opt.minimize(model.objective(x, 2, crossEntropy([1, 2], 3)), true, model.trainableVariables())!;
      model.commitBatchStats();
      assert.ok(Number.isFinite(loss.dataSync()[0]!));
      loss.dispose();
      assert.equal(tf.memory().numTensors, n0, 'a step leaves no tensors (SGD keeps no slots)');
      const after = (await model.toStateDict());
      const changed = (k: string) => after.get(k)!.data.some((v, i) => v !== sd.get(k)!.data[i]);
      assert.ok(changed('head.fc.weight'));
      assert.ok(changed('backbone.bb_3_1.conv1._conv.weight'));
      assert.ok(changed('backbone.bb_3_0.short._batch_norm._mean'));
      assert.ok(!changed('backbone.bb_2_1.conv1._conv.weight'));
      assert.ok(!changed('backbone.bb_2_1.conv1._batch_norm._mean'));

      // Precise BN: batchStatistics = what momentum 0 would store; setRunningStats writes it.
      const stats = model.batchStatistics(x);
      assert.deepEqual([...stats.keys()], convBNLayers(model.arch).filter((l) => l.key.startsWith('backbone.bb_3_')).map((l) => l.key));
      const zero = TrainableRecognizer.fromStateDict((await model.toStateDict()), { trainable: 'last-stage', momentum: 0 });
      zero.logits(x, 2, { training: true }).dispose();
      zero.commitBatchStats();
      model.setRunningStats(stats);
      for (const s of stats.values()) tf.dispose([s.mean, s.variance]);
      const a = (await model.toStateDict());
      const b = (await zero.toStateDict());
      for (const k of a.keys()) if (k.includes('._batch_norm._')) assert.ok(relErr(a.get(k)!.data, b.get(k)!.data) < 1e-6, k);
      zero.dispose();

      const rec = (await model.toRecognizer());
      const want = model.logits(x, 2, { training: false });
      const got = tf.tidy(() => rec.head(tf.reshape(rec.features(x), [2, 2, 512]) as tf.Tensor3D));
      assert.ok(relErr(got.dataSync(), want.dataSync()) < 1e-5);
      tf.dispose([want, got]);
      rec.dispose();
    } finally {
      opt.dispose();
      x.dispose();
      model.dispose();
      fresh.dispose();
    }
  });
});

describe('TrainableRecognizer (wasm)', () => {
  before(async () => {
    await registerGradientsNode();
    await initNodeBackend('wasm');
  });

  it("'full' subset gradients on wasm (filter gradients by matMul: wasm has no Conv2DBackpropFilter); eval = inference", () => {
    const sd = seededStateDict(18, 3, 11);
    const model = TrainableRecognizer.fromStateDict(sd, { trainable: 'full' });
    const inference = Recognizer.fromStateDict(sd);
    const x = images(2, 32, 32, 8);
    try {
      // Eval mode on wasm equals the inference Recognizer too (before any step changes the parameters).
      const want = tf.tidy(() => inference.head(tf.reshape(inference.features(x), [1, 2, 512]) as tf.Tensor3D));
      const got = model.logits(x, 2, { training: false });
      const err = relErr(got.dataSync(), want.dataSync());
      tf.dispose([want, got]);
      assert.ok(err < 1e-5, `eval vs inference ${err}`);

      const n0 = tf.memory().numTensors;
      const vars = model.trainableVariables();
      const { value, grads } = tf.variableGrads(model.objective(x, 2, crossEntropy([1], 3)), vars);
      model.commitBatchStats();
      assert.equal(Object.keys(grads).length, vars.length);
      for (const g of Object.values(grads)) assert.ok(g.dataSync().every(Number.isFinite));
      tf.dispose([value, ...Object.values(grads)]);
      assert.equal(tf.memory().numTensors, n0);
    } finally {
      x.dispose();
      inference.dispose();
      model.dispose();
    }
  });
});
