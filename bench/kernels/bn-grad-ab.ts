/**
 * Experiment (issue 23): the train-mode BN (+ ReLU) backward pass by our SIMD kernel (batchNormGradWasm.ts) against
 * the tfjs ops it replaces (batchNormTrain.ts's batchNormGradOps), in one Node process (tfjs wasm, 1 thread):
 *
 * 1. the backward alone on saved tensors of two ResNet50 shapes (4×56×56×256: res2's; 16×7×7×2048: res5's), the two
 *    paths alternating, `reps` calls each a round, medians of ms a call;
 * 2. whole training steps (PP-TSN depth 50 at 224 px, 400 classes, bench/trainStep.ts's step) with the kernel on and
 *    off (`setFusedBatchNormGrad`), alternating step by step; medians.
 *
 *   npx tsx bench/kernels/bn-grad-ab.ts [strategy=full] [images=4] [steps=3 (0: the backward alone)] [reps=5]
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { batchNormGradOps } from '../../src/core/model/batchNormTrain.js';
import { fusedBatchNormGrad, setFusedBatchNormGrad, useFusedBatchNormGrad } from '../../src/core/model/batchNormGradWasm.js';
import { alternateCalls, alternateSteps, fmt } from './stepAB.js';
import type { TrainableSubset } from '../../src/core/model/trainable.js';

const [strategy = 'full', images = '4', steps = '3', reps = '5'] = process.argv.slice(2);
await initNodeBackend('wasm');

for (const shape of [[4, 56, 56, 256], [16, 7, 7, 2048]] as Array<[number, number, number, number]>) {
  const C = shape[3];
  const m = shape[0] * shape[1] * shape[2];
  if (!useFusedBatchNormGrad(C, true)) throw new Error('the kernel does not run here');
  const dy = tf.randomNormal(shape, 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.tidy(() => tf.relu(tf.randomNormal(shape, 0, 1, 'float32', 2))) as tf.Tensor4D;
  const xhat = tf.randomNormal([m, C], 0, 1, 'float32', 3) as tf.Tensor2D;
  const gamma = tf.randomNormal([C], 1, 0.1, 'float32', 4) as tf.Tensor1D;
  const r = tf.randomUniform([1, C], 0.5, 2, 'float32', 5) as tf.Tensor2D;
  const call = (k: 'ops' | 'ours') => {
    const out = tf.tidy(() => (k === 'ops' ? batchNormGradOps : fusedBatchNormGrad)(dy, xhat, y, gamma, r, true));
    out[1].dataSync(); // waits for nothing on wasm (synchronous), but keeps the call honest
    tf.dispose(out);
  };
  const s = alternateCalls(Number(reps), call);
  tf.dispose([dy, y, xhat, gamma, r]);
  console.log(`BN+ReLU backward ${shape.join('×')}, ms/call: ops ${fmt(s.ops)} | our kernel ${fmt(s.ours)}`);
}

if (Number(steps) === 0) process.exit(0); // the backward alone
const n = Number(images);
const s = await alternateSteps(strategy as TrainableSubset, n, Number(steps), setFusedBatchNormGrad);
console.log(`${strategy} ×${n}, s/step: BN ops ${fmt(s.off, 2)} | our BN kernel ${fmt(s.on, 2)}`);
