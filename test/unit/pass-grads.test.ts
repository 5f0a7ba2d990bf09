/**
 * The checkpointed training pass (src/core/model/passGrads.ts, issue 26's memory): unit by unit with each unit's
 * forward recomputed, it gives the whole-network `tf.variableGrads` values bit for bit (loss, every trainable
 * variable's gradient, the recorded BN batch statistics), for `full` from the image and `last-stage` from cached
 * res5 inputs, with dropout; it leaves no tensor behind; and the most tensor memory alive at any layer is well below
 * the whole-network pass's (which keeps every activation and gradient until its backward pass ends).
 *
 *   node --import tsx --test test/unit/pass-grads.test.ts
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { registerGradientsNode } from '../helpers/nodeGradients.js';
import { TrainableRecognizer, type TrainableSubset } from '../../src/core/model/trainable.js';
import { labelSmoothedLoss } from '../../src/core/train/labelSmoothing.js';
import { seededInput, seededStateDict } from '../helpers/seeded.js';

before(async () => {
  await registerGradientsNode();
  await initNodeBackend('wasm');
});

async function values(t: tf.Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

for (const [strategy, shape] of [['full', [2, 48, 48, 3]], ['last-stage', [2, 4, 4, 256]]] as [TrainableSubset, [number, number, number, number]][]) {
  test(`${strategy}: passGrads equals tf.variableGrads bit for bit, frees everything, and peaks lower`, async () => {
    const model = TrainableRecognizer.fromStateDict(seededStateDict(18, 3, 17), { trainable: strategy });
    const from = model.trainableFrom;
    const x = tf.tensor4d(seededInput(shape, 23), shape);
    const loss = (logits: tf.Tensor2D) => labelSmoothedLoss(logits, tf.tensor1d([2], 'int32'), 0.1);
    /** Runs one way; returns its values (read back, everything it made freed) and its peak above the start. */
    const run = async (how: 'whole' | 'pass') => {
      const n0 = tf.memory().numTensors;
      const b0 = tf.memory().numBytes;
      let peak = 0;
      const onLayer = () => void (peak = Math.max(peak, tf.memory().numBytes - b0));
      const r = how === 'pass'
        ? model.passGrads(x, 2, loss, { from, seed: 5, onLayer })
        : tf.variableGrads(() => loss(model.logits(x, 2, { training: true, from, seed: 5, onLayer })), model.trainableVariables());
      const stats = model.takeBatchStats();
      const out = { loss: (await values(r.value))[0], grads: new Map<string, number[]>(), stats: new Map<string, number[]>(), peak };
      for (const [n, g] of Object.entries(r.grads)) out.grads.set(n, await values(g));
      for (const [k, st] of stats) out.stats.set(k, [...(await values(st.mean)), ...(await values(st.variance))]);
      tf.dispose([r.value, ...Object.values(r.grads), ...[...stats.values()].flatMap((st) => [st.mean, st.variance])]);
      assert.equal(tf.memory().numTensors, n0, `${how}: nothing left behind`);
      return out;
    };
    const whole = await run('whole');
    const pass = await run('pass');
    assert.equal(pass.loss, whole.loss, 'loss');
    assert.equal(whole.grads.size, model.trainableVariables().length);
    assert.deepEqual([...pass.grads.keys()].sort(), [...whole.grads.keys()].sort(), 'a gradient for every trainable variable');
    for (const [n, g] of whole.grads) assert.deepEqual(pass.grads.get(n), g, `gradient of ${n}`);
    assert.deepEqual([...pass.stats.keys()], [...whole.stats.keys()], 'BN statistics of the same layers');
    for (const [k, st] of whole.stats) assert.deepEqual(pass.stats.get(k), st, `batch mean and variance of ${k}`);
    console.log(`${strategy}: most tensor memory above the start at a layer: ${(whole.peak / 2 ** 20).toFixed(1)} MiB whole, ${(pass.peak / 2 ** 20).toFixed(1)} MiB by units`);
    if (strategy === 'full') assert.ok(pass.peak < 0.6 * whole.peak, `peak ${pass.peak} not well below ${whole.peak}`);
    x.dispose();
    model.dispose();
  });
}
