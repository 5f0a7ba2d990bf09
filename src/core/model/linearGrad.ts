/**
 * The head's Linear layer (`a · W + bias`, Paddle's `[in, out]` weight) with a gradient made of plain matMuls:
 * tfjs's own gradient of MatMul multiplies with transposed operands (`matMul(dy, W, false, true)`,
 * `matMul(a, dy, true, false)`), which tfjs-backend-wasm runs as a scalar loop (~0.03 GMAC/s, most of a 'head'
 * step in Node); an explicit transpose of the small operand and XNNPACK's product are ~10× faster.
 * The forward pass is tfjs's fused MatMul (bias added in the kernel), as the inference head.
 */
import * as tf from '@tensorflow/tfjs-core';
import { transposeLast2 } from './transposeWasm.js';

/** `a` `[N, in]` · `w` `[in, out]` + `bias` `[out]` → `[N, out]`. */
export function linear(a: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [as, ws, bs, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([as, ws]);
    return {
      value: tf.fused.matMul({ a: as, b: ws, bias: bs }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [av, wv] = saved as [tf.Tensor2D, tf.Tensor2D];
        const d = dy as tf.Tensor2D;
        return [tf.matMul(d, transposeLast2(wv)), tf.matMul(transposeLast2(av), d), tf.sum(d, 0)];
      },
    };
  });
  return op(a, w, bias) as tf.Tensor2D;
}
