/**
 * Worker for test/browser/dw-kernel.test.ts and bench/kernels/dw-bench-browser.ts: starts tfjs wasm as the
 * engine worker does (src/worker/backends.ts: threads where the page is cross-origin isolated, so the heap is a
 * shared memory, and the kernel helper threads of src/worker/kernelThreads.ts) and runs the stride-1 filter
 * gradient through the per-tap matMuls (tapsFilterGrad), our SIMD kernel on this thread alone (filterGradInto
 * without an executor) and our kernel as the trainer runs it (convGrad.filterGrad: split over the helpers where
 * they run). `check`: max relative differences to the per-tap path, whether the threaded run equals the one-thread
 * run bit for bit, whether our kernel ran and whether it ran split, the BN backward and forward kernels
 * (batchNormGradWasm.ts, batchNormForwardWasm.ts) against their ops on the same heap, and the gradients' copy
 * kernels and im2col path (copiesCheck); `bench`: interleaved medians.
 */
import * as tf from '@tensorflow/tfjs-core';
import { configureWasm, selectBackend, wasmThreadCountNow } from '../../../src/worker/backends.js';
import { uninstallKernelThreads } from '../../../src/worker/kernelThreads.js';
import { conv2dTrainable, filterGrad, tapsFilterGrad } from '../../../src/core/model/convGrad.js';
import { TRANSPOSE_KERNEL, transposeLast2 } from '../../../src/core/model/transposeWasm.js';
import { takeRows } from '../../../src/core/model/takeRows.js';
import { preferIm2col } from '../../../src/core/model/im2col.js';
import { batchNormForwardOps, batchNormGradOps } from '../../../src/core/model/batchNormTrain.js';
import { BATCH_NORM_GRAD_KERNEL, fusedBatchNormGrad, useFusedBatchNormGrad } from '../../../src/core/model/batchNormGradWasm.js';
import { BATCH_NORM_TRAIN_KERNEL, fusedBatchNormTrain, useFusedBatchNormTrain } from '../../../src/core/model/batchNormForwardWasm.js';
import { AVG_POOL_GRAD_KERNEL, MAX_POOL_GRAD_KERNEL, maxPool3s2GradWasm, vdAvgPoolGradWasm } from '../../../src/core/model/poolGradWasm.js';
import { CONV2D_BACKPROP_FILTER, filterGradExecutor, filterGradInto, filterGradThreadStats, heapOffset, isShared, simdVariant, tapFor, wasmHeap } from '../../../src/core/model/filterGradWasm.js';

type Shape = [n: number, h: number, w: number, I: number, O: number, K: number, stride?: number];
/** `wasmPaths`: where the tfjs binaries are served (test/helpers/liveModel.ts WASM_PATHS in the dev server). */
/**
 * `grow`: once the helpers run, grow tfjs's heap (64 KB tensors until it grows, kept to the end) so that the shapes'
 * tensors lie in memory added after the helpers instantiated the kernel on it; rows then say whether x lies there.
 */
export interface DwRequest { mode: 'check' | 'bench'; shapes: Shape[]; wasmPaths: string; reps?: number; grow?: boolean }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * The BN (+ ReLU) backward and forward kernels (batchNormGradWasm.ts, batchNormForwardWasm.ts) on this heap: whether
 * they run, whether they ran, and their largest relative differences to the ops (dx, dγ, dβ; y, x̂, μ, σ², r) with
 * the ReLU on and off.
 */
async function bnCheck() {
  const shape: [number, number, number, number] = [2, 5, 7, 16];
  const m = shape[0] * shape[1] * shape[2];
  const [dy, y, xhat, gamma, r] = tf.tidy(() => [tf.randomNormal(shape), tf.relu(tf.randomNormal(shape)), tf.randomNormal([m, 16]), tf.randomNormal([16]), tf.randomUniform([1, 16], 0.5, 2)]) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D];
  const errs = [true, false].flatMap((relu) => {
    const [ours, ops] = [fusedBatchNormGrad(dy, xhat, y, gamma, r, relu), tf.tidy(() => batchNormGradOps(dy, xhat, y, gamma, r, relu))];
    const e = ours.map((t, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(t, ops[i]!))).dataSync()[0]! / tf.max(tf.abs(ops[i]!)).dataSync()[0]!));
    tf.dispose([...ours, ...ops]);
    return e;
  });
  // The forward kernel (batchNormForwardWasm.ts): y, x̂, μ, σ², r against the ops, inputs with a nonzero mean.
  const [x, beta] = tf.tidy(() => [tf.randomNormal(shape, 0.5, 2), tf.randomNormal([16])]) as [tf.Tensor4D, tf.Tensor1D];
  const forward = (f: typeof fusedBatchNormTrain, relu: boolean) => { const o = f(x, gamma, beta, 1e-5, relu); return [o.y, o.xhat, o.mean, o.variance, o.r]; };
  for (const relu of [true, false]) {
    const [ours, ops] = [forward(fusedBatchNormTrain, relu), tf.tidy(() => forward(batchNormForwardOps, relu))];
    errs.push(...ours.map((t, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(t, ops[i]!))).dataSync()[0]! / tf.max(tf.abs(ops[i]!)).dataSync()[0]!)));
    tf.dispose([...ours, ...ops]);
  }
  const ran = (await tf.profile(() => tf.dispose(fusedBatchNormGrad(dy, xhat, y, gamma, r, true)))).kernelNames.includes(BATCH_NORM_GRAD_KERNEL)
    && (await tf.profile(() => tf.dispose(forward(fusedBatchNormTrain, true)))).kernelNames.includes(BATCH_NORM_TRAIN_KERNEL);
  tf.dispose([dy, y, xhat, gamma, r, x, beta]);
  return { usable: [true, false].every((relu) => useFusedBatchNormGrad(16, relu) && useFusedBatchNormTrain(16, relu)), ran, errs };
}

