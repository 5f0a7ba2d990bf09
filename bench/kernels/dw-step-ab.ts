/**
 * Experiment (issue 23): a whole training step with and without our SIMD filter-gradient kernel, in one Node
 * process (tfjs wasm, 1 thread), alternating step by step (`setSimdFilterGrad`): PP-TSN depth 50 at 224 px,
 * 400 classes, bench/trainStep.ts's step. Medians.
 *
 *   npx tsx bench/kernels/dw-step-ab.ts [strategy=full] [images=4] [steps=3]
 */
import '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/node/backends.js';
import { setSimdFilterGrad } from '../../src/core/model/filterGradWasm.js';
import { trainStepper } from '../trainStep.js';
import type { TrainableSubset } from '../../src/core/model/trainable.js';

const [strategy = 'full', images = '4', steps = '3'] = process.argv.slice(2);
await initNodeBackend('wasm');
const stepper = trainStepper(50, 400, 224, strategy as TrainableSubset);
const n = Number(images);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const s: Record<'taps' | 'ours', number[]> = { taps: [], ours: [] };
setSimdFilterGrad(true);
await stepper.step(n); // warm-up: kernels compiled, XNNPACK operators cached
for (let i = 0; i < Number(steps); i++) {
  for (const k of ['taps', 'ours'] as const) {
    setSimdFilterGrad(k === 'ours');
    s[k].push(await stepper.step(n));
  }
}
setSimdFilterGrad(true);
console.log(`${strategy} ×${n}, s/step: per-tap path ${s.taps.map((x) => x.toFixed(2)).join(', ')} (median ${median(s.taps).toFixed(2)}) | our kernel ${s.ours.map((x) => x.toFixed(2)).join(', ')} (median ${median(s.ours).toFixed(2)})`);
