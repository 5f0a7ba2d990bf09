/**
 * Our WebAssembly SIMD kernel for Paddle's Momentum update (src/core/train/momentumWasm.ts, `PPTSNMomentum`) against
 * the tfjs ops it replaces (optimizer.ts): three updates of parameters of odd and even sizes, with and without L2
 * decay, Nesterov and plain, give bit-identical parameters and velocities, and leave no tensor behind.
 *
 *   node --import tsx --test test/unit/momentum-kernel.test.ts
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { PaddleMomentum, type ParamGroup } from '../../src/core/train/optimizer.js';
import { MOMENTUM_KERNEL, setFusedMomentum, useFusedMomentum } from '../../src/core/train/momentumWasm.js';
import { seededInput } from '../helpers/seeded.js';
import { spyKernels } from '../helpers/kernelSpy.js';

before(async () => {
  await initNodeBackend('wasm');
});

const SHAPES: number[][] = [[3, 3, 8, 16], [7], [2, 5, 3], [64]];

/** Parameters and velocities after three updates of seeded gradients, with the kernel on or off. */
async function run(fused: boolean, nesterov: boolean): Promise<Float32Array[]> {
  setFusedMomentum(fused);
  try {
    const groups: ParamGroup[] = SHAPES.map((shape, i) => {
      const init = tf.tensor(seededInput(shape, 10 + i), shape);
      const variable = tf.variable(init);
      init.dispose();
      return { key: `p${i}`, variable, lrMult: i === 1 ? 10 : 1, decay: i % 2 === 0 ? 1e-4 : 0 };
    });
    const opt = new PaddleMomentum(groups, { nesterov });
    for (let step = 0; step < 3; step++) {
      const grads = new Map(groups.map((g, i) => [g.key, tf.tensor(seededInput(g.variable.shape, 100 * step + i), g.variable.shape)]));
      const n0 = tf.memory().numTensors;
      opt.applyGradients(grads, 0.01 * (step + 1));
      // Step 0 creates the velocities (a variable each); later steps add nothing.
      assert.equal(tf.memory().numTensors, n0 + (step === 0 ? groups.length : 0), `step ${step}: applyGradients leaves no tensor`);
      tf.dispose([...grads.values()]);
    }
    const state = await opt.getState();
    const out = [...(await Promise.all(groups.map(async (g) => (await g.variable.data()) as Float32Array))), ...groups.map((g) => state.get(g.key)!)];
    opt.dispose();
    for (const g of groups) g.variable.dispose();
    return out;
  } finally {
    setFusedMomentum(true);
  }
}

for (const nesterov of [true, false]) {
  test(`PPTSNMomentum (${nesterov ? 'Nesterov' : 'plain momentum'}) is bit-identical to the tfjs ops`, async () => {
    assert.ok(useFusedMomentum({ decay: 1e-4, nesterov }), 'the kernel runs on this wasm backend (SIMD)');
    const before = tf.memory().numTensors;
    const ops = await run(false, nesterov);
    const { calls, restore } = spyKernels();
    let kernel: Float32Array[];
    try {
      kernel = await run(true, nesterov);
    } finally {
      restore();
    }
    assert.equal(calls.filter((c) => c === MOMENTUM_KERNEL).length, 3 * SHAPES.length, 'one kernel call per parameter and step');
    assert.equal(tf.memory().numTensors, before, 'nothing left behind');
    kernel.forEach((k, i) => {
      const o = ops[i]!;
      assert.equal(k.length, o.length);
      const differ = k.findIndex((x, j) => !Object.is(x, o[j]));
      assert.equal(differ, -1, `${i < SHAPES.length ? 'parameter' : 'velocity'} ${i % SHAPES.length} (${SHAPES[i % SHAPES.length]!.join('×')}): value ${differ} is ${k[differ]} against ${o[differ]}`);
    });
  });
}