/**
 * The copy kernels of training's gradients on this heap (transposeWasm.ts, takeRows.ts: exact copies, compared bit
 * for bit with tf.transpose / tf.gather) and a small-map conv through the training conv's im2col + product path
 * (im2col.ts) against tf.conv2d: whether our kernels ran, and the differences. And the pooling gradients
 * (poolGradWasm.ts) against tfjs's MaxPoolGrad (odd sizes, tied positive values) and AvgPoolGrad (even sizes), bit
 * for bit.
 */
async function copiesCheck() {
  const same = (a: tf.Tensor, b: tf.Tensor) => a.shape.join() === b.shape.join() && (a.dataSync() as Float32Array).every((v, i) => v === b.dataSync()[i]);
  const x = tf.randomNormal([3, 16, 8]);
  const t = (await tf.profile(() => tf.dispose(transposeLast2(x)))).kernelNames.includes(TRANSPOSE_KERNEL);
  const [ours, ref] = [transposeLast2(x), tf.transpose(x, [0, 2, 1])];
  const rows = tf.randomNormal([9, 40]) as tf.Tensor2D;
  const order = [8, 7, 6, 5, 4, 3, 2, 1, 0];
  const [taken, gathered] = [takeRows(rows, order), tf.gather(rows, order)];
  const [cx, cf] = [tf.randomNormal([2, 4, 3, 16]) as tf.Tensor4D, tf.randomNormal([3, 3, 16, 16]) as tf.Tensor4D];
  const [conv, convRef] = [conv2dTrainable(cx, cf, 1, 1), tf.conv2d(cx, cf, 1, 1)];
  const convErr = tf.tidy(() => tf.max(tf.abs(tf.sub(conv, convRef))).dataSync()[0]! / tf.max(tf.abs(convRef)).dataSync()[0]!);
  const px = tf.tidy(() => tf.round(tf.randomUniform([2, 9, 7, 8], 1, 4))) as tf.Tensor4D; // ties: the last of the window's scan wins
  const py = tf.maxPool(px, 3, 2, 1);
  const [pdy, ady] = [tf.randomNormal(py.shape) as tf.Tensor4D, tf.randomNormal([2, 3, 4, 8]) as tf.Tensor4D];
  const ax = tf.zeros([2, 6, 8, 8]);
  const pools = () => [maxPool3s2GradWasm(pdy, px), vdAvgPoolGradWasm(ady, 6, 8)];
  const poolRan = (await tf.profile(() => tf.dispose(pools()))).kernelNames.join() === [MAX_POOL_GRAD_KERNEL, AVG_POOL_GRAD_KERNEL].join();
  const [mp, ap] = pools();
  const [mpRef, apRef] = [tf.engine().runKernel('MaxPoolGrad', { dy: pdy, input: px, output: py }, { filterSize: 3, strides: 2, pad: 1 }) as tf.Tensor, tf.engine().runKernel('AvgPoolGrad', { dy: ady, input: ax }, { filterSize: [2, 2], strides: [2, 2], pad: 'same' }) as tf.Tensor];
  const result = { transposeRan: t, transposeExact: same(ours, ref), takeRowsExact: same(taken, gathered), im2colUsed: preferIm2col(2 * 4 * 3, 16), convErr, poolRan, poolExact: same(mp!, mpRef) && same(ap!, apRef) };
  tf.dispose([x, ours, ref, rows, taken, gathered, cx, cf, conv, convRef, px, py, pdy, ady, ax, mp!, ap!, mpRef, apRef]);
  return result;
}

