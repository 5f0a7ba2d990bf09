/**
 * One training step of PP-TSN as the trainers run it (src/core/train/step.ts without mixup): a train-mode forward of
 * the trainable part from its stage boundary (images for 'full', the cached res5 input for 'last-stage', the feature
 * map for 'head'), softmax cross-entropy, the gradients by the trainers' own pass — on tfjs `model.passGrads`, unit
 * by unit with each unit's forward recomputed (a third more arithmetic than one tape, what bounds the page's memory),
 * 'full' beyond FULL_MICRO_BATCH images in micro-batches as the page's trainer runs it; with an engine (the CLI's
 * onnxruntime graphs) its one-graph pass — Paddle's Nesterov momentum (0.9, L2 1e-4 on conv and FC weights) and the
 * BN running-statistics update. Plain tfjs-core: the bench page's worker (Chromium wasm) and Node (the CLI's
 * trainer) run this same file.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Depth } from '../src/core/model/arch.js';
import { TrainableRecognizer, type TrainableSubset } from '../src/core/model/trainable.js';
import { FEATURE_MAP_BOUNDARY, type StageBoundary } from '../src/core/model/resnetVd.js';
import { PaddleMomentum, paramGroups } from '../src/core/train/optimizer.js';
import type { PassEngine } from '../src/core/model/passEngine.js';
import { summarizeProfile, type ProfileRow } from './profile.js';
import { seededStateDict } from '../test/helpers/seeded.js';

export const TRAIN_STRATEGIES = ['head', 'last-stage', 'full'] as const satisfies readonly TrainableSubset[];

/**
 * 'full' steps of more images than this run as micro-batches of this many images through `passGrads` (one unit's
 * tape alive at a time), gradients summed, as the trainers do (src/core/train/step.ts): 16 images at once exhaust
 * Chromium's wasm heap (XNNPACK's fully-connected operator fails to allocate). BN then sees each micro-batch's
 * statistics, as in the trainers.
 */
export const FULL_MICRO_BATCH = 4;

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
  // once each: res5's input (boundary 4) is 14×14 at 224 px, the feature map (5) 7×7. torch_train.py uses the same
  // formula (test/unit/bench-train-shapes.test.ts holds both to the model's own stage outputs).
  const h = Math.ceil(size / 2 ** Math.max(from, 2));
  if (from === FEATURE_MAP_BOUNDARY) return [n, h, h, model.arch.featureDim];
  const first = model.arch.blocks.find((b) => b.stage === from - 1)!;
  return [n, h, h, first.branch[0]!.inChannels];
}

/**
 * `engine`: the pass on another runtime (the CLI's trainer: onnxruntime-node, src/node/train/ortPass.ts), the whole
 * batch at once (native memory, no micro-batches); the head, loss and optimiser stay on tfjs.
 */
export function trainStepper(depth: Depth, classes: number, size: number, strategy: TrainableSubset, engine?: PassEngine): TrainStepper {
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
  const run = (n: number): tf.Scalar | Promise<tf.Scalar> => {
    const { x, labels } = input(n);
    const params = model.parameters().filter((p) => p.variable.trainable);
    if (engine) return runEngine(engine, x, labels, params);
    if (strategy === 'full' && n > FULL_MICRO_BATCH) return runMicro(x, labels, params);
    // The trainer's pass (src/core/train/step.ts): passGrads, not one tape over the whole step (which skips the
    // recomputation and measured 20–30 % faster on `last-stage`, at +12 MB of tensors an image at 224 px).
    const { value, grads } = tf.tidy(() => model.passGrads(x, n % 2 === 0 ? 2 : 1, (logits) => tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar, { from }) as unknown as tf.TensorContainerObject) as unknown as { value: tf.Scalar; grads: tf.NamedTensorMap };
    optimizer.applyGradients(new Map(params.map((p) => [p.key, grads[p.variable.name]!])), 0.01);
    model.commitBatchStats();
    tf.dispose(Object.values(grads));
    return value;
  };
  const runEngine = async (e: PassEngine, x: tf.Tensor4D, labels: tf.Tensor2D, params: ReturnType<typeof model.parameters>): Promise<tf.Scalar> => {
    const n = x.shape[0];
    // Softmax cross entropy against one-hot labels: the engine's one-graph pass when it has one (the CLI's trainer
    // takes it for every step without a distillation loss), else its forward and backward graphs with tfjs's head.
    const fused = e.passCrossEntropy ? await e.passCrossEntropy(model, x, n % 2 === 0 ? 2 : 1, labels, { from }) : null;
    fused?.logits.dispose();
    const { value, grads } = fused ?? (await e.passGrads(model, x, n % 2 === 0 ? 2 : 1, (logits) => tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar, { from }));
    optimizer.applyGradients(new Map(params.map((p) => [p.key, grads[p.variable.name]!])), 0.01);
    model.commitBatchStats();
    tf.dispose(Object.values(grads));
    return value;
  };
  /** The step in micro-batches of FULL_MICRO_BATCH images (2 clips × 2 segments), each through passGrads. */
  const runMicro = (x: tf.Tensor4D, labels: tf.Tensor2D, params: ReturnType<typeof model.parameters>): tf.Scalar => {
    const n = x.shape[0];
    // Clips of `seg` segments as in run(); micro-batches hold whole clips (FULL_MICRO_BATCH is even).
    const seg = n % 2 === 0 ? 2 : 1;
    const acc = new Map<string, tf.Tensor>();
    let loss: tf.Scalar = tf.scalar(0);
    for (let m0 = 0; m0 < n; m0 += FULL_MICRO_BATCH) {
      const mn = Math.min(FULL_MICRO_BATCH, n - m0);
      const { value, grads } = tf.tidy(() => {
        const xm = tf.slice(x, m0, mn);
        const lm = tf.slice(labels, m0 / seg, mn / seg);
        return model.passGrads(xm, seg, (logits) => tf.losses.softmaxCrossEntropy(lm, logits) as tf.Scalar) as unknown as tf.TensorContainerObject;
      }) as unknown as { value: tf.Scalar; grads: tf.NamedTensorMap };
      model.commitBatchStats();
      const next = tf.tidy(() => tf.add(loss, tf.mul(value, mn / n)) as tf.Scalar);
      tf.dispose([loss, value]);
      loss = next;
      for (const [name, g] of Object.entries(grads)) {
        const prev = acc.get(name);
        acc.set(name, tf.tidy(() => (prev ? tf.add(prev, tf.mul(g, mn / n)) : tf.mul(g, mn / n))));
        tf.dispose(prev ? [prev, g] : [g]);
      }
    }
    optimizer.applyGradients(new Map(params.map((p) => [p.key, acc.get(p.variable.name)!])), 0.01);
    tf.dispose([...acc.values()]);
    return loss;
  };
  return {
    async step(n) {
      const t0 = performance.now();
      const loss = await run(n);
      await loss.data();
      loss.dispose();
      return (performance.now() - t0) / 1000;
    },
    async profile(n) {
      const info = await tf.profile(async () => {
        const loss = await run(n);
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
