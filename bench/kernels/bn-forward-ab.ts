/**
 * Experiment (issue 23): the train-mode BN (+ ReLU) forward pass by our SIMD kernel (batchNormForwardWasm.ts)
 * against the tfjs ops it replaces (batchNormTrain.ts's batchNormForwardOps), in one Node process (tfjs wasm, 1
 * thread):
 *
 * 1. the forward alone on two ResNet50 shapes (4×56×56×256: res2's; 16×7×7×2048: res5's), the two paths
 *    alternating, `reps` calls each a round, ms a call;
 * 2. whole training steps (PP-TSN depth 50 at 224 px, 400 classes, bench/trainStep.ts's step) with the kernel on and
 *    off (`setFusedBatchNormTrain`), alternating step by step.
 *
 *   npx tsx bench/kernels/bn-forward-ab.ts [strategy=full] [images=4] [steps=3 (0: the forward alone)] [reps=5]
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { batchNormForwardOps } from '../../src/core/model/batchNormTrain.js';
import { fusedBatchNormTrain, setFusedBatchNormTrain, useFusedBatchNormTrain } from '../../src/core/model/batchNormForwardWasm.js';
import { alternateCalls, alternateSteps, fmt } from './stepAB.js';
import type { TrainableSubset } from '../../src/core/model/trainable.js';

const [strategy = 'full', images = '4', steps = '3', reps = '5'] = process.argv.slice(2);
await initNodeBackend('wasm');

for (const shape of [[4, 56, 56, 256], [16, 7, 7, 2048]] as Array<[number, number, number, number]>) {
  const C = shape[3];
  if (!useFusedBatchNormTrain(C, true)) throw new Error('the kernel does not run here');
  const x = tf.randomNormal(shape, 0.5, 2, 'float32', 1) as tf.Tensor4D;
  const gamma = tf.randomNormal([C], 1, 0.1, 'float32', 2) as tf.Tensor1D;
  const beta = tf.randomNormal([C], 0, 0.1, 'float32', 3) as tf.Tensor1D;
  const call = (k: 'ops' | 'ours') => {
    const out = tf.tidy(() => {
      const f = (k === 'ops' ? batchNormForwardOps : fusedBatchNormTrain)(x, gamma, beta, 1e-5, true);
      return [f.y, f.xhat, f.mean, f.variance, f.r];
    });
    out[2]!.dataSync(); // waits for nothing on wasm (synchronous), but keeps the call honest
    tf.dispose(out);
  };
  const s = alternateCalls(Number(reps), call);
  tf.dispose([x, gamma, beta]);
  console.log(`BN+ReLU forward ${shape.join('×')}, ms/call: ops ${fmt(s.ops)} | our kernel ${fmt(s.ours)}`);
}

if (Number(steps) === 0) process.exit(0); // the forward alone
const n = Number(images);
const s = await alternateSteps(strategy as TrainableSubset, n, Number(steps), setFusedBatchNormTrain);
console.log(`${strategy} ×${n}, s/step: BN forward ops ${fmt(s.off, 2)} | our BN forward kernel ${fmt(s.on, 2)}`);