async function run({ mode, shapes, wasmPaths, reps = 5, grow = false }: DwRequest) {
  configureWasm(wasmPaths);
  await selectBackend('wasm');
  const memory = wasmHeap()!;
  // The helpers start with the first filter gradient and take work once they answer.
  const executor = filterGradExecutor(memory);
  const helpers = executor ? await executor.ready : 0;
  const info = { variant: simdVariant(isShared(memory)), shared: isShared(memory), threads: wasmThreadCountNow(), helpers, userAgent: navigator.userAgent };
  const rows = [];
  const tensors0 = tf.memory().numTensors;
  const tap = tapFor(memory)!;
  const heap0 = memory.buffer.byteLength;
  const fillers: tf.Tensor[] = [];
  while (grow && memory.buffer.byteLength === heap0) fillers.push(tf.zeros([16384]));
  for (const [n, h, w, I, O, K, s = 1] of shapes) {
    const p = (K - 1) >> 1;
    const [ho, wo] = [Math.floor((h + 2 * p - K) / s) + 1, Math.floor((w + 2 * p - K) / s) + 1];
    const x = tf.randomNormal([n, h, w, I]) as tf.Tensor4D;
    const dy = tf.randomNormal([n, ho, wo, O]) as tf.Tensor4D;
    const fs: [number, number, number, number] = [K, K, I, O];
    const runs: Array<[string, () => tf.Tensor]> = [
      ['taps', () => tapsFilterGrad(x, dy, fs, s, p)],
      [`ours 1 thread`, () => {
        const out = tf.zeros(fs);
        filterGradInto(tap, memory, { x: heapOffset(x), dy: heapOffset(dy), out: heapOffset(out) }, x.shape, dy.shape, K, p, undefined, null, s);
        return out;
      }],
      [`ours ${helpers + 1} thread${helpers > 0 ? "s" : ""}`, () => filterGrad(x, dy, fs, s, p)],
    ];
    const ref = runs[0]![1]();
    const scale = tf.tidy(() => tf.max(tf.abs(ref)).dataSync()[0]!);
    const [single, threaded] = [runs[1]![1](), runs[2]![1]()];
    const errs = [single, threaded].map((t) => tf.tidy(() => tf.max(tf.abs(tf.sub(t, ref))).dataSync()[0]! / scale));
    const identical = tf.tidy(() => tf.max(tf.abs(tf.sub(threaded, single))).dataSync()[0]! === 0);
    tf.dispose([single, threaded]);
    const stats0 = filterGradThreadStats();
    const ran = (await tf.profile(() => tf.dispose(runs[2]![1]()))).kernelNames.includes(CONV2D_BACKPROP_FILTER);
    const split = filterGradThreadStats().runs > stats0.runs;
    const helperGroups = filterGradThreadStats().helperGroups - stats0.helperGroups;
    const ms: number[][] = runs.map(() => []);
    if (mode === 'bench') {
      for (let r = 0; r < reps; r++) runs.forEach(([, f], i) => {
        const t0 = performance.now();
        const t = f();
        t.dataSync();
        ms[i]!.push(performance.now() - t0);
        t.dispose();
      });
    }
    const macs = K * K * n * ho * wo * I * O;
    rows.push({ shape: `${n}×${h}×${w}×${I}→${O} ${K}×${K}${s > 1 ? ` s${s}` : ''}`, macs, inGrownHeap: heapOffset(x) >= heap0, errs, identical, ran, split, helperGroups, timings: mode === 'bench' ? runs.map(([name], i) => ({ name, ms: median(ms[i]!), gmacs: macs / median(ms[i]!) / 1e6 })) : [] });
    tf.dispose([x, dy, ref]);
  }
  // Checked while the fillers hold the heap grown: its tensors too may lie in memory added after instantiation.
  const bn = mode === 'check' ? await bnCheck() : null;
  const copies = mode === 'check' ? await copiesCheck() : null;
  tf.dispose(fillers);
  // The engine's dispose: helpers stopped, and the kernel back on this thread alone.
  let afterUninstall = null;
  if (mode === 'check' && executor) {
    uninstallKernelThreads();
    const [x, dy] = [tf.randomNormal([2, 14, 14, 32]) as tf.Tensor4D, tf.randomNormal([2, 14, 14, 64]) as tf.Tensor4D];
    const runs0 = filterGradThreadStats().runs;
    const [a, b] = [filterGrad(x, dy, [3, 3, 32, 64], 1, 1), tapsFilterGrad(x, dy, [3, 3, 32, 64], 1, 1)];
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / tf.max(tf.abs(b)).dataSync()[0]!);
    afterUninstall = { helpers: executor.helpers, executor: filterGradExecutor(memory) !== null, split: filterGradThreadStats().runs > runs0, err };
    tf.dispose([x, dy, a, b]);
  }
  return { ...info, afterUninstall, bn, copies, heapGrewBy: memory.buffer.byteLength - heap0, rows, tensorsLeft: tf.memory().numTensors - tensors0 };
}

self.onmessage = async (e: MessageEvent<DwRequest>) => {
  try {
    self.postMessage({ ok: true, value: await run(e.data) });
  } catch (err) {
    self.postMessage({ ok: false, message: String((err as Error)?.stack ?? err) });
  }
};
