/**
 * `trainer.fit({ epochs })` trains to that many epochs: a fresh run takes a lower count than its settings (it used
 * to ignore it and train the default 10), a started run can be extended but a shortening is refused with what to do.
 *
 *   node --import tsx --test test/unit/fit-epochs.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochsForFit } from '../../src/core/train/fitEpochs.js';
import { isPPTSNError } from '../../src/core/errors.js';

test('a fresh run trains to the epochs fit() asks for, lower or higher than its settings', () => {
  assert.equal(epochsForFit(10, 1, { epoch: 0, iteration: 0 }), 1);
  assert.equal(epochsForFit(10, 25, { epoch: 0, iteration: 0 }), 25);
});

test('a started run can be extended, not shortened; a shortening says what to do', () => {
  assert.equal(epochsForFit(10, 12, { epoch: 4, iteration: 40 }), 12);
  assert.equal(epochsForFit(10, 10, { epoch: 10, iteration: 100 }), 10);
  assert.throws(() => epochsForFit(10, 3, { epoch: 4, iteration: 40 }), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument' && /planned for 10 epochs/.test(e.message) && /createTrainer/.test(e.message));
  for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => epochsForFit(10, bad, { epoch: 0, iteration: 0 }), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument');
});
