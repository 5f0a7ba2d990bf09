/**
 * Worker for bench/kernels/dw-step-ab-browser.ts: a whole training step (bench/trainStep.ts, depth 50 at 224 px,
 * 400 classes) in Chromium on tfjs wasm started as the engine worker starts it, alternating step by step between
 * our filter-gradient kernel on the calling thread alone and split over the kernel helper threads
 * (`setFilterGradThreads`), or, with `toggle: 'bn'`, between the BN backward's tfjs ops ('one') and our BN kernel
 * ('split'; batchNormGradWasm.ts, `setFusedBatchNormGrad`). Seconds a step.
 */
import '@tensorflow/tfjs-core';
import { configureWasm, selectBackend, wasmThreadCountNow } from '../../src/worker/backends.js';
import { filterGradExecutor, setFilterGradThreads, wasmHeap } from '../../src/core/model/filterGradWasm.js';
import { setFusedBatchNormGrad } from '../../src/core/model/batchNormGradWasm.js';
import type { TrainableSubset } from '../../src/core/model/trainable.js';
import { trainStepper } from '../trainStep.js';
import type { ProfileRow } from '../profile.js';
// The trainer's gradients, as the library's trainer worker registers them (src/worker/trainerEngine.ts).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';

/** `profile`: then one `tf.profile`d step each way (bench/profile.ts groups). */
export interface StepRequest { wasmPaths: string; strategy: TrainableSubset; images: number; steps: number; profile?: boolean; toggle?: 'threads' | 'bn' }

async function run({ wasmPaths, strategy, images, steps, profile, toggle = 'threads' }: StepRequest) {
  const setFilterGradThreadsOr = toggle === 'bn' ? setFusedBatchNormGrad : setFilterGradThreads;
  configureWasm(wasmPaths);
  await selectBackend('wasm');
  const helpers = (await filterGradExecutor(wasmHeap()!)?.ready) ?? 0;
  const stepper = trainStepper(50, 400, 224, strategy);
  const s: Record<'one' | 'split', number[]> = { one: [], split: [] };
  await stepper.step(images); // warm-up: XNNPACK operators cached
  for (let i = 0; i < steps; i++) {
    for (const k of ['one', 'split'] as const) {
      setFilterGradThreadsOr(k === 'split');
      s[k].push(await stepper.step(images));
    }
  }
  const profiles: Record<string, ProfileRow[]> = {};
  if (profile) {
    for (const k of ['one', 'split'] as const) {
      setFilterGradThreadsOr(k === 'split');
      profiles[k] = await stepper.profile(images);
    }
  }
  setFilterGradThreadsOr(true);
  stepper.dispose();
  return { threads: wasmThreadCountNow(), helpers, ...s, profiles };
}

self.onmessage = async (e: MessageEvent<StepRequest>) => {
  try {
    self.postMessage({ ok: true, value: await run(e.data) });
  } catch (err) {
    self.postMessage({ ok: false, message: String((err as Error)?.stack ?? err) });
  }
};
