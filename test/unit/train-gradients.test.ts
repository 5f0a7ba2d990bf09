/**
 * The trainer's hand-written gradients on wasm equal tfjs's reference on the cpu backend within float32 rounding,
 * on odd shapes:
 * - conv2dTrainable's gradients on wasm (dx as a Conv2D with the rotated filter on zero-dilated dy, dW by our SIMD
 * kernel where I % 4 = 0 and O % 8 = 0, any stride, else as plain per-tap matMuls at stride 1 and one im2col product
 * of the stride phases above, src/core/model/convGrad.ts) equal tfjs's reference kernels on the cpu backend
 * (Conv2DBackpropInput / Conv2DBackpropFilter) within float32 rounding, on odd shapes, every stride/kernel/pad
 * ResNet-vd uses and a few it does not; the input gradient is not computed when nothing needs it; no leaks.
 *
 * - linear (the head's FC with plain-matMul gradients, src/core/model/linearGrad.ts) equals tf.fused.matMul's;
 * - batchNormTrain (train-mode BN + ReLU with its closed-form backward, src/core/model/batchNormTrain.ts) equals
 *   tf.moments + tf.batchNorm + tf.relu differentiated by tfjs, values, statistics and the three gradients.
 *
 *   node --import tsx --test test/unit/train-gradients.test.ts
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { registerGradientsNode } from '../helpers/nodeGradients.js';
import { conv2dTrainable } from '../../src/core/model/convGrad.js';
import { CONV2D_BACKPROP_FILTER, useSimdFilterGrad } from '../../src/core/model/filterGradWasm.js';
import { batchNormTrain } from '../../src/core/model/batchNormTrain.js';
import { linear } from '../../src/core/model/linearGrad.js';
import { IM2COL_KERNEL } from '../../src/core/model/im2col.js';
import { TrainableRecognizer } from '../../src/core/model/trainable.js';
import { PaddleMomentum, paramGroups } from '../../src/core/train/optimizer.js';
import { seededInput, seededStateDict } from '../helpers/seeded.js';
import { relErr } from '../helpers/numerics.js';

/** [n, H, W, I, O, K, stride, pad] */
const CASES: Array<[number, number, number, number, number, number, number, number]> = [
  [2, 9, 7, 3, 5, 3, 2, 1], // the stem's conv1_1 (stride 2) on odd sizes
  [2, 8, 10, 3, 4, 3, 2, 1], // stride 2, even sizes
  [3, 7, 5, 6, 4, 3, 1, 1], // 3×3 stride 1
  [2, 6, 7, 5, 3, 1, 1, 0], // 1×1 (bottleneck conv1/conv3, vd shortcut after the pool)
  [2, 7, 6, 4, 6, 1, 2, 0], // 1×1 stride 2 (ResNet-B shortcut; not in vd, but must be right)
  [1, 11, 9, 2, 3, 3, 1, 0], // 3×3 valid
  [2, 9, 8, 3, 2, 5, 2, 2], // 5×5 stride 2
  [1, 10, 11, 3, 4, 3, 3, 1], // stride 3
  [1, 12, 9, 4, 3, 3, 2, 0], // stride 2 valid: the last input row and column are never read
  [2, 8, 7, 3, 2, 4, 2, 1], // even kernel, stride 2 (taps reach past one phase row)
  // Stride 1 with I % 4 = 0 and O % 8 = 0: our SIMD kernel (filterGradWasm.ts) on wasm.
  [2, 7, 5, 8, 16, 3, 1, 1], // 3×3 same, odd sizes
  [1, 12, 11, 4, 8, 3, 1, 1], // 12·11 positions > one chunk: cut by rows
  [1, 6, 9, 4, 8, 3, 1, 0], // 3×3 valid
  [3, 5, 6, 12, 24, 1, 1, 0], // 1×1, images grouped per call (3 = 2 + 1)
  [2, 9, 7, 4, 8, 5, 1, 2], // 5×5 same
  [1, 3, 2, 8, 8, 3, 1, 1], // an image narrower than the kernel
  // Strided, I % 4 = 0 and O % 8 = 0: our kernel stepping s input pixels per dy pixel.
  [2, 9, 7, 8, 16, 3, 2, 1], // 3×3 stride 2 on odd sizes (res3a–res5a's conv)
  [1, 12, 9, 4, 8, 3, 2, 0], // stride 2 valid: the last input row and column are never read
  [2, 8, 7, 4, 8, 4, 2, 1], // even kernel, stride 2
  [1, 10, 11, 4, 8, 3, 3, 1], // stride 3
  [1, 30, 27, 4, 8, 3, 2, 1], // stride 2, 15·14 positions: cut by rows
  [2, 7, 6, 4, 8, 1, 2, 0], // 1×1 stride 2
  // Small maps, many channels (n·Ho·Wo < 2·O): im2col + matMul on wasm (im2col.ts), forward and input gradients.
  [1, 4, 3, 16, 16, 3, 1, 1], // 3×3 same (res5b/c's conv at 7×7)
  [1, 7, 6, 16, 16, 3, 2, 1], // 3×3 stride 2 (res5a's), its phase convs too
  [1, 6, 5, 8, 16, 1, 2, 0], // 1×1 stride 2
  [1, 6, 7, 12, 16, 4, 2, 1], // even kernel, stride 2
  [2, 3, 3, 16, 24, 3, 1, 0], // valid
  // 1×1 with few pixels and many channels: dx as (W · dyᵀ)ᵀ.
  [1, 2, 2, 16, 64, 1, 1, 0],
  [1, 2, 3, 32, 16, 1, 1, 0], // 6 pixels: the transposes of [I, 6] fall back to tf.transpose
];

