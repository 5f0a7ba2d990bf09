/**
 * `npm run bench -- --gpu` (bench/gpu.ts gpuDefaults): the GPU run includes the train section (webgpu beside
 * PyTorch CUDA, issue 23) with no wasm-only public-Trainer run; `--gpu-dry-run` is the tiny SwiftShader check
 * (depth 18, 64 px, a 2-image train step per strategy); options given on the command line win.
 *
 *   node --import tsx --test test/unit/bench-gpu-options.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchArgs } from '../../bench/options.js';

test('--gpu: webgpu, sections network,e2e,train, train images 4,16, no public Trainer run', () => {
  const o = parseBenchArgs(['--gpu']);
  assert.deepEqual(o.backends, ['webgpu']);
  assert.deepEqual(o.sections, ['network', 'e2e', 'train']);
  assert.deepEqual(o.trainImages, [4, 16]);
  assert.deepEqual(o.trainStrategies, ['head', 'last-stage', 'full']);
  assert.equal(o.trainBudgetS, 0);
  assert.equal(o.depth, 50);
  assert.equal(o.size, 224);
});

test('--gpu --gpu-dry-run: depth 18 at 64 px, network and a 2-image train step per strategy, one rep', () => {
  const o = parseBenchArgs(['--gpu', '--gpu-dry-run']);
  assert.deepEqual(o.sections, ['network', 'train']);
  assert.deepEqual([o.depth, o.size, o.gpuReps, o.trainReps], [18, 64, 1, 1]);
  assert.deepEqual(o.gpuChunks, [1]);
  assert.deepEqual(o.trainImages, [2]);
  assert.deepEqual(o.trainStrategies, ['head', 'last-stage', 'full']);
});

test('--gpu: options on the command line win over its defaults', () => {
  const o = parseBenchArgs(['--gpu', '--sections', 'train', '--train-images', '8', '--train-reps', '2', '--train-budget', '30', '--size', '112']);
  assert.deepEqual(o.sections, ['train']);
  assert.deepEqual(o.trainImages, [8]);
  assert.equal(o.trainReps, 2);
  assert.equal(o.trainBudgetS, 30);
  assert.equal(o.size, 112);
  const dry = parseBenchArgs(['--gpu', '--gpu-dry-run', '--depth', '34']);
  assert.equal(dry.depth, 34);
});
