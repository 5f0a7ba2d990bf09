/**
 * PaddleVideo's `ppTSNHead` in training with its cross entropy, forward and backward, as ONNX nodes (trainGraph.ts's
 * `step` graph): global average pool of the last feature map, the mean over each clip's T segments, dropout, the FC,
 * then the soft-target cross entropy averaged over the clips (`labelSmoothing.ts`: label smoothing and mixup are both
 * soft targets, which the caller builds), and the gradients back to the feature map.
 *
 * The dropout mask comes in as an input: the caller draws it with tfjs's own `tf.dropout` and seed (0 or 1/(1 − p) a
 * value, Paddle's `upscale_in_train`), so a seeded step drops the same features on either runtime.
 *
 * Inputs: `fc.w` `[F, K]` (Paddle's layout), `fc.b` `[K]`, `target` `[N, K]` (rows summing to 1), `mask` `[N, F]`.
 * Outputs: `loss` (scalar), `logits` `[N, K]`, `fc.dw`, `fc.db`.
 */
import type { GraphBuilder, Val } from './graphBuilder.js';
import { valueInfo, type Pb } from './protobuf.js';

export interface HeadSpec {
  /** T: images per clip. */
  segments: number;
  /** K. */
  classes: number;
}

/** The head on `map` (`[N·T, h, w, F]`, channels last): its inputs and outputs, and the name of `map`'s gradient. */
export function crossEntropyHead(g: GraphBuilder, map: Val, spec: HeadSpec): { dmap: string; inputs: Pb[]; outputs: Pb[] } {
  const [nt, h, w, F] = map.shape as [number, number, number, number];
  const T = spec.segments;
  const K = spec.classes;
  const n = nt / T;
  const pooled = g.op('ReduceMean', [map.name], [{ name: 'axes', ints: [1, 2] }, { name: 'keepdims', i: 0 }]);
  const avg = g.op('ReduceMean', [g.op('Reshape', [pooled, g.ints([n, T, F])])], [{ name: 'axes', ints: [1] }, { name: 'keepdims', i: 0 }]);
  const dropped = g.op('Mul', [avg, 'mask']);
  const logits = g.op('Gemm', [dropped, 'fc.w', 'fc.b'], [], 'logits');
  const lsm = g.op('LogSoftmax', [logits], [{ name: 'axis', i: 1 }]);
  const perClip = g.op('ReduceSum', [g.op('Mul', ['target', lsm]), g.ints([1])], [{ name: 'keepdims', i: 0 }]);
  g.op('Neg', [g.op('ReduceMean', [perClip], [{ name: 'axes', ints: [0] }, { name: 'keepdims', i: 0 }])], [], 'loss');
  // d loss / d logits = (softmax · Σ target − target) / N per row.
  const rowSum = g.op('ReduceSum', ['target', g.ints([1])], [{ name: 'keepdims', i: 1 }]);
  const dlogits = g.op('Mul', [g.op('Sub', [g.op('Mul', [g.op('Softmax', [logits], [{ name: 'axis', i: 1 }]), rowSum]), 'target']), g.scalar(1 / n)]);
  g.op('ReduceSum', [dlogits, g.ints([0])], [{ name: 'keepdims', i: 0 }], 'fc.db');
  g.op('Gemm', [dropped, dlogits], [{ name: 'transA', i: 1 }], 'fc.dw');
  const davg = g.op('Mul', [g.op('Gemm', [dlogits, 'fc.w'], [{ name: 'transB', i: 1 }]), 'mask']);
  // The means' gradients: 1/T to each segment, 1/(h·w) to each position.
  const dpooled = g.op('Reshape', [g.op('Expand', [g.op('Reshape', [g.op('Mul', [davg, g.scalar(1 / (T * h * w))]), g.ints([n, 1, F])]), g.ints([n, T, F])]), g.ints([nt, 1, 1, F])]);
  const dmap = g.op('Expand', [dpooled, g.ints([nt, h, w, F])]);
  return {
    dmap,
    inputs: [valueInfo('fc.w', [F, K]), valueInfo('fc.b', [K]), valueInfo('target', [n, K]), valueInfo('mask', [n, F])],
    outputs: [valueInfo('loss', []), valueInfo('logits', [n, K]), valueInfo('fc.dw', [F, K]), valueInfo('fc.db', [K])],
  };
}
