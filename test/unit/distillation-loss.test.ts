/**
 * The distillation losses (src/core/train/distillation.ts) against SPEC §5's float64 check values (3 samples × 4
 * classes): values to 1e-6 relative, gradients (tf.grad) to 1e-5, DML(S, S) = 0 with a zero gradient; the
 * combiner's weights, unlabelled rows and mixup; settings validation; no tensor leaks.
 *
 *   node --import tsx --test test/unit/distillation-loss.test.ts
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { registerGradientsNode } from '../helpers/nodeGradients.js';
import {
  distillationCELoss, distillationLoss, dmlLoss, klDivLoss, resolveDistillation, rowLabels, softTargetCrossEntropy, top1Agreement,
} from '../../src/core/train/distillation.js';
import { isPPTSNError } from '../../src/core/errors.js';

// SPEC §5's inputs and check values (float64).
const S = [[1, 2, 0.5, -1], [0.3, -0.2, 2.2, 0], [-1.5, 0, 0.5, 3]];
const T = [[0.5, 3, 0, -2], [0, 0, 1, 0], [-1, 1, 0, 2]];
const Y = [1, 2, 3];
const PERM = [2, 0, 1];
const LAMBDA = 0.7;
const CE_S = 0.30991106343639685;
const CE_T = 0.4378887705631409;
const MIXUP_CE_S = 1.099911063436397;
const DML_ST = 0.19387744900217432;
const DML_GRAD_ROW0 = [0.05894708, -0.10584634, 0.03575321, 0.01114604];
const KL_T4 = 0.2778054075106449;
const KL_T1 = 0.20266715106416608;
const LS_CE_S = 0.4932443967697302;

/** |got − want| ≤ tol·|want| (relative; `floor` guards a zero reference). */
function rel(got: number, want: number, tol: number, what: string, floor = 0): void {
  assert.ok(Math.abs(got - want) <= tol * Math.max(Math.abs(want), floor), `${what}: ${got} vs ${want} (rel ${Math.abs(got - want) / Math.abs(want)})`);
}
const value = (f: () => tf.Scalar): number => tf.tidy(() => f().dataSync()[0]!);
const s = () => tf.tensor2d(S);
const t = () => tf.tensor2d(T);

