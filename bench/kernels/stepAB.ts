/**
 * Whole training steps with one of our kernels off and on, alternating step by step in one process after a warm-up
 * (kernels compiled, XNNPACK operators cached): what bench/kernels/*-ab.ts compare. `toggle(on)` switches the kernel;
 * it is left on.
 */
import type { TrainableSubset } from '../../src/core/model/trainable.js';
import { trainStepper } from '../trainStep.js';

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
export const fmt = (xs: number[], digits = 1) => `${xs.map((x) => x.toFixed(digits)).join(', ')} (median ${median(xs).toFixed(digits)})`;

/** Seconds per step of PP-TSN depth 50 at 224 px, 400 classes (bench/trainStep.ts), kernel off and on. */
export async function alternateSteps(strategy: TrainableSubset, images: number, steps: number, toggle: (on: boolean) => void): Promise<{ off: number[]; on: number[] }> {
  const stepper = trainStepper(50, 400, 224, strategy);
  const s = { off: [] as number[], on: [] as number[] };
  try {
    toggle(true);
    await stepper.step(images);
    for (let i = 0; i < steps; i++) {
      for (const k of ['off', 'on'] as const) {
        toggle(k === 'on');
        s[k].push(await stepper.step(images));
      }
    }
  } finally {
    toggle(true);
    stepper.dispose();
  }
  return s;
}

/**
 * ms a call of `call('ops')` and `call('ours')`, alternating call by call `reps` times after one warm-up call each
 * (kernels compiled and instantiated): the per-call half of bench/kernels/*-ab.ts.
 */
export function alternateCalls(reps: number, call: (k: 'ops' | 'ours') => void): { ops: number[]; ours: number[] } {
  const s = { ops: [] as number[], ours: [] as number[] };
  call('ops');
  call('ours');
  for (let i = 0; i < reps; i++) {
    for (const k of ['ops', 'ours'] as const) {
      const t0 = performance.now();
      call(k);
      s[k].push(performance.now() - t0);
    }
  }
  return s;
}