interface Case { x: Float32Array; f: Float32Array; w: Float32Array; xs: number[]; fs: number[]; ys: number[] }

function makeCase([n, H, W, I, O, K, s, p]: (typeof CASES)[number], seed: number): Case {
  const Ho = Math.floor((H + 2 * p - K) / s) + 1;
  const Wo = Math.floor((W + 2 * p - K) / s) + 1;
  return {
    x: seededInput([n, H, W, I], seed), f: seededInput([K, K, I, O], seed + 1), w: seededInput([n, Ho, Wo, O], seed + 2),
    xs: [n, H, W, I], fs: [K, K, I, O], ys: [n, Ho, Wo, O],
  };
}

/** Gradients of sum(conv(x, f) · w) with respect to x and f, as arrays. */
function grads(c: Case, conv: (x: tf.Tensor4D, f: tf.Tensor4D) => tf.Tensor4D): Float32Array[] {
  return tf.tidy(() => {
    const w = tf.tensor(c.w, c.ys);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), w)))([tf.tensor(c.x, c.xs), tf.tensor(c.f, c.fs)]);
    return g.map((t) => t.dataSync() as Float32Array);
  });
}

describe('conv2dTrainable gradients: wasm vs the cpu reference kernels', () => {
  const reference: Float32Array[][] = [];
  const forward = (c: Case, conv: (x: tf.Tensor4D, f: tf.Tensor4D) => tf.Tensor4D) => tf.tidy(() => conv(tf.tensor4d(c.x, c.xs as [number, number, number, number]), tf.tensor4d(c.f, c.fs as [number, number, number, number])).dataSync() as Float32Array);
  const referenceForward: Float32Array[] = [];
  before(async () => {
    await registerGradientsNode();
    await initNodeBackend('cpu');
    CASES.forEach((k, i) => reference.push(grads(makeCase(k, 10 * i + 1), (x, f) => tf.conv2d(x, f, k[6], k[7]))));
    CASES.forEach((k, i) => referenceForward.push(forward(makeCase(k, 10 * i + 1), (x, f) => tf.conv2d(x, f, k[6], k[7]))));
    await initNodeBackend('wasm');
  });

  it('the forward values equal tf.conv2d on cpu (1×1 stride 1 runs as a BatchMatMul on wasm)', async () => {
    CASES.forEach((k, i) => {
      const err = relErr(forward(makeCase(k, 10 * i + 1), (x, f) => conv2dTrainable(x, f, k[6], k[7])), referenceForward[i]!);
      assert.ok(err < 1e-5, `case ${k.join(',')}: forward relative error ${err}`);
    });
    // The training conv's own kernel calls Conv2D, BatchMatMul and im2col as functions (no runKernel, so tf.profile
    // sees only PPTSNTrainConv2D): watch their registered configs instead.
    const kernels = async (k: (typeof CASES)[number]) => {
      conv2dTrainable(tf.zeros([1, 1, 1, 4]) as tf.Tensor4D, tf.zeros([1, 1, 4, 4]) as tf.Tensor4D, 1, 0).dispose(); // registers the kernels
      const names: string[] = [];
      const watched = [IM2COL_KERNEL, 'Conv2D', 'BatchMatMul'].map((name) => tf.getKernel(name, 'wasm')!);
      const saved = watched.map((c) => c.kernelFunc);
      watched.forEach((c, i) => ((c as { kernelFunc: tf.KernelFunc }).kernelFunc = (a) => (names.push(c.kernelName), saved[i]!(a))));
      try {
        tf.dispose(forward(makeCase(k, 3), (x, f) => conv2dTrainable(x, f, k[6], k[7])));
      } finally {
        watched.forEach((c, i) => ((c as { kernelFunc: tf.KernelFunc }).kernelFunc = saved[i]!));
      }
      return names;
    };
    const names = await kernels([3, 5, 6, 12, 24, 1, 1, 0]);
    assert.deepEqual(names, ['BatchMatMul'], `1×1: ${names.join(', ')}`);
    const small = await kernels([1, 4, 3, 16, 16, 3, 1, 1]);
    assert.deepEqual(small, [IM2COL_KERNEL, 'BatchMatMul'], `3×3 on a small map: ${small.join(', ')}`);
    assert.deepEqual(await kernels([2, 7, 5, 8, 16, 3, 1, 1]), ['Conv2D'], '3×3 on a larger map');
  });

  it('runs on wasm', () => assert.equal(tf.getBackend(), 'wasm'));

  it('dx and dW equal Conv2DBackpropInput / Conv2DBackpropFilter (cpu) within float32 rounding', () => {
    CASES.forEach((k, i) => {
      const [, , , , , K, s, p] = k;
      const ours = grads(makeCase(k, 10 * i + 1), (x, f) => conv2dTrainable(x, f, s, p));
      for (const j of [0, 1]) {
        const err = relErr(ours[j]!, reference[i]![j]!);
        assert.ok(err < 1e-5, `case ${k.join(',')} (${K}×${K} s${s} p${p}): ${j ? 'dW' : 'dx'} relative error ${err}`);
      }
    });
  });

  it('filter gradients with I % 4 = 0 and O % 8 = 0 run our SIMD kernel, strided ones too; others, and large 1×1s, do not', async () => {
    const kernelsOf = async (k: (typeof CASES)[number]) => (await tf.profile(() => tf.dispose(grads(makeCase(k, 7), (x, f) => conv2dTrainable(x, f, k[6], k[7]))))).kernelNames;
    assert.ok((await kernelsOf([2, 7, 5, 8, 16, 3, 1, 1])).includes(CONV2D_BACKPROP_FILTER));
    assert.ok((await kernelsOf([3, 5, 6, 12, 24, 1, 1, 0])).includes(CONV2D_BACKPROP_FILTER));
    assert.ok(!(await kernelsOf([3, 7, 5, 6, 4, 3, 1, 1])).includes(CONV2D_BACKPROP_FILTER), 'I = 6, O = 4: the per-tap matMuls');
    assert.ok((await kernelsOf([2, 8, 10, 8, 8, 3, 2, 1])).includes(CONV2D_BACKPROP_FILTER), 'stride 2 too');
    assert.ok(!(await kernelsOf([2, 8, 10, 3, 4, 3, 2, 1])).includes(CONV2D_BACKPROP_FILTER), 'I = 3, O = 4 stride 2: the im2col product');
    assert.equal(useSimdFilterGrad(1, 1024, 256, 1), false, 'res4 1×1 1024→256 stays on the matMul');
    assert.equal(useSimdFilterGrad(3, 512, 512, 1), true);
  });

  it('the input gradient is lazy (computed only when the input needs one) and nothing leaks', async () => {
    const k = CASES[0]!;
    const c = makeCase(k, 5);
    const x = tf.variable(tf.tensor4d(c.x, c.xs as [number, number, number, number]));
    const f = tf.variable(tf.tensor4d(c.f, c.fs as [number, number, number, number]));
    const n0 = tf.memory().numTensors;
    // The forward runs as PPTSNTrainConv2D: a Conv2D kernel in the profile is the input gradient's.
    const kernels = async (vars: tf.Variable[]) => (await tf.profile(() => {
      const { value, grads: g } = tf.variableGrads(() => tf.sum(tf.square(conv2dTrainable(x, f, k[6], k[7]))) as tf.Scalar, vars);
      assert.equal(Object.keys(g).length, vars.length);
      tf.dispose([value, ...Object.values(g)]);
    })).kernelNames;
    assert.ok(!(await kernels([f])).includes('Conv2D'), 'no input gradient for an input that needs none');
    assert.ok((await kernels([x, f])).includes('Conv2D'), 'the input gradient is a Conv2D on wasm');
    for (let step = 0; step < 3; step++) await kernels([x, f]);
    assert.equal(tf.memory().numTensors, n0, 'no tensors left after gradient steps');
    tf.dispose([x, f]);
  });
});

