/**
 * Mixup (PaddleVideo `Mixup` collate, α = 0.2 for PP-TSN): one λ ~ Beta(α, α) per batch and a random permutation;
 * x = λ·x + (1 − λ)·x[perm], loss = λ·L(y) + (1 − λ)·L(y[perm]), and accuracy is reported the same way
 * (λ·acc(y) + (1 − λ)·acc(y[perm])). The Beta sampler is built from two Gamma draws (Marsaglia–Tsang) on an
 * injectable uniform RNG, so training is reproducible.
 */
import * as tf from '@tensorflow/tfjs-core';
import { permutation, type Rng } from '../random.js';

/** PP-TSN's α. */
export const MIXUP_ALPHA = 0.2;

/** A standard normal draw (Box–Muller; 1 − u keeps log away from 0). */
export function sampleNormal(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Gamma(shape, 1) by Marsaglia and Tsang (2000). For shape < 1 it uses the boost Gamma(a) = Gamma(a + 1)·U^(1/a)
 * (the squeeze method needs a ≥ 1).
 */
export function sampleGamma(shape: number, rng: Rng): number {
  if (!(shape > 0)) throw new RangeError(`gamma shape must be positive, got ${shape}`);
  if (shape < 1) {
    const u = 1 - rng();
    return sampleGamma(shape + 1, rng) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = sampleNormal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(a: number, b: number, rng: Rng): number {
  const x = sampleGamma(a, rng);
  const y = sampleGamma(b, rng);
  // Both can underflow to 0 for tiny shapes: then either end is as likely.
  if (x + y === 0) return rng() < a / (a + b) ? 1 : 0;
  return x / (x + y);
}

/** One batch's mixup draw. */
export interface MixupDraw {
  lambda: number;
  perm: number[];
}

/** Draws λ ~ Beta(α, α) and the permutation for a batch of `n` clips. */
export function drawMixup(n: number, alpha: number, rng: Rng): MixupDraw {
  return { lambda: sampleBeta(alpha, alpha, rng), perm: permutation(n, rng) };
}

/**
 * x = λ·x + (1 − λ)·x[perm] where the first axis of `x` holds `n` clips of `rowsPerClip` rows each (e.g. T
 * images per clip), so whole clips are mixed with whole clips.
 */
export function mixBatch<T extends tf.Tensor>(x: T, draw: MixupDraw, rowsPerClip = 1): T {
  return tf.tidy(() => {
    const rows: number[] = [];
    for (const p of draw.perm) for (let r = 0; r < rowsPerClip; r++) rows.push(p * rowsPerClip + r);
    const other = tf.gather(x, tf.tensor1d(rows, 'int32'));
    return tf.add(tf.mul(x, draw.lambda), tf.mul(other, 1 - draw.lambda)) as T;
  });
}

/** loss = λ·L(y) + (1 − λ)·L(y[perm]). */
export function mixupLoss(loss: (labels: tf.Tensor1D) => tf.Scalar, labels: number[], draw: MixupDraw): tf.Scalar {
  return tf.tidy(() => {
    const a = loss(tf.tensor1d(labels, 'int32'));
    const b = loss(tf.tensor1d(draw.perm.map((p) => labels[p]!), 'int32'));
    return tf.add(tf.mul(a, draw.lambda), tf.mul(b, 1 - draw.lambda)) as tf.Scalar;
  });
}

/** Accuracy reported as PaddleVideo does under mixup: λ·acc(y) + (1 − λ)·acc(y[perm]). */
export function mixupAccuracy(predicted: ArrayLike<number>, labels: number[], draw: MixupDraw | null): number {
  const acc = (ys: number[]) => ys.reduce((s, y, i) => s + (predicted[i] === y ? 1 : 0), 0) / Math.max(1, ys.length);
  if (!draw) return acc(labels);
  return draw.lambda * acc(labels) + (1 - draw.lambda) * acc(draw.perm.map((p) => labels[p]!));
}
