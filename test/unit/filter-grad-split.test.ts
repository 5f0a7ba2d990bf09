/**
 * The stride-1 filter-gradient kernel split over helper threads (src/core/model/filterGradWasm.ts `filterGradInto`
 * with a ParallelExecutor, parallelExecutor.ts), in Node: tfjs wasm here has no shared heap and no helpers, so an
 * executor that runs each helper's packed calls on this thread the way the browser's helper does
 * (src/worker/kernelThreads.ts: one call of the kernel export per 14 i32) stands in for the Workers. With 1–3
 * helpers and input-channel blocks that do not divide evenly, dW equals the one-thread run bit for bit; an executor
 * that drops a helper's calls does not (the check can fail); small gradients and helper-less executors stay on the
 * calling thread; and Node's heap gets no executor at all (the single-threaded fallback). The threaded path on a
 * real shared heap with real Workers: test/browser/dw-kernel.test.ts.
 *
 *   node --import tsx --test test/unit/filter-grad-split.test.ts
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { filterGradExecutor, filterGradInto, filterGradThreadedRuns, heapOffset, MIN_PARALLEL_MACS, tapFor, wasmHeap } from '../../src/core/model/filterGradWasm.js';
import { TAP_ARGS, type DwTap } from '../../src/core/model/filterGradSimd.js';
import type { ParallelExecutor } from '../../src/core/model/parallelExecutor.js';

/** Runs `own`, then every helper's calls, on this thread; `drop` leaves one helper's calls out. */
function inlineExecutor(tap: DwTap, helpers: number, drop?: number): ParallelExecutor & { lists: number[] } {
  const lists: number[] = [];
  return {
    helpers,
    ready: Promise.resolve(helpers),
    lists,
    run(calls, own) {
      assert.ok(calls.length <= helpers);
      own();
      calls.forEach((list, h) => {
        assert.equal(list.length % TAP_ARGS, 0);
        lists.push(list.length / TAP_ARGS);
        if (h === drop) return;
        for (let o = 0; o < list.length; o += TAP_ARGS) tap(...(Array.from(list.subarray(o, o + TAP_ARGS)) as Parameters<DwTap>));
      });
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

  it('1–3 helpers give dW bit-identical to one thread, each helper with a share of the calls', () => {
    const tap = tapFor(wasmHeap()!)!;
    SHAPES.forEach((shape, i) => {
      const [n, H, W, I, O, K] = shape;
      assert.ok(K * K * n * H * W * I * O >= MIN_PARALLEL_MACS, `${shape.join('×')} is large enough to split`);
      const single = run(shape, null, 10 * i + 1);
      assert.ok(single.some((v) => v !== 0));
      for (const helpers of [1, 2, 3]) {
        const ex = inlineExecutor(tap, helpers);
        const runs0 = filterGradThreadedRuns();
        const split = run(shape, ex, 10 * i + 1);
        assert.equal(filterGradThreadedRuns(), runs0 + 1, `${shape.join('×')}, ${helpers} helpers: ran split`);
        assert.equal(ex.lists.length, helpers);
        assert.ok(ex.lists.every((c) => c > 0), `every helper got calls: ${ex.lists.join(', ')}`);
        const diff = split.findIndex((v, j) => v !== single[j]);
        assert.equal(diff, -1, `${shape.join('×')}, ${helpers} helpers: first difference at ${diff}`);
      }
    });
  });

  it('an executor that drops a helper\'s calls gives another dW (the check above can fail)', () => {
    const tap = tapFor(wasmHeap()!)!;
    const shape = SHAPES[1]!;
    const single = run(shape, null, 3);
    const broken = run(shape, inlineExecutor(tap, 2, 1), 3);
    assert.ok(broken.some((v, j) => v !== single[j]));
  });

  it('below MIN_PARALLEL_MACS, or with no helper ready, the kernel does not split', () => {
    const tap = tapFor(wasmHeap()!)!;
    const runs0 = filterGradThreadedRuns();
    const small = inlineExecutor(tap, 1);
    run([2, 9, 9, 16, 32, 3], small, 1); // 0.75 M multiply-adds
    const none = inlineExecutor(tap, 0);
    run(SHAPES[0]!, none, 1);
    assert.equal(filterGradThreadedRuns(), runs0);
    assert.deepEqual([small.lists, none.lists], [[], []]);
  });

  it('leaves no tensor behind', () => {
    const n0 = tf.memory().numTensors;
    run(SHAPES[0]!, inlineExecutor(tapFor(wasmHeap()!)!, 1), 2);
    assert.equal(tf.memory().numTensors, n0);
  });
});
