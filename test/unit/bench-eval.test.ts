/**
 * The eval bench's summary (bench/evalSummary.ts): medians of interleaved reps, the ratio to the network-only rate
 * and issue 16's verdict `evalAtLeast0_9xNetwork`.
 *   node --import tsx --test test/unit/bench-eval.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalSummary, median, type EvalRun } from '../../bench/evalSummary.js';

const run = (itemsPerSecond: number, decode = 0.1, wait = 0.05): EvalRun => ({ itemsPerSecond, decodeShareOfWall: decode, waitShareOfWall: wait });

test('median is the lower middle sample and refuses no samples', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2);
  assert.throws(() => median([]));
});

test('eval ≥ 0.9× network is judged on the medians of the reps', () => {
  // Network medians 1.0; prefetch median 0.95 → passes, no-prefetch median 0.8.
  const ok = evalSummary([1.2, 1.0, 0.9], [run(0.95), run(2.0), run(0.5)], [run(0.8, 0.2), run(0.7, 0.3), run(0.9, 0.1)]);
  assert.equal(ok.networkOnlyItemsPerSecond, 1);
  assert.equal(ok.evalItemsPerSecond, 0.95);
  assert.equal(ok.evalVsNetworkOnly, 0.95);
  assert.equal(ok.noPrefetchVsNetworkOnly, 0.8);
  assert.equal(ok.decodeShareOfWall, 0.2);
  assert.equal(ok.evalAtLeast0_9xNetwork, true);
  assert.equal(ok.reps, 3);
  // Just below the bar: 0.8999 of the network rate fails even though it rounds to 0.9.
  const below = evalSummary([1], [run(0.8999)], [run(0.5)]);
  assert.equal(below.evalVsNetworkOnly, 0.9);
  assert.equal(below.evalAtLeast0_9xNetwork, false);
});
