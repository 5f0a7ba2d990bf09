/**
 * onnxruntime-node reading tfjs tensors in place and writing into new ones on tfjs-backend-wasm's heap
 * (src/node/train/heapTensors.ts, the CLI trainer's parameters and gradients, issue 23): the same values as the copying
 * path, the views really on the heap, a view made stale by the heap's growth before the run caught and the run done
 * again on copies, other backends served by copies, and no tensor left behind.
 *
 *   node --import tsx --test test/unit/heap-tensors.test.ts
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { initNodeBackend } from '../../src/node/backends.js';
import { GraphBuilder } from '../../src/node/onnx/graphBuilder.js';
import { valueInfo } from '../../src/node/onnx/protobuf.js';
import { loadOrt, type Ort } from '../../src/node/runtime.js';
import { runOnHeap, wasmHeap } from '../../src/node/train/heapTensors.js';

let ort: Ort;
let session: InferenceSession;

// y = a·w (a [3, 4] fed as the tfjs tensor `a` of shape [12]: dims differ from the tensor's shape), s = Σ w.
before(async () => {
  await initNodeBackend('wasm');
  const loaded = await loadOrt();
  assert.ok(typeof loaded !== 'string', `onnxruntime-node must load for this test: ${String(loaded)}`);
  ort = loaded;
  const g = new GraphBuilder('t_');
  g.op('MatMul', ['a', 'w'], [], 'y');
  g.op('ReduceSum', ['w', g.ints([0, 1])], [{ name: 'keepdims', i: 0 }], 's');
  session = await ort.InferenceSession.create(g.finish('t', [valueInfo('a', [3, 4]), valueInfo('w', [4, 5])], [valueInfo('y', [3, 5]), valueInfo('s', [])]));
});

const A = Float32Array.from({ length: 12 }, (_, i) => (i % 5) - 1.5);
const W = Float32Array.from({ length: 20 }, (_, i) => 0.25 * i - 2);
const expectedY = () => Array.from({ length: 15 }, (_, k) => [0, 1, 2, 3].reduce((s, j) => s + A[Math.floor(k / 5) * 4 + j]! * W[j * 5 + (k % 5)]!, 0));

async function check(spy?: (feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor | null> | undefined) => void): Promise<void> {
  const before = tf.memory().numTensors;
  const a = tf.tensor1d(A);
  const w = tf.tensor2d(W, [4, 5]);
  const real = session.run.bind(session);
  session.run = (async (feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor | null>) => {
    spy?.(feeds, fetches);
    return real(feeds, fetches as never);
  }) as typeof session.run;
  try {
    const { out, written } = await runOnHeap(ort, session, wasmHeap(), { a: { tensor: a, dims: [3, 4] }, w: { tensor: w, dims: [4, 5] } }, { y: [3, 5] });
    assert.deepEqual(Object.keys(written), ['y']);
    assert.deepEqual(written.y!.shape, [3, 5]);
    const y = await written.y!.data();
    expectedY().forEach((v, i) => assert.ok(Math.abs(y[i]! - v) < 1e-5, `y[${i}] = ${y[i]}, expected ${v}`));
    assert.ok(Math.abs((out.s!.data as Float32Array)[0]! - W.reduce((s, v) => s + v, 0)) < 1e-4);
    tf.dispose(Object.values(written));
  } finally {
    session.run = real;
    tf.dispose([a, w]);
  }
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
}

test('on the wasm heap: the inputs are read in place and onnxruntime writes into the new tfjs tensor', async () => {
  const heap = wasmHeap();
  assert.ok(heap, 'the wasm backend exposes its heap');
  let seen = 0;
  await check((feeds, fetches) => {
    seen++;
    const buffer = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer;
    assert.equal((feeds.a!.data as Float32Array).buffer, buffer, 'a is a view of the heap');
    assert.equal((feeds.w!.data as Float32Array).buffer, buffer, 'w is a view of the heap');
    assert.equal((fetches!.y!.data as Float32Array).buffer, buffer, 'y is written on the heap');
    assert.equal(fetches!.s, null, 's is onnxruntime\'s own');
  });
  assert.equal(seen, 1);
});

test('a view made stale by the heap growing before the run: the run is done again on copies', async () => {
  let grown = false;
  let calls = 0;
  await check(() => {
    calls++;
    if (grown) return;
    grown = true;
    // A tfjs allocation larger than the heap's free space grows it, detaching every view made before.
    const big = tf.zeros([64 << 20]);
    big.dispose();
  });
  assert.ok(grown);
  assert.equal(calls, 2, 'the first run failed on the detached views and the second ran on copies');
});

test('off the wasm heap (the cpu backend) the values are copied and give the same outputs', async () => {
  await initNodeBackend('cpu');
  try {
    assert.equal(wasmHeap(), undefined);
    await check((_, fetches) => assert.equal(fetches, undefined, 'no pre-allocated outputs'));
  } finally {
    await initNodeBackend('wasm');
  }
});
