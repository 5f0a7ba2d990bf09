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
import { bnStatistics, checkAgainstOps, checkOpsKeptOffBlock } from '../helpers/bnKernelCheck.js';

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
  const { mean, variance, r } = bnStatistics(k.x, C, EPS);
  const [xhat, y] = [new Float64Array(m * C), new Float64Array(m * C)];
  for (let i = 0; i < m * C; i++) {
    const c = i % C;
    xhat[i] = (k.x[i]! - mean[c]!) * r[c]!;
    const z = k.gamma[c]! * xhat[i]! + k.beta[c]!;
    y[i] = relu ? Math.max(0, z) : z;
  }
  return [y, mean, variance, xhat, r];
}

for (const relu of [true, false]) {
  test(`PPTSNBatchNormTrain (${relu ? 'BN + ReLU' : 'BN'}) equals the tfjs ops and a float64 reference within float32 rounding`, () => {
    const outs = checkAgainstOps({
      shapes: SHAPES,
      usable: (C) => useFusedBatchNormTrain(C, relu),
      inputs: (shape, i) => inputs(shape, 70 + 10 * i),
      // y, μ, σ² from batchNormTrain; x̂ and r, which the backward pass reads, from the forward alone.
      run: (k, fused) => {
        const l = layer(k, relu, fused);
        return { out: [...l.out, ...saved(k, relu, fused)], calls: l.calls };
      },
      reference: (k) => reference(k, relu),
      names: ['y', 'μ', 'σ²', 'x̂', 'r'],
    });
    if (relu) for (const [y] of outs) assert.ok(y!.some((v) => v === 0) && y!.some((v) => v > 0), 'the ReLU clips some values');
  });
}

test('C not a multiple of 4 keeps the tfjs ops (still right)', () => {
  checkOpsKeptOffBlock({ usable: (C) => useFusedBatchNormTrain(C, true), inputs: (shape, seed) => inputs(shape, seed), run: (k, fused) => layer(k, true, fused), reference: (k) => reference(k, true) });
});
