/**
 * Page for test/browser/network.test.ts: runs the inference Recognizer on the golden seeded cases and on odd
 * sizes with a chosen tfjs backend in Chromium. Exposes `window.pptsnNetwork` for page.evaluate.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { Recognizer } from '../../../src/core/model/recognizer.js';
import type { Depth } from '../../../src/core/model/arch.js';
import { seededInput, seededStateDict } from '../../helpers/seeded.js';
import golden from '../../fixtures/golden/seeded_cases.json';

setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/');

export interface CaseSpec {
  depth: Depth;
  num_classes: number;
  weight_seed: number;
  input_shape: number[];
  input_seed: number;
}

export interface RunResult {
  backend: string;
  logits: number[];
  /** Wall time of the second predict (the first one compiles shaders / warms up). */
  ms: number;
  firstMs: number;
  leaked: number;
}

async function run(backend: string, spec: CaseSpec, repeats = 2): Promise<RunResult> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} unavailable`);
  await tf.ready();
  const model = Recognizer.fromStateDict(seededStateDict(spec.depth, spec.num_classes, spec.weight_seed));
  const x = tf.tensor(seededInput(spec.input_shape, spec.input_seed), spec.input_shape);
  const n0 = tf.memory().numTensors;
  let logits: number[] = [];
  let firstMs = 0;
  let ms = 0;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const y = model.predict(x);
    logits = Array.from(await y.data());
    y.dispose();
    if (i === 0) firstMs = performance.now() - t0;
    else ms = performance.now() - t0;
  }
  const leaked = tf.memory().numTensors - n0;
  x.dispose();
  model.dispose();
  return { backend, logits, ms, firstMs, leaked };
}

const api = {
  golden: golden as unknown as Array<CaseSpec & { logits: number[][] }>,
  run,
};
(window as unknown as { pptsnNetwork: typeof api }).pptsnNetwork = api;
document.title = 'ready';
