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
import { alternateSteps, fmt } from './stepAB.js';
import type { TrainableSubset } from '../../src/core/model/trainable.js';

const [strategy = 'full', images = '4', steps = '3'] = process.argv.slice(2);
await initNodeBackend('wasm');
const n = Number(images);
const s = await alternateSteps(strategy as TrainableSubset, n, Number(steps), setSimdFilterGrad);
console.log(`${strategy} ×${n}, s/step: per-tap path ${fmt(s.off, 2)} | our kernel ${fmt(s.on, 2)}`);
