/**
 * Our WebAssembly SIMD kernel for the train-mode BatchNorm (+ ReLU) forward pass
 * (src/core/model/batchNormForwardWasm.ts, `PPTSNBatchNormTrain`) against the tfjs ops it replaces in
 * batchNormTrain.ts (the switch off) and a float64 closed form, on odd m = N·H·W and C = 4, 8, 64, with and without
 * the ReLU, inputs with a large per-channel mean and scale: y, x̂, μ, σ², r agree within float32 rounding, the kernel
 * runs once a layer, and nothing is left behind. C not a multiple of 4 keeps the ops.
 *
 *   node --import tsx --test test/unit/bn-forward-kernel.test.ts
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { batchNormForwardOps, batchNormTrain } from '../../src/core/model/batchNormTrain.js';
import { BATCH_NORM_TRAIN_KERNEL, fusedBatchNormTrain, setFusedBatchNormTrain, useFusedBatchNormTrain } from '../../src/core/model/batchNormForwardWasm.js';
import { spyKernels } from '../helpers/kernelSpy.js';
import { seededInput } from '../helpers/seeded.js';
import { relErr } from '../helpers/numerics.js';

before(async () => {
  await initNodeBackend('wasm');
});

const EPS = 1e-5;

/** [N, H, W, C]: m = 9, 25, 49, 75 (all odd). */
const SHAPES: Array<[number, number, number, number]> = [[1, 3, 3, 4], [1, 5, 5, 8], [1, 7, 7, 64], [3, 5, 5, 8]];

interface Inputs {
  shape: [number, number, number, number];
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
}

function inputs(shape: [number, number, number, number], seed: number): Inputs {
  const C = shape[3];
  // A mean of 10–34 and a scale of 0.5–2.1 that differ from channel to channel: a one-pass variance loses digits,
  // and a wrong channel offset reads another channel's statistics.
  const x = seededInput(shape, seed).map((v, i) => (0.5 + 0.4 * ((i % C) % 5)) * v + 10 + 4 * ((i % C) % 7));
  // γ in [0, 2), β in [−1, 1): the ReLU clips some values of every layer, not all.
  return { shape, x, gamma: seededInput([C], seed + 1).map((v) => 1 + v / 2), beta: seededInput([C], seed + 2).map((v) => v / 2) };
}

/** y, μ, σ² of batchNormTrain on wasm with the kernel on or off, and the kernel's call count. */
function layer(k: Inputs, relu: boolean, fused: boolean): { out: Float32Array[]; calls: number } {
  setFusedBatchNormTrain(fused);
  const { calls, restore } = spyKernels();
  try {
    const out = tf.tidy(() => {
      const r = batchNormTrain(tf.tensor4d(k.x, k.shape), tf.tensor1d(k.gamma), tf.tensor1d(k.beta), EPS, relu);
      assert.deepEqual([r.y.shape, r.mean.shape, r.variance.shape], [k.shape, [k.shape[3]], [k.shape[3]]]);
      const data = [r.y, r.mean, r.variance].map((t) => t.dataSync() as Float32Array);
      tf.dispose([r.mean, r.variance]); // kept by batchNormTrain for the caller
      return data;
    });
    return { out, calls: calls.filter((c) => c === BATCH_NORM_TRAIN_KERNEL).length };
  } finally {
    restore();
    setFusedBatchNormTrain(true);
  }
}

/** x̂ `[m, C]` and r `[1, C]` of the kernel (fused) or the ops. */
function saved(k: Inputs, relu: boolean, fused: boolean): Float32Array[] {
  return tf.tidy(() => {
    const f = (fused ? fusedBatchNormTrain : batchNormForwardOps)(tf.tensor4d(k.x, k.shape), tf.tensor1d(k.gamma), tf.tensor1d(k.beta), EPS, relu);
    const C = k.shape[3];
    assert.deepEqual([f.xhat.shape, f.r.shape], [[k.x.length / C, C], [1, C]]);
    return [f.xhat, f.r].map((t) => t.dataSync() as Float32Array);
  });
}

/** The closed form in float64: y, μ, σ² (biased), x̂, r. */
function reference(k: Inputs, relu: boolean): Float64Array[] {
  const C = k.shape[3];
  const m = k.x.length / C;
  const [mean, variance] = [new Float64Array(C), new Float64Array(C)];
  for (let i = 0; i < m * C; i++) mean[i % C]! += k.x[i]! / m;
  for (let i = 0; i < m * C; i++) variance[i % C]! += (k.x[i]! - mean[i % C]!) ** 2 / m;
  const r = variance.map((v) => 1 / Math.sqrt(v + EPS));
  const [xhat, y] = [new Float64Array(m * C), new Float64Array(m * C)];
  for (let i = 0; i < m * C; i++) {
    const c = i % C;
    xhat[i] = (k.x[i]! - mean[c]!) * r[c]!;
    const z = k.gamma[c]! * xhat[i]! + k.beta[c]!;
    y[i] = relu ? Math.max(0, z) : z;
  }
  return [y, mean, variance, xhat, r];
}

function agree(label: string, ours: ArrayLike<number>, ops: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.ok(relErr(ours, ops) < 1e-5, `${label}: kernel vs ops, relative error ${relErr(ours, ops)}`);
  assert.ok(relErr(ours, want) < 1e-5, `${label}: kernel vs float64, relative error ${relErr(ours, want)}`);
  assert.ok(relErr(ops, want) < 1e-5, `${label}: ops vs float64, relative error ${relErr(ops, want)}`);
}

for (const relu of [true, false]) {
  test(`PPTSNBatchNormTrain (${relu ? 'BN + ReLU' : 'BN'}) equals the tfjs ops and a float64 reference within float32 rounding`, () => {
    assert.equal(tf.getBackend(), 'wasm');
    const before = tf.memory().numTensors;
    SHAPES.forEach((shape, i) => {
      assert.ok(useFusedBatchNormTrain(shape[3], relu), `C = ${shape[3]}: the kernel runs on this wasm backend (SIMD)`);
      const k = inputs(shape, 70 + 10 * i);
      const ops = layer(k, relu, false);
      const ours = layer(k, relu, true);
      assert.equal(ops.calls, 0, 'the ops path does not call the kernel');
      assert.equal(ours.calls, 1, 'one kernel call for the layer');
      const want = reference(k, relu);
      ['y', 'μ', 'σ²'].forEach((name, j) => agree(`${shape.join('×')} ${name}`, ours.out[j]!, ops.out[j]!, want[j]!));
      const [oursSaved, opsSaved] = [saved(k, relu, true), saved(k, relu, false)];
      ['x̂', 'r'].forEach((name, j) => agree(`${shape.join('×')} ${name}`, oursSaved[j]!, opsSaved[j]!, want[3 + j]!));
      if (relu) assert.ok(ours.out[0]!.some((v) => v === 0) && ours.out[0]!.some((v) => v > 0), 'the ReLU clips some values');
    });
    assert.equal(tf.memory().numTensors, before, 'nothing left behind');
  });
}

test('C not a multiple of 4 keeps the tfjs ops (still right)', () => {
  assert.equal(useFusedBatchNormTrain(6, true), false);
  const k = inputs([1, 3, 5, 6], 7);
  const ours = layer(k, true, true);
  assert.equal(ours.calls, 0);
  const want = reference(k, true);
  ours.out.forEach((o, j) => assert.ok(relErr(o, want[j]!) < 1e-5, `output ${j}: relative error ${relErr(o, want[j]!)}`));
});
