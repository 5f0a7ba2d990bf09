/**
 * Knowledge-distillation losses (docs/contract.md §7, "Distillation"): a teacher's logits become a target for
 * the student's. Mirrors PaddleVideo `paddlevideo/modeling/losses/distillation_loss.py` (`DistillationCELoss`,
 * `DistillationDMLLoss`) and PaddleClas `ppcls/loss/kldivloss.py` (`KLDivLoss`, used by `DistillationKLDivLoss`);
 * the soft-label cross entropy is Hinton et al.'s soft-target term. All take logits `[N, K]` (no softmax) and
 * return a scalar; the teacher's logits are a target (the callers hold them constant), the student's are
 * differentiated. `distillationLoss` combines a hard-label CE and one distillation term with a weight each, as
 * `RecognizerDistillation.get_loss` sums its weighted losses (`paddle.add_n`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import { labelSmoothedLoss, softCrossEntropyPerSample } from './labelSmoothing.js';
import type { MixupDraw } from './mixup.js';

/** `DistillationDMLLoss`'s eps. */
export const DML_EPS = 1e-12;
/** PaddleClas `DistillationKLDivLoss`'s default temperature. */
export const KL_TEMPERATURE = 4;

/**
 * log(softmax(logits) + eps) `[N, K]`, computed as log_softmax + log1p(eps / softmax) = ls + softplus(log eps − ls):
 * equal to PaddleVideo's log(p + eps), but accurate in float32 where p is small (log of a rounded p loses digits)
 * and still log(eps) where p underflows.
 */
function logSoftmaxPlusEps(logits: tf.Tensor2D, eps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const ls = tf.logSoftmax(logits);
    return eps > 0 ? (tf.add(ls, tf.softplus(tf.sub(Math.log(eps), ls))) as tf.Tensor2D) : ls;
  });
}

function checkPair(student: tf.Tensor2D, teacher: tf.Tensor2D, what: string): void {
  if (student.rank !== 2 || teacher.rank !== 2 || student.shape[0] !== teacher.shape[0] || student.shape[1] !== teacher.shape[1]) {
    throw new PPTSNError('invalid-argument', `${what}: student logits [${student.shape.join(', ')}] and teacher logits [${teacher.shape.join(', ')}] must both be [clips, classes] of the same size`);
  }
}

/**
 * `DistillationDMLLoss(act="softmax", eps=1e-12)`: p = softmax(student), q = softmax(teacher), C classes,
 * kl(a, b) = b·log((b + eps)/(a + eps))·C elementwise, loss = mean over N×C of (kl(p, q) + kl(q, p)) / 2, i.e.
 * the symmetric KL summed over classes and averaged over the batch. No temperature. Computed as
 * mean((q − p)·(log(q + eps) − log(p + eps)))·C/2, the same sum with one subtraction fewer: every term is ≥ 0, so
 * the float32 result keeps its relative accuracy, and DML(S, S) is exactly 0 with a zero gradient.
 */
export function dmlLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, eps = DML_EPS): tf.Scalar {
  checkPair(student, teacher, 'DML loss');
  return tf.tidy(() => {
    const C = student.shape[1];
    const diffP = tf.sub(tf.softmax(teacher), tf.softmax(student));
    const diffLog = tf.sub(logSoftmaxPlusEps(teacher, eps), logSoftmaxPlusEps(student, eps));
    return tf.mul(tf.mean(tf.mul(diffP, diffLog)), C / 2) as tf.Scalar;
  });
}

/**
 * PaddleClas `KLDivLoss(temperature=T)`: `kl_div(log_softmax(s/T), softmax(t/T), reduction='sum')·T²/N`, where
 * `kl_div(x, y) = y·(log y − x)` (0 where y = 0). The T² keeps the gradient's scale as T changes (Hinton et al.).
 * Since Σ_k y = 1, each row's Σ_k y·(log y − x) is computed as Σ_k y·(t − s)/T − (logsumexp(t/T) − logsumexp(s/T)):
 * the same sum without subtracting two rounded log-softmaxes per class, which in float32 cost about 5× the
 * relative error at T = 4 (7e-7 against docs/contract.md §7's (docs/contract.md §7) value, 1.4e-7 this way).
 */
export function klDivLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, temperature = KL_TEMPERATURE): tf.Scalar {
  checkPair(student, teacher, 'KL loss');
  checkTemperature(temperature);
  return tf.tidy(() => {
    const s = tf.div(student, temperature);
    const t = tf.div(teacher, temperature);
    const cross = tf.sum(tf.mul(tf.softmax(t), tf.sub(t, s)), 1);
    const rows = tf.sub(cross, tf.sub(tf.logSumExp(t, 1), tf.logSumExp(s, 1)));
    return tf.mul(tf.sum(rows), (temperature * temperature) / student.shape[0]) as tf.Scalar;
  });
}

