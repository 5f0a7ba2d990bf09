/**
 * The CLI trainer's pass on onnxruntime-node (src/node/train/ortPass.ts + src/node/onnx/trainGraph.ts, issue 23)
 * against tfjs's `passGrads` on wasm, both ways it runs (forward and backward graphs with the head on tfjs, and one
 * graph with the head and the cross entropy in it, `passCrossEntropy`): the loss, the logits, every trainable
 * variable's gradient and the recorded BN batch
 * statistics agree within float32 rounding, for `full` from the image (ResNet18: stem, max pool, strided and
 * vd-pooled shortcuts on odd sizes) and `last-stage` from cached res5 inputs (ResNet18 and the bottleneck blocks of
 * ResNet50), with dropout; and it leaves no tensor behind. (ResNet50 `full` on seeded weights is left out: its train-
 * mode BN on 2×2 maps amplifies float32 rounding layer by layer, from 4e-7 in the stem's batch statistics to 1e-4 at
 * res5, too much for a fixed tolerance to say anything.) The odd-size case is also what found tfjs's AvgPoolGrad
 * dividing by the full window at the edge (resnetVd.ts `vdAvgPoolTrainable`).
 *
 *   node --import tsx --test test/unit/ort-train-pass.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { loadOrt } from '../../src/node/runtime.js';
import { OrtPassEngine } from '../../src/node/train/ortPass.js';
import { registerGradientsNode } from '../helpers/nodeGradients.js';
import { TrainableRecognizer, type TrainableSubset } from '../../src/core/model/trainable.js';
import type { Depth } from '../../src/core/model/arch.js';
import { labelSmoothedLoss, smoothedTargets } from '../../src/core/train/labelSmoothing.js';
import { PaddleMomentum, paramGroups } from '../../src/core/train/optimizer.js';
import { optimisationStep } from '../../src/core/train/step.js';
import { seededInput, seededStateDict } from '../helpers/seeded.js';

let engine: OrtPassEngine;
/** Every convolution in the graphs' `conv` form (convGraph.ts), which the default takes only on large maps. */
let convEngine: OrtPassEngine;

before(async () => {
  await registerGradientsNode();
  await initNodeBackend('wasm');
  const ort = await loadOrt();
  assert.ok(typeof ort !== 'string', `onnxruntime-node must load for this test: ${String(ort)}`);
  engine = new OrtPassEngine(ort, { threads: 2 });
  convEngine = new OrtPassEngine(ort, { threads: 2, matmulFormUpTo: 0 });
});

after(async () => {
  await Promise.all([engine.dispose(), convEngine.dispose()]);
});

interface Values {
  loss: number;
  grads: Map<string, Float32Array>;
  stats: Map<string, Float32Array>;
}

/** Reads and frees what a pass returned and recorded. */
async function take(model: TrainableRecognizer, r: { value: tf.Scalar; grads: tf.NamedTensorMap }): Promise<Values> {
  const stats = model.takeBatchStats();
  const out: Values = { loss: (await r.value.data())[0]!, grads: new Map(), stats: new Map() };
  for (const [n, g] of Object.entries(r.grads)) out.grads.set(n, (await g.data()) as Float32Array);
  for (const [k, st] of stats) out.stats.set(k, Float32Array.from([...(await st.mean.data()), ...(await st.variance.data())]));
  tf.dispose([r.value, ...Object.values(r.grads), ...[...stats.values()].flatMap((st) => [st.mean, st.variance])]);
  return out;
}

