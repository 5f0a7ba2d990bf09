/**
 * Experiment (issue 23): the backbone's pooling gradients by our SIMD kernels (poolGradWasm.ts) against tfjs-backend-wasm's
 * scalar MaxPoolGrad / AvgPoolGrad, in one Node process (tfjs wasm, 1 thread):
 *
 * 1. each gradient alone on ResNet50's shapes at 224 px, 4 images: the stem max pool (3×3 s2 p1) on 4×112×112×64;
 *    the vd shortcut pools (2×2 s2) on res3a's 4×56×56×256, res4a's 4×28×28×512, res5a's 4×14×14×1024 (even sizes:
 *    today's path is AvgPoolGrad alone); the two paths alternating, `reps` calls each a round, medians of ms a call;
 * 2. whole training steps (PP-TSN depth 50 at 224 px, 400 classes, bench/trainStep.ts's step) with the kernels on and
 *    off (`setFastPoolGrad`), alternating step by step; medians. Skipped with steps = 0 (the default).
 *
 *   npx tsx bench/kernels/pool-grad-ab.ts [reps=5] [steps=0] [strategy=full] [images=4]
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { maxPool3s2GradWasm, setFastPoolGrad, useFastPoolGrad, vdAvgPoolGradWasm } from '../../src/core/model/poolGradWasm.js';
import { alternateCalls, alternateSteps, fmt } from './stepAB.js';
import type { TrainableSubset } from '../../src/core/model/trainable.js';

const [reps = '5', steps = '0', strategy = 'full', images = '4'] = process.argv.slice(2);
await initNodeBackend('wasm');
if (!useFastPoolGrad(64)) throw new Error('the kernels do not run here');

const total = { ops: 0, ours: 0 };
const report = (name: string, s: { ops: number[]; ours: number[] }) => {
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  total.ops += med(s.ops);
  total.ours += med(s.ours);
  console.log(`${name}, ms/call: tfjs ${fmt(s.ops)} | our kernel ${fmt(s.ours)}`);
};

{
  const x = tf.tidy(() => tf.relu(tf.randomNormal([4, 112, 112, 64], 0, 1, 'float32', 1))) as tf.Tensor4D;
  const y = tf.maxPool(x, 3, 2, 1);
  const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 2) as tf.Tensor4D;
  report('stem MaxPoolGrad 4×112×112×64', alternateCalls(Number(reps), (k) => {
    const dx = k === 'ops' ? (tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: 3, strides: 2, pad: 1 }) as tf.Tensor) : maxPool3s2GradWasm(dy, x);
    dx.dataSync();
    dx.dispose();
  }));
  tf.dispose([x, y, dy]);
}

for (const shape of [[4, 56, 56, 256], [4, 28, 28, 512], [4, 14, 14, 1024]] as Array<[number, number, number, number]>) {
  const [n, h, w, c] = shape;
  const x = tf.zeros(shape) as tf.Tensor4D;
  const dy = tf.randomNormal([n, h / 2, w / 2, c], 0, 1, 'float32', 3) as tf.Tensor4D;
  report(`vd AvgPoolGrad ${shape.join('×')}`, alternateCalls(Number(reps), (k) => {
    const dx = k === 'ops' ? (tf.engine().runKernel('AvgPoolGrad', { dy, input: x }, { filterSize: [2, 2], strides: [2, 2], pad: 'same' }) as tf.Tensor) : vdAvgPoolGradWasm(dy, h, w);
    dx.dataSync();
    dx.dispose();
  }));
  tf.dispose([x, dy]);
}
console.log(`all four, ms (sum of medians): tfjs ${total.ops.toFixed(1)} | our kernels ${total.ours.toFixed(1)}`);

if (Number(steps) > 0) {
  const s = await alternateSteps(strategy as TrainableSubset, Number(images), Number(steps), setFastPoolGrad);
  console.log(`${strategy} ×${images}, s/step: tfjs pool grads ${fmt(s.off, 2)} | our kernels ${fmt(s.on, 2)}`);
}