/** [n, H, W, C, relu] */
const BN_CASES: Array<[number, number, number, number, boolean]> = [[2, 5, 7, 3, true], [3, 4, 3, 6, false], [1, 9, 5, 4, true], [2, 40, 33, 3, true]];

/** y, mean, variance, dx, dγ, dβ of sum(f(x, γ, β) · w). */
function bnOutputs(seed: number, [n, H, W, C]: number[], f: (x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D) => { y: tf.Tensor4D; mean: tf.Tensor; variance: tf.Tensor }): Float32Array[] {
  return tf.tidy(() => {
    // An offset and a scale per channel, so the statistics are not trivially 0 and 1.
    const x = tf.add(tf.mul(tf.tensor4d(seededInput([n!, H!, W!, C!], seed), [n!, H!, W!, C!]), 3), 0.5) as tf.Tensor4D;
    const g = tf.tensor1d(seededInput([C!], seed + 1));
    const b = tf.tensor1d(seededInput([C!], seed + 2));
    const w = tf.tensor4d(seededInput([n!, H!, W!, C!], seed + 3), [n!, H!, W!, C!]);
    const out = f(x, g, b);
    const grads = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, c as tf.Tensor1D, d as tf.Tensor1D).y, w)))([x, g, b]);
    return [out.y, out.mean, out.variance, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

const composite = (relu: boolean) => (x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D) => {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const z = tf.batchNorm(x, mean, variance, b, g, 1e-5) as tf.Tensor4D;
  return { y: relu ? tf.relu(z) : z, mean, variance };
};

describe('batchNormTrain on wasm vs tfjs-differentiated moments + batchNorm + relu on cpu', () => {
  const reference: Float32Array[][] = [];
  before(async () => {
    await registerGradientsNode();
    await initNodeBackend('cpu');
    BN_CASES.forEach((k, i) => reference.push(bnOutputs(100 + i, k.slice(0, 4) as number[], composite(k[4]))));
    await initNodeBackend('wasm');
  });

  it('values, batch statistics and the x, γ, β gradients agree within float32 rounding; no leaks', () => {
    const n0 = tf.memory().numTensors;
    BN_CASES.forEach((k, i) => {
      const kept: tf.Tensor[] = []; // the statistics are the caller's, outside any tidy
      const ours = bnOutputs(100 + i, k.slice(0, 4) as number[], (x, g, b) => {
        const r = batchNormTrain(x, g, b, 1e-5, k[4]);
        kept.push(r.mean, r.variance);
        return r;
      });
      tf.dispose(kept);
      ['y', 'mean', 'variance', 'dx', 'dγ', 'dβ'].forEach((name, j) => {
        const err = relErr(ours[j]!, reference[i]![j]!);
        assert.ok(err < 2e-5, `case ${k.join(',')}: ${name} relative error ${err}`);
      });
    });
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(tf.memory().numTensors, n0);
  });
});

describe('linear (the head FC) on wasm vs tf.fused.matMul differentiated on cpu', () => {
  const [N, F, K] = [3, 7, 5];
  const outputs = () => tf.tidy(() => {
    const [a, w, b, dy] = [tf.tensor2d(seededInput([N, F], 1), [N, F]), tf.tensor2d(seededInput([F, K], 2), [F, K]), tf.tensor1d(seededInput([K], 3)), tf.tensor2d(seededInput([N, K], 4), [N, K])];
    const f = tf.getBackend() === 'cpu' ? (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias: z }) : (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => linear(x as tf.Tensor2D, y as tf.Tensor2D, z as tf.Tensor1D);
    return [f(a, w, b), ...tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(f(x, y, z), dy)))([a, w, b])].map((t) => t.dataSync() as Float32Array);
  });
  let reference: Float32Array[] = [];
  before(async () => {
    await registerGradientsNode();
    await initNodeBackend('cpu');
    reference = outputs();
    await initNodeBackend('wasm');
  });

  it('value and the three gradients agree within float32 rounding', () => {
    const ours = outputs();
    ['y', 'da', 'dW', 'dbias'].forEach((name, j) => {
      const err = relErr(ours[j]!, reference[j]!);
      assert.ok(err < 1e-5, `${name} relative error ${err}`);
    });
  });
});

