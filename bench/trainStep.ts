/**
 * One training step of PP-TSN as the trainers run it (src/core/train/step.ts without its micro-batching and
 * mixup): a train-mode forward of the trainable part from its stage boundary (images for 'full', the cached res5
 * input for 'last-stage', the feature map for 'head'), softmax cross-entropy, `tf.variableGrads`, Paddle's
 * Nesterov momentum (0.9, L2 1e-4 on conv and FC weights) and the BN running-statistics update. Plain tfjs-core:
 * the bench page's worker (Chromium wasm) and Node (the CLI's trainer) run this same file.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Depth } from '../src/core/model/arch.js';
import { TrainableRecognizer, type TrainableSubset } from '../src/core/model/trainable.js';
import { FEATURE_MAP_BOUNDARY, LAST_STAGE_BOUNDARY, type StageBoundary } from '../src/core/model/resnetVd.js';
import { PaddleMomentum, paramGroups } from '../src/core/train/optimizer.js';
import { summarizeProfile, type ProfileRow } from './profile.js';
import { seededStateDict } from '../test/helpers/seeded.js';

export const TRAIN_STRATEGIES = ['head', 'last-stage', 'full'] as const satisfies readonly TrainableSubset[];

export interface TrainStepper {
  /** Seconds of one step on `n` inputs (prepared beforehand; the loss read back). */
  step(n: number): Promise<number>;
  /** Per-kernel summary of one step on `n` inputs (bench/profile.ts). */
  profile(n: number): Promise<ProfileRow[]>;
  dispose(): void;
}

/** The input shape `[n, h, w, c]` at a stage boundary of ResNet-vd at `size` px. */
export function boundaryShape(model: TrainableRecognizer, from: StageBoundary, n: number, size: number): [number, number, number, number] {
  if (from === 0) return [n, size, size, 3];
  // The stem and its max pool halve twice (boundary 1 = res2's input, size/4), res2 keeps the size, res3–res5 halve
  // once each: res5's input (boundary 4) is 14×14 at 224 px, the feature map (5) 7×7.
  const h = Math.ceil(size / 2 ** Math.max(from, 2));
  if (from === FEATURE_MAP_BOUNDARY) return [n, h, h, model.arch.featureDim];
  const first = model.arch.blocks.find((b) => b.stage === from - 1)!;
  return [n, h, h, first.branch[0]!.inChannels];
}

export function trainStepper(depth: Depth, classes: number, size: number, strategy: TrainableSubset): TrainStepper {
  const model = TrainableRecognizer.fromStateDict(seededStateDict(depth, classes, 1234), { trainable: strategy });
  const from = model.trainableFrom;
  const optimizer = new PaddleMomentum(paramGroups(model.parameters()));
  const inputs = new Map<number, { x: tf.Tensor4D; labels: tf.Tensor2D }>();
  const input = (n: number) => {
    if (!inputs.has(n)) {
      const shape = boundaryShape(model, from, n, size);
      // Post-ReLU feature maps are non-negative; images are normalised (either sign).
      const x = tf.tidy(() => (from === 0 ? tf.randomNormal(shape, 0, 1, 'float32', 7) : tf.relu(tf.randomNormal(shape, 0, 1, 'float32', 7)))) as tf.Tensor4D;
      const segments = n % 2 === 0 ? 2 : 1;
      const labels = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: n / segments }, (_, i) => i % classes), 'int32'), classes), 'float32') as tf.Tensor2D);
      inputs.set(n, { x, labels });
    }
    return inputs.get(n)!;
  };
  const run = (n: number): tf.Scalar => {
    const { x, labels } = input(n);
    const params = model.parameters().filter((p) => p.variable.trainable);
    const { value, grads } = tf.variableGrads(model.objective(x, n % 2 === 0 ? 2 : 1, (logits) => tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar, { from: from === LAST_STAGE_BOUNDARY || from === FEATURE_MAP_BOUNDARY ? from : 0 }), params.map((p) => p.variable));
    optimizer.applyGradients(new Map(params.map((p) => [p.key, grads[p.variable.name]!])), 0.01);
    model.commitBatchStats();
    tf.dispose(Object.values(grads));
    return value;
  };
  return {
    async step(n) {
      const t0 = performance.now();
      const loss = run(n);
      await loss.data();
      loss.dispose();
      return (performance.now() - t0) / 1000;
    },
    async profile(n) {
      const info = await tf.profile(async () => {
        const loss = run(n);
        await loss.data();
        loss.dispose();
      });
      return summarizeProfile(info.kernels as never);
    },
    dispose() {
      for (const { x, labels } of inputs.values()) tf.dispose([x, labels]);
      optimizer.dispose();
      model.dispose();
    },
  };
}
