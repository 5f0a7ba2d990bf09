/**
 * Our WebAssembly SIMD pooling gradients (src/core/model/poolGradWasm.ts) against tfjs-backend-wasm's MaxPoolGrad and
 * today's vd AvgPool gradient, bit for bit, on odd and even sizes, 1–2 images, 4–64 channels: the stem max pool's
 * ties (constant regions: the last pixel of the window's scan wins, as tfjs wasm) and its padded edges (padding
 * never wins, also over negative values: a float64 reference), the vd pool's odd last row and column (1/count);
 * the kernels run where they should, tfjs's where not; nothing left behind; a small ResNet18's training gradients
 * equal with the kernels on and off.
 *
 *   node --import tsx --test test/unit/pool-grad-kernel.test.ts
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { AVG_POOL_GRAD_KERNEL, MAX_POOL_GRAD_KERNEL, setFastPoolGrad, useFastPoolGrad } from '../../src/core/model/poolGradWasm.js';
import { stemMaxPool, vdAvgPoolTrainable } from '../../src/core/model/resnetVd.js';
import { TrainableRecognizer } from '../../src/core/model/trainable.js';
import { registerGradientsNode } from '../helpers/nodeGradients.js';
import { spyKernels } from '../helpers/kernelSpy.js';
import { seededInput, seededStateDict } from '../helpers/seeded.js';

before(async () => {
  await registerGradientsNode();
  await initNodeBackend('wasm');
});

/** [N, H, W, C]: H and W odd and even, down to one pixel. */
const SHAPES: Array<[number, number, number, number]> = [[1, 5, 5, 4], [2, 8, 7, 8], [1, 7, 8, 4], [2, 9, 10, 64], [1, 1, 1, 4], [1, 2, 3, 8], [2, 4, 4, 4]];

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** dx of sum(pool(x) · w) with the kernels on or off, and the kernels that ran. */
function poolGrad(pool: (x: tf.Tensor4D) => tf.Tensor4D, x: Float32Array, w: Float32Array | ((shape: number[]) => Float32Array), shape: number[], fast: boolean): { dx: Float32Array; calls: string[] } {
  setFastPoolGrad(fast);
  const spy = spyKernels();
  try {
    const dx = tf.tidy(() => {
      const xs = tf.tensor4d(x, shape as [number, number, number, number]);
      const f = (a: tf.Tensor) => {
        const y = pool(a as tf.Tensor4D);
        return tf.sum(tf.mul(y, tf.tensor(typeof w === 'function' ? w(y.shape) : w, y.shape)));
      };
      return tf.grad(f)(xs).dataSync() as Float32Array;
    });
    return { dx, calls: spy.calls };
  } finally {
    spy.restore();
    setFastPoolGrad(true);
  }
}

/** Positive values with many ties: constant 2×2 patches of 1–4 (every window's max > 0, as tfjs's scan needs). */
function tiedInput(shape: number[], seed: number): Float32Array {
  const [N, H, W, C] = shape as [number, number, number, number];
  const u = seededInput([N, H, W, C], seed);
  const out = new Float32Array(u.length);
  for (let b = 0; b < N; b++) for (let h = 0; h < H; h++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
    const src = ((b * H + (h & ~1)) * W + (x & ~1)) * C + c;
    out[((b * H + h) * W + x) * C + c] = 1 + Math.floor((u[src]! + 2) % 4);
  }
  return out;
}

/**
 * The stem pool's gradient: per window, the last pixel of the row-major scan holding the max wins (padding is not
 * scanned); the windows added into dx in dy's row-major order, in float32.
 */
function maxPoolGradReference(x: Float32Array, dy: Float32Array, [N, H, W, C]: number[]): Float32Array {
  const [Ho, Wo] = [Math.floor((H! - 1) / 2) + 1, Math.floor((W! - 1) / 2) + 1];
  const dx = new Float32Array(x.length);
  const at = (b: number, h: number, w: number, c: number) => ((b * H! + h) * W! + w) * C! + c;
  for (let b = 0; b < N!; b++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) for (let c = 0; c < C!; c++) {
    let [best, pos] = [-Infinity, -1];
    for (let h = Math.max(2 * i - 1, 0); h < Math.min(2 * i + 2, H!); h++) for (let w = Math.max(2 * j - 1, 0); w < Math.min(2 * j + 2, W!); w++) {
      if (x[at(b, h, w, c)]! >= best) [best, pos] = [x[at(b, h, w, c)]!, at(b, h, w, c)];
    }
    dx[pos] += dy[((b * Ho + i) * Wo + j) * C! + c]!;
  }
  return dx;
}

