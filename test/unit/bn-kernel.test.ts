/**
 * Our WebAssembly SIMD kernel for the train-mode BatchNorm (+ ReLU) backward pass
 * (src/core/model/batchNormGradWasm.ts, `PPTSNBatchNormGrad`) against the tfjs ops it replaces in batchNormTrain.ts
 * and a float64 reference of the closed form, on odd m = N·H·W and several C (multiples of 4), with and without the
 * ReLU: dx, dγ, dβ agree within float32 rounding, the kernel runs once a layer, and nothing is left behind. C not a
 * multiple of 4 keeps the ops.
 *
 *   node --import tsx --test test/unit/bn-kernel.test.ts
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { batchNormTrain } from '../../src/core/model/batchNormTrain.js';
import { BATCH_NORM_GRAD_KERNEL, setFusedBatchNormGrad, useFusedBatchNormGrad } from '../../src/core/model/batchNormGradWasm.js';
import { registerGradientsNode } from '../helpers/nodeGradients.js';
import { spyKernels } from '../helpers/kernelSpy.js';
import { seededInput } from '../helpers/seeded.js';
import { bnStatistics, checkAgainstOps, checkOpsKeptOffBlock } from '../helpers/bnKernelCheck.js';

before(async () => {
  await registerGradientsNode();
  await initNodeBackend('wasm');
});

const EPS = 1e-5;

/** [N, H, W, C]: m = 15, 27, 49, 33, 9 (all odd). */
const SHAPES: Array<[number, number, number, number]> = [[1, 3, 5, 4], [3, 3, 3, 12], [1, 7, 7, 64], [3, 1, 11, 8], [1, 3, 3, 256]];

interface Inputs {
  shape: [number, number, number, number];
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  dy: Float32Array;
}

function inputs(shape: [number, number, number, number], seed: number): Inputs {
  const C = shape[3];
  // An offset and a scale per value, so the statistics are not trivially 0 and 1.
  const x = seededInput(shape, seed).map((v) => 3 * v + 0.5);
  return { shape, x, gamma: seededInput([C], seed + 1), beta: seededInput([C], seed + 2), dy: seededInput(shape, seed + 3) };
}

/** dx, dγ, dβ of sum(batchNormTrain(x, γ, β) · dy) on wasm, with the kernel on or off, and the kernel's call count. */
function grads(k: Inputs, relu: boolean, fused: boolean): { out: Float32Array[]; calls: number } {
  setFusedBatchNormGrad(fused);
  const { calls, restore } = spyKernels();
  try {
    const kept: tf.Tensor[] = [];
    const out = tf.tidy(() => {
      const C = k.shape[3];
      const [x, g, b, w] = [tf.tensor4d(k.x, k.shape), tf.tensor1d(k.gamma), tf.tensor1d(k.beta), tf.tensor4d(k.dy, k.shape)];
      const f = (xs: tf.Tensor, gs: tf.Tensor, bs: tf.Tensor) => {
        const r = batchNormTrain(xs as tf.Tensor4D, gs as tf.Tensor1D, bs as tf.Tensor1D, EPS, relu);
        kept.push(r.mean, r.variance);
        return tf.sum(tf.mul(r.y, w));
      };
      const [dx, dg, db] = tf.grads(f)([x, g, b]);
      assert.deepEqual([dg!.shape, db!.shape], [[C], [C]]);
      assert.deepEqual(dx!.shape, k.shape);
      return [dx, dg, db].map((t) => t!.dataSync() as Float32Array);
    });
    tf.dispose(kept);
    return { out, calls: calls.filter((c) => c === BATCH_NORM_GRAD_KERNEL).length };
  } finally {
    restore();
    setFusedBatchNormGrad(true);
  }
}

/** The closed form in float64: dx, dγ, dβ. */
function reference(k: Inputs, relu: boolean): Float64Array[] {
  const C = k.shape[3];
  const m = k.x.length / C;
  const { mean, r } = bnStatistics(k.x, C, EPS);
  const [dGamma, dBeta] = [new Float64Array(C), new Float64Array(C)];
  const xhat = new Float64Array(m * C);
  const g = new Float64Array(m * C);
  for (let i = 0; i < m * C; i++) {
    const c = i % C;
    xhat[i] = (k.x[i]! - mean[c]!) * r[c]!;
    const y = k.gamma[c]! * xhat[i]! + k.beta[c]!;
    g[i] = !relu || y > 0 ? k.dy[i]! : 0;
    dBeta[c]! += g[i]!;
    dGamma[c]! += g[i]! * xhat[i]!;
  }
  const dx = new Float64Array(m * C);
  for (let i = 0; i < m * C; i++) {
    const c = i % C;
    dx[i] = k.gamma[c]! * r[c]! * (g[i]! - dBeta[c]! / m - (xhat[i]! * dGamma[c]!) / m);
  }
  return [dx, dGamma, dBeta];
}

for (const relu of [true, false]) {
  test(`PPTSNBatchNormGrad (${relu ? 'BN + ReLU' : 'BN'}) equals the tfjs ops and a float64 reference within float32 rounding`, () => {
    checkAgainstOps({
      shapes: SHAPES,
      usable: (C) => useFusedBatchNormGrad(C, relu),
      inputs: (shape, i) => inputs(shape, 40 + 10 * i),
      run: (k, fused) => grads(k, relu, fused),
      reference: (k) => reference(k, relu),
      names: ['dx', 'dγ', 'dβ'],
    });
  });
}

test('C not a multiple of 4 keeps the tfjs ops (still right)', () => {
  checkOpsKeptOffBlock({ usable: (C) => useFusedBatchNormGrad(C, true), inputs: (shape, seed) => inputs(shape, seed), run: (k, fused) => grads(k, true, fused), reference: (k) => reference(k, true) });
});
