/**
 * A train-mode pass's loss and gradients, unit by unit ("gradient checkpointing" at the granularity of the stem and
 * each residual block), for the trainable model (trainable.ts).
 *
 * Why: `tf.variableGrads` over the whole network keeps every kernel's saved inputs and every intermediate gradient
 * until its backward pass ends, so the peak is about twice the forward's activations (measured: 0.93 GB of tensors
 * for ResNet18-vd on one clip of 3 images at 224 px, the page's `full` micro-batch; the WASM heap, which never
 * shrinks, grew to 1.36 GB). Here the forward runs without a tape and keeps only each unit's input (~12 MB there);
 * the head's gradient is taken, then each unit from the last to the first is recomputed on a tape from its input and
 * differentiated with its output's gradient (`tf.grads` with `dy`): at any time one unit's tape is alive. Cost: one
 * more forward pass (about a third more time). The values are those of the whole-network pass: the same kernels on
 * the same inputs, and each unit's output gradient is complete before its unit runs (as on the whole tape).
 *
 * Batch statistics: recorded in the first forward (train mode), as `logits` records them; the recomputation
 * records nothing (its statistics are the same values).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ArchSpec, ConvBNSpec } from './arch.js';
import { backboneUnits, FEATURE_MAP_BOUNDARY, type ConvBNRunner, type StageBoundary } from './resnetVd.js';
import type { BatchNormStats, ForwardOptions } from './trainableTypes.js';

/** What a checkpointed pass needs of the trainable model (trainable.ts TrainableRecognizer). */
export interface PassModel {
  readonly arch: ArchSpec;
  readonly trainableFrom: StageBoundary;
  trainRunner(training: boolean, record: Map<string, BatchNormStats> | undefined, onForward?: () => void, onBackward?: () => void): ConvBNRunner;
  head(map: tf.Tensor4D, segments: number, opts: Pick<ForwardOptions, 'training' | 'seed'>): tf.Tensor2D;
  variablesOf(layers: readonly ConvBNSpec[], head?: boolean): tf.Variable[];
  recordBatchStats(record: Map<string, BatchNormStats>): void;
}

/** The pass's loss and the gradient of each trainable variable, by variable name (as `tf.variableGrads`). */
export interface PassGrads {
  value: tf.Scalar;
  grads: tf.NamedTensorMap;
}

/**
 * Loss and gradients of `model`'s trainable variables for `x` (`[N·T, …]` at `opts.from`, the caller's) and
 * `loss(logits)`. `opts.onLayer` hears each layer's forward (first pass) and each conv's gradients (recomputation),
 * 2 × trainableLayers(from) calls in all when every layer is trainable. An exception inside leaves no tensor but
 * what tfjs's tape kept of an interrupted unit (the caller frees the tape: step.ts).
 */
export function passGrads(model: PassModel, x: tf.Tensor4D, segments: number, loss: (logits: tf.Tensor2D) => tf.Scalar, opts: Omit<ForwardOptions, 'training'> & { from: StageBoundary }): PassGrads {
  const onForward = opts.onLayer ? () => opts.onLayer!(false) : undefined;
  const onBackward = opts.onLayer ? () => opts.onLayer!(true) : undefined;
  const record = new Map<string, BatchNormStats>();
  const units = backboneUnits(model.arch).filter((u) => u.part >= opts.from && u.part < FEATURE_MAP_BOUNDARY);
  const first = model.trainableFrom;
  // inputs[i] is unit i's input; inputs[units.length] the feature map. inputs[0] is the caller's x.
  const inputs: tf.Tensor4D[] = [x];
  const grads: tf.NamedTensorMap = {};
  let value: tf.Scalar | null = null;
  let dy: tf.Tensor | null = null;
  try {
    const forward = model.trainRunner(true, record, onForward);
    for (const u of units) {
      const input = inputs.at(-1)!;
      inputs.push(tf.tidy(() => u.apply(input, forward)));
    }
    // The head: loss, the FC's gradients, and the feature map's gradient when a unit before it trains.
    const map = inputs.at(-1)!;
    const headVars = model.variablesOf([], true);
    const needMap = units.some((u) => u.part >= first);
    const head = tf.valueAndGrads((...args: tf.Tensor[]) => loss(model.head(args[0] as tf.Tensor4D, segments, { training: true, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) })));
    const h = head([map, ...headVars]);
    value = h.value as tf.Scalar;
    const hg = h.grads;
    headVars.forEach((v, i) => (grads[v.name] = hg[i + 1]!));
    if (needMap) dy = hg[0]!;
    else hg[0]?.dispose();
    const backward = model.trainRunner(true, undefined, undefined, onBackward);
    for (let i = units.length - 1; i >= 0 && dy; i--) {
      const u = units[i]!;
      if (u.part < first) break;
      const vars = model.variablesOf(u.layers);
      // The input's gradient only when an earlier unit trains (never the image's).
      const needInput = i > 0 && units[i - 1]!.part >= first;
      const input = inputs[i]!;
      const g = tf.grads((...args: tf.Tensor[]) => u.apply(needInput ? (args[0] as tf.Tensor4D) : input, backward))(needInput ? [input, ...vars] : vars, dy);
      const off = needInput ? 1 : 0;
      vars.forEach((v, k) => (grads[v.name] = g[k + off]!));
      dy.dispose();
      dy = needInput ? g[0]! : null;
      // Unit i's output is no longer needed (its gradient has been used).
      inputs[i + 1]!.dispose();
    }
    model.recordBatchStats(record);
    return { value, grads };
  } catch (e) {
    value?.dispose();
    tf.dispose(Object.values(grads));
    for (const s of record.values()) tf.dispose([s.mean, s.variance]);
    throw e;
  } finally {
    dy?.dispose();
    for (const t of inputs.slice(1)) t.dispose();
  }
}
