/**
 * The end of the tail: averaged logits → softmax → the best classes. One implementation for the worker's
 * `classify`, the live stream, the CLI and evaluation. PaddleVideo applies softmax once, to the logits of the
 * averaged feature (`paddlevideo/modeling/heads/pptsn_head.py` + `tools/utils.py`'s inference helper).
 */

/** One class in a result. */
export interface Prediction {
  /** 0-based class index (the row of the label list). */
  index: number;
  label: string;
  /** Probability, 0–1 (softmax of the averaged logits). */
  score: number;
}

/** Which classes a caller wants in `top`. */
export interface TopKOptions {
  /** Drop classes whose probability is below this (0–1). Default 0: keep all. */
  scoreThreshold?: number;
  /** Only these class indices are candidates (the others keep their probability but are not listed). */
  allow?: readonly number[];
}

/** Numerically stable softmax: `exp(x − max) / Σ exp(x − max)` in float64, returned as float32. */
export function softmax(logits: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const exps = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += exps[i] = Math.exp(logits[i]! - max);
  const out = new Float32Array(logits.length);
  for (let i = 0; i < out.length; i++) out[i] = exps[i]! / sum;
  return out;
}

/**
 * The `k` most probable classes, best first (ties keep the lower index first, as a stable sort of
 * PaddleVideo's `argsort` would). `labels[i]` names class i; a missing label becomes `class_i`.
 */
export function topK(probabilities: ArrayLike<number>, labels: readonly string[], k: number, options: TopKOptions = {}): Prediction[] {
  const threshold = options.scoreThreshold ?? 0;
  const candidates = options.allow ? [...new Set(options.allow)].filter((i) => i >= 0 && i < probabilities.length) : Array.from({ length: probabilities.length }, (_, i) => i);
  return candidates
    .filter((i) => probabilities[i]! >= threshold)
    .sort((a, b) => probabilities[b]! - probabilities[a]! || a - b)
    .slice(0, Math.max(0, k))
    .map((index) => ({ index, label: labels[index] ?? `class_${index}`, score: probabilities[index]! }));
}
