/**
 * PaddleVideo tensor inputs of `classify`/`embed` (src/api/inputs.ts `engineTensor`): one clip is accepted as
 * `[1, T·C, 3, H, W]` or `[T·C, 3, H, W]`; a batch `[N, …]` with N > 1 is `invalid-argument` naming the shape and
 * saying how to pass each clip (a ClassifyResult is one clip's). Pure validation: runs in Node.
 *   node --import tsx --test test/unit/tensor-input.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineTensor } from '../../src/api/inputs.js';
import { isPPTSNError } from '../../src/core/errors.js';

const tensor = (shape: number[]) => ({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape });

test('one clip passes as [1, T·C, 3, H, W] and [T·C, 3, H, W]', () => {
  assert.deepEqual(engineTensor(tensor([1, 2, 3, 4, 5])).shape, [1, 2, 3, 4, 5]);
  assert.deepEqual(engineTensor(tensor([2, 3, 4, 5])).shape, [2, 3, 4, 5]);
});

test('a batch of N > 1 clips is invalid-argument naming the shape and how to call once per clip', () => {
  const t = tensor([3, 2, 3, 4, 5]);
  const e = (() => {
    try {
      engineTensor(t);
      return null;
    } catch (x) {
      return x;
    }
  })();
  assert.ok(isPPTSNError(e), 'a PPTSNError');
  assert.equal(e.code, 'invalid-argument');
  assert.match(e.message, /\[3, 2, 3, 4, 5\]/);
  assert.match(e.message, /holds 3 clips/);
  assert.match(e.message, /once per clip/);
  // The slice it suggests is one clip's worth of values with a shape the check accepts.
  assert.match(e.message, /data\.slice\(i \* 120, \(i \+ 1\) \* 120\), shape: \[1, 2, 3, 4, 5\]/);
  assert.deepEqual(engineTensor({ data: t.data.slice(120, 240), shape: [1, 2, 3, 4, 5] }).shape, [1, 2, 3, 4, 5]);
});

test('other bad shapes stay invalid-argument', () => {
  for (const shape of [[1, 2, 4, 4, 5], [2, 3, 4], [1, 2, 3, 0, 5]]) {
    assert.throws(() => engineTensor(tensor(shape)), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument', `[${shape.join(', ')}]`);
  }
  assert.throws(() => engineTensor({ data: new Float32Array(5), shape: [1, 2, 3, 4, 5] }), /needs 120 values, got 5/);
});
