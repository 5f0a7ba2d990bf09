/**
 * Our WebAssembly SIMD transpose (src/core/model/transposeWasm.ts, `PPTSNTranspose`) against tf.transpose: the last
 * two axes swapped, batched and not, on the shapes training transposes (filters `[I, O]`, taps `[K², I, O]`) and odd
 * ones; bit-identical (it copies); the kernel runs exactly where R and C are multiples of 4; no tensor left behind.
 * And takeRows (src/core/model/takeRows.ts, `PPTSNTakeRows`), whole-row copies, against tf.gather.
 *
 *   node --import tsx --test test/unit/transpose-kernel.test.ts
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { TRANSPOSE_KERNEL, setFastTranspose, transposeLast2 } from '../../src/core/model/transposeWasm.js';
import { TAKE_ROWS_KERNEL, takeRows } from '../../src/core/model/takeRows.js';
import { seededInput } from '../helpers/seeded.js';
import { spyKernels } from '../helpers/kernelSpy.js';

before(async () => {
  await initNodeBackend('wasm');
});

const SHAPES: number[][] = [[4, 4], [8, 12], [12, 8], [2048, 512], [9, 64, 32], [2, 3, 4, 8], [1, 4, 4], [5, 6], [9, 4, 6], [3, 7]];

test('transposeLast2 equals tf.transpose of the last two axes, bit for bit; the kernel runs where R, C % 4 = 0', () => {
  for (const [i, shape] of SHAPES.entries()) {
    const x = tf.tensor(seededInput(shape, i + 1), shape);
    const perm = [...shape.keys()];
    [perm[perm.length - 2], perm[perm.length - 1]] = [perm.length - 1, perm.length - 2];
    const want = tf.transpose(x, perm);
    const n0 = tf.memory().numTensors;
    const spy = spyKernels();
    let got: tf.Tensor;
    try {
      got = transposeLast2(x);
    } finally {
      spy.restore();
    }
    assert.equal(tf.memory().numTensors, n0 + 1, `${shape}: one tensor out, nothing else left`);
    assert.deepEqual(got.shape, want.shape, `${shape}: shape`);
    assert.deepEqual(got.dataSync(), want.dataSync(), `${shape}: values`);
    const [R, C] = shape.slice(-2) as [number, number];
    assert.equal(spy.calls.includes(TRANSPOSE_KERNEL), R % 4 === 0 && C % 4 === 0, `${shape}: ${spy.calls.join(', ')}`);
    tf.dispose([x, want, got]);
  }
});

test('turned off, transposeLast2 runs tf.transpose (the A/B the bench uses)', () => {
  const x = tf.tensor(seededInput([8, 8], 9), [8, 8]);
  setFastTranspose(false);
  const spy = spyKernels();
  try {
    tf.dispose(transposeLast2(x));
  } finally {
    spy.restore();
    setFastTranspose(true);
  }
  assert.deepEqual(spy.calls, ['Transpose']);
  x.dispose();
});

test('takeRows (the taps of rot180 and of a stride phase) equals tf.gather of whole rows, by our row copies', () => {
  const x = tf.tensor(seededInput([9, 24], 7), [9, 24]) as tf.Tensor2D;
  for (const rows of [[8, 7, 6, 5, 4, 3, 2, 1, 0], [4], [0, 2, 6, 8], [3, 3]]) {
    const want = tf.gather(x, rows);
    const n0 = tf.memory().numTensors;
    const spy = spyKernels();
    let got: tf.Tensor2D;
    try {
      got = takeRows(x, rows);
    } finally {
      spy.restore();
    }
    assert.equal(tf.memory().numTensors, n0 + 1, `${rows}: one tensor out`);
    assert.deepEqual(spy.calls, [TAKE_ROWS_KERNEL]);
    assert.deepEqual(got.shape, want.shape);
    assert.deepEqual(got.dataSync(), want.dataSync(), `${rows}: values`);
    tf.dispose([want, got]);
  }
  const n0 = tf.memory().numTensors;
  assert.throws(() => takeRows(x, [9]), /row 9 of 9/);
  assert.equal(tf.memory().numTensors, n0, 'a refused call leaves nothing');
  x.dispose();
});