/**
 * Soft-label cross entropy with the teacher's softmax as target: −mean_n Σ_k softmax(t/T)_k·log_softmax(s/T)_k,
 * times T² (as `klDivLoss`, so the two have the same gradient; T = 1 is the plain soft-label CE). It differs from
 * `klDivLoss` by the teacher's entropy, T²·H(softmax(t/T)), a constant for the student.
 */
export function softTargetCrossEntropy(student: tf.Tensor2D, teacher: tf.Tensor2D, temperature = 1): tf.Scalar {
  checkPair(student, teacher, 'soft-label CE');
  checkTemperature(temperature);
  return tf.tidy(() => {
    const s = temperature === 1 ? student : (tf.div(student, temperature) as tf.Tensor2D);
    const targets = tf.softmax(temperature === 1 ? teacher : (tf.div(teacher, temperature) as tf.Tensor2D));
    return tf.mul(tf.mean(softCrossEntropyPerSample(s, targets)), temperature * temperature) as tf.Scalar;
  });
}

function checkTemperature(t: number): void {
  if (!(Number.isFinite(t) && t > 0)) throw new PPTSNError('invalid-argument', `the distillation temperature must be a positive number, got ${t}`);
}

/**
 * `DistillationCELoss`: plain cross entropy of `logits` `[N, K]` against hard `labels` `[N]`, mean over the batch;
 * under mixup (`mixed`: λ and the partner's label per row) mean(λ·CE(y_a) + (1 − λ)·CE(y_b)). `epsilon` > 0
 * smooths the labels as ppTSNHead does (PaddleVideo's distillation CE has none: 0).
 */
export function distillationCELoss(logits: tf.Tensor2D, labels: readonly number[], mixed?: { lambda: number; partner: readonly number[] }, epsilon = 0): tf.Scalar {
  return tf.tidy(() => {
    const one = (ys: readonly number[]) => labelSmoothedLoss(logits, tf.tensor1d(ys as number[], 'int32'), epsilon);
    const a = one(labels);
    if (!mixed) return a;
    return tf.add(tf.mul(a, mixed.lambda), tf.mul(one(mixed.partner), 1 - mixed.lambda)) as tf.Scalar;
  });
}

export const KD_LOSSES = ['dml', 'kl', 'soft-ce'] as const;
export type KdLossName = (typeof KD_LOSSES)[number];

/** How the student learns from the teacher and the labels. */
export interface DistillationSettings {
  /** The distillation term (default 'dml', PaddleVideo's). */
  kdLoss: KdLossName;
  /** Temperature of 'kl' (default 4, PaddleClas's) and 'soft-ce' (default 1); 'dml' has none. */
  temperature: number;
  /** Weight of the distillation term (`loss_weight`, default 1). */
  kdWeight: number;
  /** Weight of the hard-label CE on labelled clips (default 1). */
  ceWeight: number;
  /** ε of the hard-label CE (default 0: `DistillationCELoss` has no smoothing). */
  labelSmoothing: number;
}

/**
 * Fills in the defaults and checks the values: weights finite and ≥ 0, not both 0; temperature > 0 and only for
 * 'kl' / 'soft-ce'; ε in [0, 1). Throws `PPTSNError('invalid-argument')` naming the setting.
 */
export function resolveDistillation(partial: Partial<DistillationSettings> = {}): DistillationSettings {
  const kdLoss = partial.kdLoss ?? 'dml';
  if (!(KD_LOSSES as readonly string[]).includes(kdLoss)) throw new PPTSNError('invalid-argument', `unknown distillation loss '${String(kdLoss)}': use ${KD_LOSSES.join(', ')}`);
  if (kdLoss === 'dml' && partial.temperature !== undefined && partial.temperature !== 1) {
    throw new PPTSNError('invalid-argument', `the 'dml' distillation loss has no temperature (PaddleVideo's DistillationDMLLoss): use 'kl' or 'soft-ce' with a temperature`);
  }
  const temperature = partial.temperature ?? (kdLoss === 'kl' ? KL_TEMPERATURE : 1);
  checkTemperature(temperature);
  const weight = (name: string, v: number | undefined) => {
    const w = v ?? 1;
    if (!(Number.isFinite(w) && w >= 0)) throw new PPTSNError('invalid-argument', `the ${name} weight must be a number ≥ 0, got ${v}`);
    return w;
  };
  const kdWeight = weight('distillation', partial.kdWeight);
  const ceWeight = weight('cross-entropy', partial.ceWeight);
  if (kdWeight === 0 && ceWeight === 0) throw new PPTSNError('invalid-argument', 'the distillation and cross-entropy weights are both 0: nothing would be learned');
  const labelSmoothing = partial.labelSmoothing ?? 0;
  if (!(labelSmoothing >= 0 && labelSmoothing < 1)) throw new PPTSNError('invalid-argument', `label smoothing must be in [0, 1), got ${labelSmoothing}`);
  return { kdLoss, temperature, kdWeight, ceWeight, labelSmoothing };
}

