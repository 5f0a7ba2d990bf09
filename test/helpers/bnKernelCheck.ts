/**
 * What the BN kernels' tests (bn-kernel.test.ts: the backward pass, bn-forward-kernel.test.ts: the forward pass)
 * share: the batch statistics in float64, and the check of a kernel against the tfjs ops it replaces and a float64
 * closed form on several shapes.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { relErr } from './numerics.js';

/** Per-channel mean, biased variance (two-pass) and r = 1/√(σ² + ε) of `x` read as `[m, C]`, in float64. */
export function bnStatistics(x: Float32Array, C: number, epsilon: number): { mean: Float64Array; variance: Float64Array; r: Float64Array } {
  const m = x.length / C;
  const [mean, variance] = [new Float64Array(C), new Float64Array(C)];
  for (let i = 0; i < m * C; i++) mean[i % C]! += x[i]! / m;
  for (let i = 0; i < m * C; i++) variance[i % C]! += (x[i]! - mean[i % C]!) ** 2 / m;
  return { mean, variance, r: variance.map((v) => 1 / Math.sqrt(v + epsilon)) };
}

/** The kernel, the ops and float64 agree pairwise within float32 rounding (relative error < 1e-5). */
export function agree(label: string, ours: ArrayLike<number>, ops: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.ok(relErr(ours, ops) < 1e-5, `${label}: kernel vs ops, relative error ${relErr(ours, ops)}`);
  assert.ok(relErr(ours, want) < 1e-5, `${label}: kernel vs float64, relative error ${relErr(ours, want)}`);
  assert.ok(relErr(ops, want) < 1e-5, `${label}: ops vs float64, relative error ${relErr(ops, want)}`);
}

/** One kernel's check on `shapes` `[N, H, W, C]`: `run(k, fused)` gives the named outputs and the kernel's calls. */
export interface KernelCheck<K> {
  shapes: Array<[number, number, number, number]>;
  usable: (C: number) => boolean;
  inputs: (shape: [number, number, number, number], i: number) => K;
  run: (k: K, fused: boolean) => { out: Float32Array[]; calls: number };
  reference: (k: K) => ArrayLike<number>[];
  names: string[];
}

/**
 * On every shape: the kernel is usable, runs once a layer (the ops path not at all), and its outputs, the ops' and
 * float64's agree; then the tensors are as before. Returns the kernel's outputs per shape for further checks.
 */
export function checkAgainstOps<K>(c: KernelCheck<K>): Float32Array[][] {
  assert.equal(tf.getBackend(), 'wasm');
  const before = tf.memory().numTensors;
  const outs = c.shapes.map((shape, i) => {
    assert.ok(c.usable(shape[3]), `C = ${shape[3]}: the kernel runs on this wasm backend (SIMD)`);
    const k = c.inputs(shape, i);
    const [ops, ours] = [c.run(k, false), c.run(k, true)];
    assert.equal(ops.calls, 0, 'the ops path does not call the kernel');
    assert.equal(ours.calls, 1, 'one kernel call for the layer');
    const want = c.reference(k);
    c.names.forEach((name, j) => agree(`${shape.join('×')} ${name}`, ours.out[j]!, ops.out[j]!, want[j]!));
    return ours.out;
  });
  assert.equal(tf.memory().numTensors, before, 'nothing left behind');
  return outs;
}

/** C = 6, not a multiple of 4: the kernel is not usable, the layer runs the ops (no kernel call), still right. */
export function checkOpsKeptOffBlock<K>(c: Pick<KernelCheck<K>, 'usable' | 'inputs' | 'run' | 'reference'>): void {
  assert.equal(c.usable(6), false);
  const k = c.inputs([1, 3, 5, 6], 7);
  const ours = c.run(k, true);
  assert.equal(ours.calls, 0);
  const want = c.reference(k);
  ours.out.forEach((o, j) => assert.ok(relErr(o, want[j]!) < 1e-5, `output ${j}: relative error ${relErr(o, want[j]!)}`));
}
