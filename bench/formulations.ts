/**
 * Alternative formulations of the network's convolutions on tfjs wasm, timed against tf.fused.conv2d on the
 * shapes ResNet50-vd actually runs (batch 4, 224-px input), so "tfjs's kernel is the limit" is measured, not
 * assumed: 1×1 convolutions as one fused matMul over [N·H·W, Cin], and the 3×3 convs as-is (XNNPACK's
 * indirect-GEMM convolution is already im2col without the copy). Node, tfjs-backend-wasm (SIMD, one thread).
 *
 *   node --import tsx bench/formulations.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../src/node/backends.js';

const SHAPES: [number, number, number, number][] = [
  // [H, Cin, Cout, k]
  [56, 64, 256, 1],
  [56, 256, 64, 1],
  [28, 512, 128, 1],
  [14, 1024, 256, 1],
  [7, 512, 2048, 1],
];

function time(f: () => tf.Tensor, reps = 5): number {
  tf.dispose(f());
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const y = f();
    y.dataSync();
    ts.push(performance.now() - t0);
    y.dispose();
  }
  ts.sort((a, b) => a - b);
  return ts[ts.length >> 1]!;
}

await initNodeBackend('wasm');
const N = 4;
for (const [H, cin, cout, k] of SHAPES) {
  const x = tf.randomNormal([N, H, H, cin]) as tf.Tensor4D;
  const w = tf.randomNormal([k, k, cin, cout]) as tf.Tensor4D;
  const b = tf.randomNormal([cout]) as tf.Tensor1D;
  const w2 = tf.reshape(w, [cin, cout]) as tf.Tensor2D;
  const conv = time(() => tf.fused.conv2d({ x, filter: w, strides: 1, pad: 0, bias: b, activation: 'relu' }));
  const mm = time(() => tf.tidy(() => tf.reshape(tf.fused.matMul({ a: tf.reshape(x, [N * H * H, cin]) as tf.Tensor2D, b: w2, bias: b, activation: 'relu' }), [N, H, H, cout])));
  const gmac = (N * H * H * cin * cout) / 1e9;
  console.log(`1×1 ${H}×${H}×${cin}→${cout}: fused.conv2d ${conv.toFixed(1)} ms (${(gmac / conv * 1000).toFixed(1)} GMAC/s), fused.matMul ${mm.toFixed(1)} ms (${(gmac / mm * 1000).toFixed(1)} GMAC/s)`);
  tf.dispose([x, w, b, w2]);
}
