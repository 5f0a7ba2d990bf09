/**
 * Worker for test/browser/dw-kernel.test.ts and bench/kernels/dw-bench-browser.ts: starts tfjs wasm as the
 * engine worker does (src/worker/backends.ts: threads where the page is cross-origin isolated, so the heap is a
 * shared memory) and runs the stride-1 filter gradient through our SIMD kernel (convGrad.filterGrad) and through
 * the per-tap matMuls (tapsFilterGrad). `check`: max relative differences and whether our kernel ran; `bench`:
 * interleaved medians on ResNet50 shapes, with the plain-SIMD variant beside the validated one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { configureWasm, selectBackend, wasmThreadCountNow } from '../../../src/worker/backends.js';
import { filterGrad, tapsFilterGrad } from '../../../src/core/model/convGrad.js';
import { CONV2D_BACKPROP_FILTER, filterGradInto, heapOffset, isShared, simdVariant, tapFor, wasmHeap } from '../../../src/core/model/filterGradWasm.js';

type Shape = [n: number, h: number, w: number, I: number, O: number, K: number];
/** `wasmPaths`: where the tfjs binaries are served (test/helpers/liveModel.ts WASM_PATHS in the dev server). */
export interface DwRequest { mode: 'check' | 'bench'; shapes: Shape[]; wasmPaths: string; reps?: number }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function run({ mode, shapes, wasmPaths, reps = 5 }: DwRequest) {
  configureWasm(wasmPaths);
  await selectBackend('wasm');
  const memory = wasmHeap()!;
  const info = { variant: simdVariant(isShared(memory)), shared: isShared(memory), threads: wasmThreadCountNow(), userAgent: navigator.userAgent };
  const rows = [];
  const tensors0 = tf.memory().numTensors;
  for (const [n, h, w, I, O, K] of shapes) {
    const p = (K - 1) >> 1;
    const x = tf.randomNormal([n, h, w, I]) as tf.Tensor4D;
    const dy = tf.randomNormal([n, h, w, O]) as tf.Tensor4D;
    const fs: [number, number, number, number] = [K, K, I, O];
    const plain = tapFor(memory, 'simd')!;
    const runs: Array<[string, () => tf.Tensor]> = [
      ['taps', () => tapsFilterGrad(x, dy, fs, 1, p)],
      [`ours ${info.variant}`, () => filterGrad(x, dy, fs, 1, p)],
      ['ours simd', () => {
        const out = tf.zeros(fs);
        filterGradInto(plain, memory, { x: heapOffset(x), dy: heapOffset(dy), out: heapOffset(out) }, x.shape, dy.shape, K, p);
        return out;
      }],
    ];
    const ref = runs[0]![1]();
    const scale = tf.tidy(() => tf.max(tf.abs(ref)).dataSync()[0]!);
    const errs = runs.slice(1).map(([, f]) => tf.tidy(() => tf.max(tf.abs(tf.sub(f(), ref))).dataSync()[0]! / scale));
    const ran = (await tf.profile(() => tf.dispose(runs[1]![1]()))).kernelNames.includes(CONV2D_BACKPROP_FILTER);
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
    const macs = K * K * n * h * w * I * O;
    rows.push({ shape: `${n}×${h}×${w}×${I}→${O} ${K}×${K}`, errs, ran, timings: mode === 'bench' ? runs.map(([name], i) => ({ name, ms: median(ms[i]!), gmacs: macs / median(ms[i]!) / 1e6 })) : [] });
    tf.dispose([x, dy, ref]);
  }
  return { ...info, rows, tensorsLeft: tf.memory().numTensors - tensors0 };
}

self.onmessage = async (e: MessageEvent<DwRequest>) => {
  try {
    self.postMessage({ ok: true, value: await run(e.data) });
  } catch (err) {
    self.postMessage({ ok: false, message: String((err as Error)?.stack ?? err) });
  }
};