describe('training steps with the new kernels on wasm', () => {
  before(async () => {
    await registerGradientsNode();
    await initNodeBackend('wasm');
  });

  it("'full' steps (every conv, BN and the FC through the new gradients) leave no tensor behind and lower the loss", async () => {
    const model = TrainableRecognizer.fromStateDict(seededStateDict(18, 3, 21), { trainable: 'full', dropout: 0 });
    const optimizer = new PaddleMomentum(paramGroups(model.parameters()));
    const x = tf.tidy(() => tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D);
    const labels = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([2], 'int32'), 3), 'float32') as tf.Tensor2D);
    const step = async (): Promise<number> => {
      const params = model.parameters().filter((p) => p.variable.trainable);
      const { value, grads } = tf.variableGrads(model.objective(x, 2, (l) => tf.losses.softmaxCrossEntropy(labels, l) as tf.Scalar), params.map((p) => p.variable));
      optimizer.applyGradients(new Map(params.map((p) => [p.key, grads[p.variable.name]!])), 0.01);
      model.commitBatchStats();
      tf.dispose(Object.values(grads));
      const loss = (await value.data())[0]!;
      value.dispose();
      return loss;
    };
    try {
      const first = await step(); // creates the optimiser's velocities
      const n1 = tf.memory().numTensors;
      let last = first;
      for (let i = 0; i < 4; i++) last = await step();
      assert.equal(tf.memory().numTensors, n1, 'same tensor count after 4 more steps');
      assert.ok(last < first, `loss ${first} → ${last}`);
    } finally {
      tf.dispose([x, labels]);
      optimizer.dispose();
      model.dispose();
    }
  });
});
