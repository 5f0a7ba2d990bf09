/**
 * The stride-1 filter-gradient kernel split over helper threads (src/core/model/filterGradWasm.ts `filterGradInto`
 * with a ParallelExecutor, parallelExecutor.ts), in Node: tfjs wasm here has no shared heap and no helpers, so an
 * executor that runs a round's groups on this thread in the order the browser's threads share them out
 * (src/worker/kernelThreads.ts) stands in for the Workers. With 1–3 helpers and input-channel blocks that do not
 * divide evenly, dW equals the one-thread run bit for bit; an executor that drops a helper's groups does not (the
 * check can fail); a filter gradient too large for one round runs in several; small gradients and helper-less executors stay on the
 * calling thread; and Node's heap gets no executor at all (the single-threaded fallback). The threaded path on a
 * real shared heap with real Workers: test/browser/dw-kernel.test.ts.
 *
 *   node --import tsx --test test/unit/filter-grad-split.test.ts
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { filterGradExecutor, filterGradInto, filterGradThreadStats, heapOffset, MIN_PARALLEL_MACS, tapFor, wasmHeap } from '../../src/core/model/filterGradWasm.js';
import { TAP_ARGS } from '../../src/core/model/filterGradSimd.js';
import { GROUP_HEAD, runGroup, type ParallelExecutor } from '../../src/core/model/parallelExecutor.js';

/**
 * Runs a round's groups on this thread as the browser's executor shares them out (thread t first takes group t,
 * then the threads take the next group in turn), each with `here`, the kernel export; `drop` leaves out the groups
 * of that helper. Records per round how many groups each thread got.
 */
function inlineExecutor(helpers: number, drop?: number, capacity = { calls: 1 << 15, groups: 1 << 12 }): ParallelExecutor & { shares: number[][] } {
  const shares: number[][] = [];
  return {
    helpers,
    ready: Promise.resolve(helpers),
    capacity,
    shares,
    run(round, here) {
      const G = round.groups.length / (GROUP_HEAD + TAP_ARGS);
      assert.ok(Number.isInteger(G) && round.calls.length % TAP_ARGS === 0);
      assert.ok(G <= capacity.groups && round.calls.length <= capacity.calls * TAP_ARGS, 'a round within capacity');
      const share = new Array<number>(helpers + 1).fill(0);
      for (let g = 0; g < G; g++) {
        const t = g % (helpers + 1);
        share[t]!++;
        if (t !== drop) runGroup(round, g, TAP_ARGS, here);
      }
      shares.push(share);
      return share.slice(1).reduce((a, b) => a + b, 0);
    },
    dispose() {},
  };
}

/** [n, H, W, I, O, K] */
const SHAPES: Array<[number, number, number, number, number, number]> = [
  [2, 14, 14, 32, 64, 3], // 8 blocks of 4 input channels
  [2, 13, 11, 36, 24, 3], // 9 blocks: uneven shares
  [2, 24, 24, 64, 64, 1], // 1×1
  [1, 5, 70, 68, 32, 5], // 5×5, rows cut in chunks
];

describe('filterGradInto split over helpers', () => {
  before(async () => {
    await initNodeBackend('wasm');
  });

  const run = (shape: (typeof SHAPES)[number], executor: ParallelExecutor | null, seed: number): Float32Array => {
    const [n, H, W, I, O, K] = shape;
    const memory = wasmHeap()!;
    const tap = tapFor(memory)!;
    // Seeds from 1: tfjs draws an unseeded tensor for seed 0.
    const x = tf.randomNormal([n, H, W, I], 0, 1, 'float32', seed);
    const dy = tf.randomNormal([n, H, W, O], 0, 1, 'float32', seed + 1);
    const out = tf.zeros([K, K, I, O]);
    filterGradInto(tap, memory, { x: heapOffset(x), dy: heapOffset(dy), out: heapOffset(out) }, x.shape, dy.shape, K, (K - 1) >> 1, undefined, executor);
    const v = out.dataSync() as Float32Array;
    tf.dispose([x, dy, out]);
    return v;
  };

  it('Node has no shared heap: no executor, the kernel runs on the calling thread', () => {
    assert.equal(filterGradExecutor(wasmHeap()!), null);
  });

  it('1–3 helpers give dW bit-identical to one thread, each helper with a share of the groups', () => {
    SHAPES.forEach((shape, i) => {
      const [n, H, W, I, O, K] = shape;
      assert.ok(K * K * n * H * W * I * O >= MIN_PARALLEL_MACS, `${shape.join('×')} is large enough to split`);
      const single = run(shape, null, 10 * i + 1);
      assert.ok(single.some((v) => v !== 0));
      for (const helpers of [1, 2, 3]) {
        const ex = inlineExecutor(helpers);
        const before = filterGradThreadStats();
        const split = run(shape, ex, 10 * i + 1);
        const after = filterGradThreadStats();
        assert.equal(after.runs, before.runs + 1, `${shape.join('×')}, ${helpers} helpers: ran split`);
        assert.equal(ex.shares.length, 1, 'one round');
        assert.ok(ex.shares[0]!.every((c) => c > 0), `every thread got groups: ${ex.shares[0]!.join(', ')}`);
        assert.equal(after.helperGroups - before.helperGroups, ex.shares[0]!.slice(1).reduce((a, b) => a + b, 0));
        const diff = split.findIndex((v, j) => v !== single[j]);
        assert.equal(diff, -1, `${shape.join('×')}, ${helpers} helpers: first difference at ${diff}`);
      }
    });
  });

  it('a gradient larger than one round runs in several, a tap larger than a round on this thread: same dW', () => {
    const shape = SHAPES[0]!; // 8 calls a tap
    const single = run(shape, null, 5);
    const rounds = inlineExecutor(1, undefined, { calls: 20, groups: 40 });
    const tiny = inlineExecutor(1, undefined, { calls: 5, groups: 40 });
    for (const ex of [rounds, tiny]) assert.equal(run(shape, ex, 5).findIndex((v, j) => v !== single[j]), -1);
    assert.ok(rounds.shares.length > 1, `${rounds.shares.length} rounds`);
    assert.equal(tiny.shares.length, 0, 'no round');
  });

  it('an executor that drops a helper\'s calls gives another dW (the check above can fail)', () => {
    const shape = SHAPES[1]!;
    const single = run(shape, null, 3);
    const broken = run(shape, inlineExecutor(2, 1), 3);
    assert.ok(broken.some((v, j) => v !== single[j]));
  });

  it('below MIN_PARALLEL_MACS, or with no helper ready, the kernel does not split', () => {
    const runs0 = filterGradThreadStats().runs;
    const small = inlineExecutor(1);
    run([2, 9, 9, 16, 32, 3], small, 1); // 0.75 M multiply-adds
    const none = inlineExecutor(0);
    run(SHAPES[0]!, none, 1);
    assert.equal(filterGradThreadStats().runs, runs0);
    assert.deepEqual([small.shares, none.shares], [[], []]);
  });

  it('leaves no tensor behind', () => {
    const n0 = tf.memory().numTensors;
    run(SHAPES[0]!, inlineExecutor(1), 2);
    assert.equal(tf.memory().numTensors, n0);
  });
});