test('PPTSNMaxPoolGrad equals tfjs-backend-wasm MaxPoolGrad bit for bit, ties included (the later pixel wins)', () => {
  for (const [i, shape] of SHAPES.entries()) {
    for (const [kind, x] of [['ties', tiedInput(shape, i + 1)], ['random', seededInput(shape, i + 1).map((v) => v + 2.5)]] as const) {
      const w = (s: number[]) => seededInput(s, i + 50);
      const ops = poolGrad(stemMaxPool, x, w, shape, false);
      const ours = poolGrad(stemMaxPool, x, w, shape, true);
      assert.deepEqual(bits(ours.dx), bits(ops.dx), `${shape} ${kind}`);
      assert.ok(ours.calls.includes(MAX_POOL_GRAD_KERNEL) && !ours.calls.includes('MaxPoolGrad'), `${shape}: ${ours.calls.join(', ')}`);
      assert.ok(ops.calls.includes('MaxPoolGrad') && !ops.calls.includes(MAX_POOL_GRAD_KERNEL), `${shape} off: ${ops.calls.join(', ')}`);
      if (kind === 'ties') {
        // The winner matters here: the reference (last max wins) agrees, the first max's would not.
        const dy = w([shape[0], Math.floor((shape[1] - 1) / 2) + 1, Math.floor((shape[2] - 1) / 2) + 1, shape[3]]);
        assert.deepEqual(Array.from(ours.dx), Array.from(maxPoolGradReference(x, dy, shape)), `${shape}: reference`);
      }
    }
  }
});

test('padding never wins: all-negative inputs and constant −1 regions against the reference', () => {
  for (const [i, shape] of SHAPES.entries()) {
    const x = tiedInput(shape, i + 7).map((v) => -v); // −1 … −4 in 2×2 patches: padding as 0 would win everywhere
    const w = (s: number[]) => seededInput(s, i + 70);
    const ours = poolGrad(stemMaxPool, x, w, shape, true);
    const dy = w([shape[0], Math.floor((shape[1] - 1) / 2) + 1, Math.floor((shape[2] - 1) / 2) + 1, shape[3]]);
    assert.deepEqual(Array.from(ours.dx), Array.from(maxPoolGradReference(x, dy, shape)), `${shape}`);
  }
});

test('after a ReLU (the stem: all-zero windows, where tfjs drops the gradient and we keep it) the input gradient is tfjs\'s (±0 aside)', () => {
  for (const [i, shape] of SHAPES.entries()) {
    // Half the pre-activations negative, and whole negative patches: many windows all zero after the ReLU.
    const a = tiedInput(shape, i + 11).map((v, k) => (v <= 2 ? -v : v + (k % 7) / 8));
    const w = (s: number[]) => seededInput(s, i + 90);
    const pool = (t: tf.Tensor4D) => stemMaxPool(tf.relu(t));
    const ops = poolGrad(pool, a, w, shape, false);
    const ours = poolGrad(pool, a, w, shape, true);
    // The pool's gradient differs at the zeros (ours dy, tfjs's 0); the ReLU's dy·step(a) makes both 0 (−0 for a
    // negative dy of ours); the BN + ReLU backward of training masks with a bitwise and: +0 (the last test).
    assert.ok(Array.from(ours.dx).some((v, k) => Object.is(v, -0) && a[k]! <= 0), `${shape}: an all-zero window`);
    assert.deepEqual(Array.from(ours.dx, (v) => v + 0), Array.from(ops.dx, (v) => v + 0), `${shape}`);
  }
});