/** The distillation term `settings.kdLoss` of `student` against `teacher`. */
export function kdLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, settings: Pick<DistillationSettings, 'kdLoss' | 'temperature'>): tf.Scalar {
  switch (settings.kdLoss) {
    case 'dml': return dmlLoss(student, teacher);
    case 'kl': return klDivLoss(student, teacher, settings.temperature);
    case 'soft-ce': return softTargetCrossEntropy(student, teacher, settings.temperature);
  }
}

/** Hard labels of the rows of a (micro-)batch: `null` for an unlabelled clip. */
export interface RowLabels {
  /** The row's own clip's label. */
  labels: readonly (number | null)[];
  /** Under mixup: λ and the label of the clip each row was mixed with. */
  mixup?: { lambda: number; partner: readonly (number | null)[] };
}

/**
 * The `RowLabels` of batch rows `rows` (indices into the batch's clips) given the batch's `labels` (null =
 * unlabelled) and its mixup draw, as step.ts picks them for a micro-batch.
 */
export function rowLabels(labels: readonly (number | null)[], draw: MixupDraw | null, rows: readonly number[]): RowLabels {
  const own = rows.map((r) => labels[r] ?? null);
  if (!draw) return { labels: own };
  return { labels: own, mixup: { lambda: draw.lambda, partner: rows.map((r) => labels[draw.perm[r]!] ?? null) } };
}

/** The losses of one batch: the weighted total to differentiate and each term unweighted (for the log). */
export interface DistillationLosses {
  /** ceWeight·ce + kdWeight·kd (ce left out when no row has a label). */
  total: tf.Scalar;
  /** The distillation term over all rows (the log's `kd`). */
  kd: tf.Scalar;
  /** The hard-label CE over the labelled rows, or null when none is labelled (or ceWeight is 0). */
  ce: tf.Scalar | null;
}

/**
 * Rows `rows` of `x` `[N, K]` → `[rows.length, K]`, differentiable on every backend: slices and a concat, whose
 * gradients (pad, slice) tfjs-backend-wasm has. `tf.gather` would do the same forward, but its gradient is
 * UnsortedSegmentSum, which wasm (Node's training backend, the page's wasm one) does not register.
 */
function pickRows(x: tf.Tensor2D, rows: readonly number[]): tf.Tensor2D {
  return tf.concat(rows.map((r) => tf.slice(x, [r, 0], [1, -1]))) as tf.Tensor2D;
}

/**
 * CE + distillation (`RecognizerDistillation.get_loss`): the distillation term over every row (labelled or not:
 * for an unlabelled clip the teacher is the only target) and the hard-label CE (`DistillationCELoss`, mixup form
 * when mixed, smoothed when `labelSmoothing` > 0) over the rows whose labels are known (under mixup, both the
 * row's and its partner's), averaged over those rows. Returns new tensors the caller disposes; inside
 * `tf.variableGrads` return `total` and `tf.keep` the terms to log them.
 */
export function distillationLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, labels: RowLabels | null, settings: DistillationSettings): DistillationLosses {
  checkPair(student, teacher, 'distillation loss');
  const n = student.shape[0];
  if (labels && (labels.labels.length !== n || (labels.mixup && labels.mixup.partner.length !== n))) {
    throw new PPTSNError('invalid-argument', `distillation loss: ${labels.labels.length} labels for ${n} rows of logits`);
  }
  const kd = kdLoss(student, teacher, settings);
  let ce: tf.Scalar | null = null;
  const known = labels ? labels.labels.flatMap((y, i) => (y !== null && (!labels.mixup || labels.mixup.partner[i] !== null) ? [i] : [])) : [];
  if (labels && known.length && settings.ceWeight > 0) {
    ce = tf.tidy(() => {
      const logits = known.length === n ? student : pickRows(student, known);
      const mixed = labels.mixup ? { lambda: labels.mixup.lambda, partner: known.map((i) => labels.mixup!.partner[i]!) } : undefined;
      return distillationCELoss(logits, known.map((i) => labels.labels[i]!), mixed, settings.labelSmoothing);
    });
  }
  const total = tf.tidy(() => {
    const k = tf.mul(kd, settings.kdWeight);
    return (ce ? tf.add(k, tf.mul(ce, settings.ceWeight)) : k) as tf.Scalar;
  });
  return { total, kd, ce };
}

/** Share of rows whose best class is the same in `a` and `b` (predicted indices; the log's `agreement`). */
export function top1Agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new PPTSNError('invalid-argument', `agreement: ${a.length} student predictions but ${b.length} teacher predictions`);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return a.length ? same / a.length : 0;
}
