/**
 * Another runtime for a train-mode pass (issue 23): the loss and the trainable variables' gradients of one
 * micro-batch, as `TrainableRecognizer.passGrads` computes them on tfjs, but with the backbone's forward and backward
 * passes run elsewhere (the CLI's trainer: onnxruntime-node, `src/node/train/ortPass.ts`). The head, the loss, the
 * optimiser and the running statistics stay on tfjs, so a step is the same code either way (step.ts).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { PassGrads } from './passGrads.js';
import type { StageBoundary } from './resnetVd.js';
import type { TrainableRecognizer } from './trainable.js';

export interface PassEngine {
  /** What runs the pass, for the run's report (e.g. "onnxruntime-node 1.30, 2 threads"). */
  readonly description: string;
  /**
   * Loss and gradients (by variable name, as `tf.variableGrads`) of `model`'s trainable variables for `x`
   * (`[N·T, …]` NHWC at `opts.from`, the caller's) and `loss(logits)`; records the pass's batch statistics into
   * `model` (`recordBatchStats`) as `passGrads` does. Leaves no tensor but the returned ones.
   */
  passGrads(model: TrainableRecognizer, x: tf.Tensor4D, segments: number, loss: (logits: tf.Tensor2D) => tf.Scalar, opts: { from: StageBoundary; seed?: number }): Promise<PassGrads>;
  /**
   * The same pass when the loss is the soft-target cross entropy of the logits against `targets` `[N, K]` (rows summing
   * to 1: label smoothing and mixup, `labelSmoothing.ts`), with the head and the loss on the engine too, so nothing
   * crosses between the forward and backward passes; also returns the logits `[N, K]` (the caller's). `null` when the
   * engine cannot (the caller then uses `passGrads`).
   */
  passCrossEntropy?(model: TrainableRecognizer, x: tf.Tensor4D, segments: number, targets: tf.Tensor2D, opts: { from: StageBoundary; seed?: number }): Promise<(PassGrads & { logits: tf.Tensor2D }) | null>;
  dispose(): Promise<void>;
}
