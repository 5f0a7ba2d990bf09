/**
 * Winograd F(2×2, 3×3) (src/core/model/winograd.ts), the wasm backend's faster path for the stride-1 3×3 convs:
 * the same results as `fused.conv2d` with Paddle's padding on odd and even sizes, with and without ReLU, on wasm
 * and cpu; no leaks; the Recognizer uses it by default on wasm only, and its logits stay within float32 noise of the
 * direct path (the golden and float64-reference cases in network.test.ts run it too, on wasm).
 *
 *   node --import tsx --test test/unit/winograd.test.ts
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend, type NodeBackendName } from '../../src/node/backends.js';
import { Recognizer } from '../../src/core/model/recognizer.js';
import { inputTransform, useWinograd, winogradConv3x3, winogradFilter } from '../../src/core/model/winograd.js';
import { seededInput, seededStateDict } from '../helpers/seeded.js';
import { relErr } from '../helpers/numerics.js';

/** Logits of `predict(x)` by a Recognizer built with `opts`; the model is freed. */
function logitsOf(sd: ReturnType<typeof seededStateDict>, x: tf.Tensor, opts: { winograd?: boolean }): Float32Array {
  const m = Recognizer.fromStateDict(sd, opts);
  const y = m.predict(x);
  const out = (y.dataSync() as Float32Array).slice();
  tf.dispose(y);
  m.dispose();
  return out;
}

it('gates on the measured shapes: 3×3, stride 1, ≥ 128 channels in and out', () => {
  assert.equal(useWinograd(3, 1, 128, 128), true);
  assert.equal(useWinograd(3, 1, 512, 512), true);
  assert.equal(useWinograd(3, 1, 64, 64), false, 'stage 1 (56² × 64) measured slower');
  assert.equal(useWinograd(3, 2, 256, 256), false, 'stride 2');
  assert.equal(useWinograd(1, 1, 256, 256), false, '1×1');
});

for (const backend of ['wasm', 'cpu'] as NodeBackendName[]) {
  describe(`winograd on ${backend}`, () => {
    before(async () => {
      await initNodeBackend(backend);
    });

    for (const [N, H, W, C, K, relu] of [
      [1, 8, 8, 4, 5, true],
      [2, 7, 9, 6, 3, false],
      [1, 1, 1, 3, 2, true],
      [1, 14, 5, 8, 8, false],
    ] as const) {
      it(`equals fused.conv2d (pad 1): [${N}, ${H}, ${W}, ${C}] → ${K}${relu ? ', ReLU' : ''}; no leaks`, () => {
        const x = tf.tensor4d(seededInput([N, H, W, C], 11 + H), [N, H, W, C]);
        const wData = seededInput([3, 3, C, K], 5 + K).map((v) => v * 0.3);
        const bData = seededInput([K], 9);
        const w = tf.tensor4d(wData, [3, 3, C, K]);
        const b = tf.tensor1d(bData);
        const u = winogradFilter(wData, C, K).map((d) => tf.tensor4d(d, [1, 1, C, K]));
        const t = inputTransform(C);
        try {
          const want = tf.fused.conv2d({ x, filter: w, strides: 1, pad: 1, bias: b, activation: relu ? 'relu' : 'linear' });
          const before = tf.memory().numTensors;
          const got = winogradConv3x3(x, u, b, relu, t);
          assert.equal(tf.memory().numTensors, before + 1, 'only the output is left');
          assert.deepEqual(got.shape, [N, H, W, K]);
          const err = relErr(got.dataSync(), want.dataSync());
          assert.ok(err < 1e-6, `error ${err} (relative to the output's scale)`);
          tf.dispose([want, got]);
        } finally {
          tf.dispose([x, w, b, ...u, ...t.rows, ...t.cols]);
        }
      });
    }
  });
}

describe('Recognizer with Winograd', () => {
  it('wasm: on by default; logits within float32 noise of the direct path, not bit-identical (the path ran); weights freed', async () => {
    await initNodeBackend('wasm');
    const sd = seededStateDict(50, 7, 3);
    const x = tf.tensor(seededInput([1, 2, 3, 64, 72], 4), [1, 2, 3, 64, 72]);
    const base = tf.memory().numTensors;
    const byDefault = logitsOf(sd, x, {});
    const wino = logitsOf(sd, x, { winograd: true });
    const direct = logitsOf(sd, x, { winograd: false });
    assert.equal(tf.memory().numTensors, base, 'every weight tensor is freed on dispose');
    assert.deepEqual(byDefault, wino, 'the default on wasm is Winograd');
    const err = relErr(wino, direct);
    assert.ok(err <= 1e-5, `Winograd vs direct logits: ${err}`);
    assert.notDeepEqual(wino, direct, 'the Winograd path ran (float32 rounding differs from the direct conv)');
    x.dispose();
  });

  it('cpu: off by default', async () => {
    await initNodeBackend('cpu');
    const sd = seededStateDict(18, 3, 5);
    const x = tf.tensor(seededInput([1, 1, 3, 48, 48], 6), [1, 1, 3, 48, 48]);
    assert.deepEqual(logitsOf(sd, x, {}), logitsOf(sd, x, { winograd: false }));
    x.dispose();
  });
});