/** max |a − b| / max(max |b|, tiny): float32 rounding of two orders of summation stays ~1e-5 here. */
function relErr(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  let m = 1e-12;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

// The default engine takes the `matmul` form for every stride-1 conv at these sizes; `conv`: none.
const CASES: [Depth, TrainableSubset, [number, number, number, number], ('conv' | 'default')?][] = [
  [18, 'full', [2, 37, 35, 3]],
  [18, 'full', [2, 37, 35, 3], 'conv'],
  [18, 'last-stage', [2, 5, 3, 256]],
  [50, 'last-stage', [2, 7, 5, 1024]],
];

for (const [depth, strategy, shape, forms = 'default'] of CASES) {
  test(`ResNet${depth} ${strategy} ${shape.join('×')} (${forms === 'conv' ? 'every conv in the conv form' : 'default forms'}): onnxruntime's pass equals tfjs's within float32 rounding`, async () => {
    const pass = forms === 'conv' ? convEngine : engine;
    const model = TrainableRecognizer.fromStateDict(seededStateDict(depth, 3, 17), { trainable: strategy });
    const from = model.trainableFrom;
    const x = tf.tensor4d(seededInput(shape, 23), shape);
    const loss = (logits: tf.Tensor2D) => labelSmoothedLoss(logits, tf.tensor1d([2], 'int32'), 0.1);
    const n0 = tf.memory().numTensors;
    const ref = await take(model, model.passGrads(x, 2, loss, { from, seed: 5 }));
    const ort = await take(model, await pass.passGrads(model, x, 2, loss, { from, seed: 5 }));
    // The fused graph (head and cross entropy on onnxruntime too): the same loss against the smoothed targets.
    const targets = tf.tidy(() => smoothedTargets(tf.tensor1d([2], 'int32'), 3, 0.1));
    const refLogits = tf.tidy(() => model.logits(x, 2, { training: true, from, seed: 5 }));
    model.discardBatchStats();
    const fused = (await pass.passCrossEntropy(model, x, 2, targets, { from, seed: 5 }))!;
    const logitsErr = relErr((await fused.logits.data()) as Float32Array, (await refLogits.data()) as Float32Array);
    tf.dispose([targets, fused.logits, refLogits]);
    const one = await take(model, fused);
    assert.equal(tf.memory().numTensors, n0, 'nothing left behind');
    assert.ok(logitsErr < 1e-5, `fused logits: relative error ${logitsErr}`);
    let worst = 0;
    for (const [how, got] of [['two graphs', ort], ['one graph', one]] as const) {
      assert.ok(Math.abs(got.loss - ref.loss) <= 1e-5 * Math.max(1, Math.abs(ref.loss)), `${how}: loss ${got.loss} vs ${ref.loss}`);
      assert.deepEqual([...got.grads.keys()].sort(), [...ref.grads.keys()].sort(), `${how}: a gradient for every trainable variable`);
      for (const [n, g] of ref.grads) {
        const e = relErr(got.grads.get(n)!, g);
        worst = Math.max(worst, e);
        assert.ok(e < 2e-4, `${how}: gradient ${n}: relative error ${e.toExponential(2)}`);
      }
      assert.deepEqual([...got.stats.keys()].sort(), [...ref.stats.keys()].sort(), `${how}: BN statistics of the same layers`);
      for (const [k, st] of ref.stats) assert.ok(relErr(got.stats.get(k)!, st) < 1e-5, `${how}: batch statistics of ${k}`);
    }
    console.log(`ResNet${depth} ${strategy} (${forms} forms): ${ref.grads.size} gradients, worst relative error ${worst.toExponential(2)}`);
    x.dispose();
    model.dispose();
  });
}

test("the same parameters through two input sizes whose convs take different forms: the OIHW filters the second needs are fed", async (t) => {
  const ort = await loadOrt();
  assert.ok(typeof ort !== 'string');
  // res5's outputs: 2×2 (4 positions, `matmul` form up to 4) and then 3×3 (`conv` form).
  const small = new OrtPassEngine(ort, { threads: 2, matmulFormUpTo: 4 });
  t.after(() => small.dispose());
  const model = TrainableRecognizer.fromStateDict(seededStateDict(18, 3, 17), { trainable: 'last-stage' });
  const loss = (logits: tf.Tensor2D) => labelSmoothedLoss(logits, tf.tensor1d([2], 'int32'), 0.1);
  try {
    for (const shape of [[2, 3, 3, 256], [2, 5, 5, 256]] as [number, number, number, number][]) {
      const x = tf.tensor4d(seededInput(shape, 29), shape);
      const ref = await take(model, model.passGrads(x, 2, loss, { from: 4, seed: 5 }));
      const got = await take(model, await small.passGrads(model, x, 2, loss, { from: 4, seed: 5 }));
      for (const [n, g] of ref.grads) assert.ok(relErr(got.grads.get(n)!, g) < 2e-4, `${shape.join('×')}: gradient ${n}`);
      x.dispose();
    }
  } finally {
    model.dispose();
  }
});

test('100 optimisation steps on onnxruntime leave no tensor behind, one graph and two, with micro-batches and mixup', async () => {
  const model = TrainableRecognizer.fromStateDict(seededStateDict(18, 3, 17), { trainable: 'last-stage' });
  const optimizer = new PaddleMomentum(paramGroups(model.parameters()));
  const shape: [number, number, number, number] = [4, 3, 3, 256];
  let n0 = 0;
  const losses: number[] = [];
  for (let i = 0; i <= 100; i++) {
    // Counted after step 0, which creates the optimiser's velocities (one variable a trainable parameter).
    if (i === 1) n0 = tf.memory().numTensors;
    // Even steps: the one-graph cross entropy; odd: a custom loss, which takes the forward and backward graphs.
    const custom = i % 2 === 1 ? { loss: (logits: tf.Tensor2D, rows: number[]) => ({ total: labelSmoothedLoss(logits, tf.tensor1d(rows.map((r) => r % 3), 'int32'), 0.1) }) } : {};
    const x = tf.tensor4d(seededInput(shape, 100 + i), shape);
    const draw = i % 3 === 0 ? { lambda: 0.7, perm: [1, 0, 3, 2] } : null;
    const r = await optimisationStep({ model, optimizer, segments: 1, labelSmoothing: 0.1, microBatch: 2, from: 4, dropoutSeed: (m0) => i * 10 + m0, engine, ...custom }, x, [0, 1, 2, 0], draw, 0.01);
    losses.push(r.loss);
  }
  assert.equal(tf.memory().numTensors, n0, 'no tensor left by 100 steps');
  assert.ok(losses.every(Number.isFinite), 'finite losses');
  optimizer.dispose();
  model.dispose();
});