/** Float64 softmax of a row, for formulas computed in the test. */
function softmax64(row: number[], temp = 1): number[] {
  const m = Math.max(...row.map((v) => v / temp));
  const e = row.map((v) => Math.exp(v / temp - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

before(async () => {
  await registerGradientsNode();
  await initNodeBackend('cpu');
});

describe('distillation losses equal SPEC §5 (float32, 1e-6 relative)', () => {
  it('DistillationCELoss: plain CE of student and teacher, and the mixup form', () => {
    rel(value(() => distillationCELoss(s(), Y)), CE_S, 1e-6, 'CE(S, y)');
    rel(value(() => distillationCELoss(t(), Y)), CE_T, 1e-6, 'CE(T, y)');
    const partner = PERM.map((p) => Y[p]!);
    rel(value(() => distillationCELoss(s(), Y, { lambda: LAMBDA, partner })), MIXUP_CE_S, 1e-6, 'mixup CE(S)');
    // ppTSNHead's label-smoothed CE through the same function.
    rel(value(() => distillationCELoss(s(), Y, undefined, 0.1)), LS_CE_S, 1e-6, 'label-smoothed CE(S)');
  });

  it('DistillationDMLLoss: DML(S, T), and DML(S, S) = 0', () => {
    rel(value(() => dmlLoss(s(), t())), DML_ST, 1e-6, 'DML(S, T)');
    // Symmetric.
    rel(value(() => dmlLoss(t(), s())), DML_ST, 1e-6, 'DML(T, S)');
    assert.equal(value(() => dmlLoss(s(), s())), 0);
  });

  it('PaddleClas KLDivLoss at T = 4 and T = 1', () => {
    rel(value(() => klDivLoss(s(), t(), 4)), KL_T4, 1e-6, 'KL T=4');
    rel(value(() => klDivLoss(s(), t())), KL_T4, 1e-6, 'KL default T (4)');
    rel(value(() => klDivLoss(s(), t(), 1)), KL_T1, 1e-6, 'KL T=1');
  });

  it('soft-label CE = KL + T²·(the teacher\'s entropy), at T = 1 and T = 4', () => {
    for (const [temp, kl] of [[1, KL_T1], [4, KL_T4]] as const) {
      const entropy = T.reduce((acc, row) => acc - softmax64(row, temp).reduce((a, q) => a + q * Math.log(q), 0), 0) / T.length;
      rel(value(() => softTargetCrossEntropy(s(), t(), temp)), kl + temp * temp * entropy, 1e-6, `soft-CE T=${temp}`);
    }
    // numpy float64 of −mean Σ softmax(T)·log_softmax(S).
    rel(value(() => softTargetCrossEntropy(s(), t())), 1.0982152932049474, 1e-6, 'soft-CE T=1 (numpy)');
  });
});

describe('gradients (tf.grad, 1e-5)', () => {
  const gradRows = (f: (x: tf.Tensor2D) => tf.Scalar, at: number[][]): number[][] => tf.tidy(() => tf.grad((x: tf.Tensor) => f(x as tf.Tensor2D))(tf.tensor2d(at)).arraySync() as number[][]);

  it('∂DML/∂S row 0 equals SPEC §5', () => {
    const g = gradRows((x) => dmlLoss(x, t()), S);
    DML_GRAD_ROW0.forEach((want, k) => rel(g[0]![k]!, want, 1e-5, `∂DML/∂S[0][${k}]`));
  });

  it('DML(S, S) has a zero gradient', () => {
    const g = gradRows((x) => dmlLoss(x, s()), S);
    for (const row of g) for (const v of row) assert.ok(Math.abs(v) <= 1e-12, `gradient ${v}`);
  });

  it('∂KL/∂S = T/N·(softmax(S/T) − softmax(T/T)) and the soft-label CE has the same gradient', () => {
    for (const temp of [1, 4]) {
      const gk = gradRows((x) => klDivLoss(x, t(), temp), S);
      const gs = gradRows((x) => softTargetCrossEntropy(x, t(), temp), S);
      S.forEach((row, n) => {
        const ps = softmax64(row, temp);
        const pt = softmax64(T[n]!, temp);
        ps.forEach((p, k) => {
          const want = (temp / S.length) * (p - pt[k]!);
          rel(gk[n]![k]!, want, 1e-5, `∂KL/∂S[${n}][${k}] T=${temp}`, 1e-3);
          rel(gs[n]![k]!, want, 1e-5, `∂softCE/∂S[${n}][${k}] T=${temp}`, 1e-3);
        });
      });
    }
  });
});

describe('distillationLoss: CE + distillation with a weight each', () => {
  const settings = resolveDistillation({ kdWeight: 0.5, ceWeight: 2 });

  it('labelled batch: total = ceWeight·CE + kdWeight·DML, each term reported unweighted', () => {
    const before = tf.memory().numTensors;
    const r = tf.tidy(() => {
      const l = distillationLoss(s(), t(), rowLabels(Y, null, [0, 1, 2]), settings);
      return [l.total, l.kd, l.ce!].map((x) => x.dataSync()[0]!);
    });
    rel(r[1]!, DML_ST, 1e-6, 'kd');
    rel(r[2]!, CE_S, 1e-6, 'ce');
    rel(r[0]!, 2 * CE_S + 0.5 * DML_ST, 1e-6, 'total');
    assert.equal(tf.memory().numTensors, before);
  });

  it('unlabelled rows get the distillation term alone; a batch without labels has no CE', () => {
    const mixedBatch = tf.tidy(() => {
      const l = distillationLoss(s(), t(), rowLabels([1, null, 3], null, [0, 1, 2]), settings);
      return { ce: l.ce!.dataSync()[0]!, kd: l.kd.dataSync()[0]!, total: l.total.dataSync()[0]! };
    });
    const ceRows02 = value(() => distillationCELoss(tf.tensor2d([S[0]!, S[2]!]), [1, 3]));
    rel(mixedBatch.ce, ceRows02, 1e-6, 'CE over the labelled rows');
    rel(mixedBatch.kd, DML_ST, 1e-6, 'kd over all rows');
    rel(mixedBatch.total, 2 * ceRows02 + 0.5 * DML_ST, 1e-6, 'total');
    const none = tf.tidy(() => {
      const l = distillationLoss(s(), t(), null, settings);
      assert.equal(l.ce, null);
      return l.total.dataSync()[0]!;
    });
    rel(none, 0.5 * DML_ST, 1e-6, 'unlabelled total');
  });

  it('under mixup: the mixup CE of SPEC §5; rows whose partner is unlabelled leave the CE', () => {
    const draw = { lambda: LAMBDA, perm: PERM };
    const kl = resolveDistillation({ kdLoss: 'kl' });
    const full = value(() => distillationLoss(s(), t(), rowLabels(Y, draw, [0, 1, 2]), kl).ce!);
    rel(full, MIXUP_CE_S, 1e-6, 'mixup CE');
    rel(value(() => distillationLoss(s(), t(), rowLabels(Y, draw, [0, 1, 2]), kl).kd), KL_T4, 1e-6, 'kd = KL T=4');
    // Clip 0 unlabelled: row 0 (own) and row 1 (partner 0) leave; row 2 (own 3, partner y[1] = 2) stays.
    const part = value(() => distillationLoss(s(), t(), rowLabels([null, 2, 3], draw, [0, 1, 2]), kl).ce!);
    const want = value(() => distillationCELoss(tf.tensor2d([S[2]!]), [3], { lambda: LAMBDA, partner: [2] }));
    rel(part, want, 1e-6, 'mixup CE over rows with both labels');
    // A micro-batch's rows pick their labels and partners from the whole batch.
    assert.deepEqual(rowLabels(Y, draw, [1, 2]), { labels: [2, 3], mixup: { lambda: LAMBDA, partner: [1, 2] } });
  });

  it('the gradient of a batch with labelled and unlabelled rows runs on wasm (the CLI\'s and the page\'s training backend) as on cpu', async () => {
    // The CE picks the labelled rows of the student's logits; tf.gather's gradient needs UnsortedSegmentSum, a
    // kernel tfjs-backend-wasm lacks, so `train --teacher` on a labelled + an --unlabeled list failed at its first step.
    const settings = resolveDistillation({ kdWeight: 0.5, ceWeight: 2 });
    const labels = rowLabels([1, null, 3], { lambda: LAMBDA, perm: [0, 2, 1] }, [0, 1, 2]);
    const gradOn = async (backend: 'cpu' | 'wasm') => {
      await initNodeBackend(backend);
      const before = tf.memory().numTensors;
      const g = tf.tidy(() => Array.from(tf.grad((x: tf.Tensor) => distillationLoss(x as tf.Tensor2D, t(), labels, settings).total)(s()).dataSync()));
      assert.equal(tf.memory().numTensors, before, `${backend}: no tensor left`);
      return g;
    };
    try {
      const cpu = await gradOn('cpu');
      const wasm = await gradOn('wasm');
      cpu.forEach((v, i) => rel(wasm[i]!, v, 1e-5, `d total / d student[${i}]`, 1e-3));
      // Row 1 (unlabelled) has the distillation term's gradient only; rows 0 and 2 the CE's too.
      assert.ok(cpu.some((v) => Math.abs(v) > 1e-3));
    } finally {
      await initNodeBackend('cpu');
    }
  });

  it('settings: defaults, and bad values refused by name', () => {
    assert.deepEqual(resolveDistillation(), { kdLoss: 'dml', temperature: 1, kdWeight: 1, ceWeight: 1, labelSmoothing: 0 });
    assert.equal(resolveDistillation({ kdLoss: 'kl' }).temperature, 4);
    assert.equal(resolveDistillation({ kdLoss: 'soft-ce' }).temperature, 1);
    const bad = (p: Parameters<typeof resolveDistillation>[0], re: RegExp) => assert.throws(() => resolveDistillation(p), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument' && re.test(e.message));
    bad({ kdLoss: 'dml', temperature: 4 }, /'dml' distillation loss has no temperature/);
    bad({ kdLoss: 'kl', temperature: 0 }, /temperature must be a positive number/);
    bad({ kdLoss: 'mse' as 'kl' }, /unknown distillation loss 'mse'/);
    bad({ kdWeight: -1 }, /distillation weight must be a number ≥ 0/);
    bad({ kdWeight: 0, ceWeight: 0 }, /both 0/);
    assert.throws(() => tf.tidy(() => dmlLoss(s(), tf.tensor2d([[1, 2, 3]]))), /DML loss: student logits \[3, 4\] and teacher logits \[1, 3\]/);
  });

  it('top-1 agreement', () => {
    assert.equal(top1Agreement([1, 2, 3, 0], [1, 2, 0, 0]), 0.75);
    assert.equal(top1Agreement([], []), 0);
  });
});