test('PPTSNAvgPoolGrad equals today\'s vd AvgPool gradient bit for bit (1/count at an odd last row and column)', () => {
  for (const [i, shape] of SHAPES.entries()) {
    const x = seededInput(shape, i + 3);
    const w = (s: number[]) => seededInput(s, i + 30).map((v) => 1000 * v);
    const ops = poolGrad(vdAvgPoolTrainable, x, w, shape, false);
    const ours = poolGrad(vdAvgPoolTrainable, x, w, shape, true);
    assert.deepEqual(bits(ours.dx), bits(ops.dx), `${shape}`);
    assert.ok(ours.calls.includes(AVG_POOL_GRAD_KERNEL) && !ours.calls.includes('AvgPoolGrad'), `${shape}: ${ours.calls.join(', ')}`);
    assert.ok(ops.calls.includes('AvgPoolGrad') && !ops.calls.includes(AVG_POOL_GRAD_KERNEL), `${shape} off`);
    // The exclusive count itself: the last pixel gets dy/count of its window.
    const [N, H, W, C] = shape;
    const dy = w([N, Math.ceil(H / 2), Math.ceil(W / 2), C]);
    const last = ours.dx.length - 1;
    assert.equal(ours.dx[last], Math.fround(dy[dy.length - 1]! / ((2 - (H % 2)) * (2 - (W % 2)))), `${shape}: last pixel`);
  }
});

test('C not a multiple of 4 keeps tfjs\'s gradients; no tensor is left behind', () => {
  assert.equal(useFastPoolGrad(6), false);
  assert.equal(useFastPoolGrad(64), true);
  const shape = [1, 5, 6, 6];
  const x = seededInput(shape, 5);
  const mx = poolGrad(stemMaxPool, x, (s) => seededInput(s, 6), shape, true);
  const av = poolGrad(vdAvgPoolTrainable, x, (s) => seededInput(s, 6), shape, true);
  assert.ok(mx.calls.includes('MaxPoolGrad') && av.calls.includes('AvgPoolGrad'));
  assert.ok(!mx.calls.includes(MAX_POOL_GRAD_KERNEL) && !av.calls.includes(AVG_POOL_GRAD_KERNEL));
  const n0 = tf.memory().numTensors;
  const xs = tf.tensor4d(seededInput([2, 9, 7, 8], 8), [2, 9, 7, 8]);
  const g = tf.grads((a: tf.Tensor) => tf.add(tf.sum(stemMaxPool(a as tf.Tensor4D)), tf.sum(vdAvgPoolTrainable(a as tf.Tensor4D))))([xs]);
  assert.equal(tf.memory().numTensors, n0 + 2, 'the input and its gradient only');
  tf.dispose([xs, ...g]);
  const z = tf.zeros([1, 4, 4, 4]) as tf.Tensor4D;
  const y = stemMaxPool(z); // no tape: the forward alone, nothing kept
  assert.equal(tf.memory().numTensors, n0 + 2, 'the zeros and the pooled');
  tf.dispose([z, y]);
});

test('a ResNet18 full training pass at 38 px (stem pool on 19×19, vd pools on odd sizes) has the same gradients with the kernels on and off', () => {
  const model = TrainableRecognizer.fromStateDict(seededStateDict(18, 3, 21), { trainable: 'full', dropout: 0 });
  const x = tf.tensor4d(seededInput([2, 38, 38, 3], 4), [2, 38, 38, 3]);
  const labels = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([2], 'int32'), 3), 'float32') as tf.Tensor2D);
  const params = model.parameters().filter((p) => p.variable.trainable).map((p) => p.variable);
  const run = (fast: boolean) => {
    setFastPoolGrad(fast);
    const spy = spyKernels();
    try {
      const { value, grads } = tf.variableGrads(model.objective(x, 2, (l) => tf.losses.softmaxCrossEntropy(labels, l) as tf.Scalar), params);
      const out = params.map((p) => grads[p.name]!.dataSync() as Float32Array);
      tf.dispose([value, ...Object.values(grads)]);
      model.discardBatchStats();
      return { out, calls: spy.calls };
    } finally {
      spy.restore();
      setFastPoolGrad(true);
    }
  };
  try {
    const off = run(false);
    const n0 = tf.memory().numTensors;
    const on = run(true);
    assert.equal(tf.memory().numTensors, n0, 'no tensor left behind');
    assert.equal(on.calls.filter((c) => c === MAX_POOL_GRAD_KERNEL).length, 1);
    assert.equal(on.calls.filter((c) => c === AVG_POOL_GRAD_KERNEL).length, 3, 'res3a, res4a, res5a shortcuts');
    assert.ok(!on.calls.includes('MaxPoolGrad') && !on.calls.includes('AvgPoolGrad'));
    on.out.forEach((g, i) => assert.deepEqual(bits(g), bits(off.out[i]!), params[i]!.name));
  } finally {
    tf.dispose([x, labels]);
    model.dispose();
  }
});
