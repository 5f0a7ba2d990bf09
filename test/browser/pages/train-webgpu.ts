/**
 * Page for test/browser/train-webgpu.test.ts: one training step of the trainable network (the trainers' step
 * without micro-batching or mixup: train-mode forward, softmax cross-entropy, `tf.variableGrads`, Paddle's Nesterov
 * momentum, the BN running-statistics update) on a chosen tfjs backend, read back asynchronously (a `dataSync` on
 * WebGPU loses the device). Exposes `window.pptsnTrainStep.run(backend, spec)`.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { Depth } from '../../../src/core/model/arch.js';
import { TrainableRecognizer, type TrainableSubset } from '../../../src/core/model/trainable.js';
import { PaddleMomentum, paramGroups } from '../../../src/core/train/optimizer.js';
import { readFloat32 } from '../../../src/core/readBack.js';
import { seededInput, seededStateDict } from '../../helpers/seeded.js';

setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/');

export interface StepSpec {
  depth: Depth;
  classes: number;
  /** Images `[n, size, size, 3]`: n / segments clips. */
  n: number;
  segments: number;
  size: number;
  strategy: TrainableSubset;
}

export interface StepResult {
  backend: string;
  loss: number;
  /** L2 norm of every trainable variable's gradient, by parameter key (PaddleVideo's state-dict names). */
  gradNorms: Record<string, number>;
  /** Full values of a few gradients and of the parameters after the optimiser step, by parameter key. */
  grads: Record<string, number[]>;
  after: Record<string, number[]>;
  /** tf.memory().numTensors after the step and every disposal, minus before. */
  leaked: number;
}

/** Gradients the test compares in full (where trainable): the stem's first conv, the FC. */
const FULL = ['backbone.conv1_1._conv.weight', 'head.fc.weight', 'head.fc.bias'];

async function run(backend: string, s: StepSpec): Promise<Omit<StepResult, 'leaked'>> {
  const model = TrainableRecognizer.fromStateDict(seededStateDict(s.depth, s.classes, 31), { trainable: s.strategy, dropout: 0 });
  const optimizer = new PaddleMomentum(paramGroups(model.parameters()));
  const x = tf.tensor4d(seededInput([s.n, s.size, s.size, 3], 5), [s.n, s.size, s.size, 3]);
  const labels = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: s.n / s.segments }, (_, i) => i % s.classes), 'int32'), s.classes), 'float32')) as tf.Tensor2D;
  try {
    const params = model.parameters().filter((p) => p.variable.trainable);
    const { value, grads } = tf.variableGrads(model.objective(x, s.segments, (logits) => tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar), params.map((p) => p.variable));
    const byKey = params.map((p) => [p.key, grads[p.variable.name]!] as const);
    const norms = tf.tidy(() => byKey.map(([, g]) => tf.norm(g)));
    const fullKeys = FULL.filter((k) => byKey.some(([key]) => key === k));
    const [lossV, ...normV] = await readFloat32([value, ...norms]);
    const gradV = await readFloat32(fullKeys.map((k) => byKey.find(([key]) => key === k)![1]));
    tf.dispose(norms);
    optimizer.applyGradients(new Map(byKey), 0.01);
    model.commitBatchStats();
    tf.dispose([value, ...Object.values(grads)]);
    const afterKeys = [...fullKeys, ...model.parameters().filter((p) => p.kind === 'bn_mean').slice(-1).map((p) => p.key)];
    const afterV = await readFloat32(afterKeys.map((k) => model.parameters().find((p) => p.key === k)!.variable));
    return {
      backend: tf.getBackend(),
      loss: lossV![0]!,
      gradNorms: Object.fromEntries(byKey.map(([k], i) => [k, normV[i]![0]!])),
      grads: Object.fromEntries(fullKeys.map((k, i) => [k, Array.from(gradV[i]!)])),
      after: Object.fromEntries(afterKeys.map((k, i) => [k, Array.from(afterV[i]!)])),
    };
  } finally {
    tf.dispose([x, labels]);
    optimizer.dispose();
    model.dispose();
  }
}

const api = {
  async run(backend: string, s: StepSpec): Promise<StepResult> {
    if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} unavailable`);
    await tf.ready();
    const before = tf.memory().numTensors;
    const r = await run(backend, s);
    return { ...r, leaked: tf.memory().numTensors - before };
  },
};

(window as unknown as { pptsnTrainStep: typeof api }).pptsnTrainStep = api;
document.title = 'ready';
