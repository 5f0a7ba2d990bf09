/**
 * Embeddings (src/core/classify/embed.ts) against the golden cases: the per-image features are the golden pooled
 * features (first 8 values, mean, std), the clip embedding is their mean, and the FC applied to it by hand gives
 * the golden logits, i.e. it is exactly what ppTSNHead sees. Per-frame pooling is checked on a known layout.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { poolEmbedding } from '../../src/core/classify/embed.js';
import { tensorFeatures } from '../../src/core/classify/tensorInput.js';
import { Recognizer } from '../../src/core/model/recognizer.js';
import type { Depth } from '../../src/core/model/arch.js';
import { initNodeBackend } from '../../src/node/backends.js';
import { seededInput, seededStateDict } from '../helpers/seeded.js';

const GOLDEN = JSON.parse(readFileSync(new URL('../fixtures/golden/seeded_cases.json', import.meta.url), 'utf8')) as {
  depth: Depth; num_classes: number; weight_seed: number; input_shape: number[]; input_seed: number;
  logits: number[][]; pooled_first8: number[][]; pooled_mean: number; pooled_std: number;
}[];

const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i]! - b[i]!)); m = Math.max(m, Math.abs(b[i]!)); }
  return d / m;
};

before(async () => { await initNodeBackend('wasm'); });

for (const c of GOLDEN) {
  test(`embed = the pooled features the head averages: golden depth ${c.depth}, input [${c.input_shape.join(', ')}]`, async () => {
    const sd = seededStateDict(c.depth, c.num_classes, c.weight_seed);
    const model = Recognizer.fromStateDict(sd);
    const x = tf.tensor(seededInput(c.input_shape, c.input_seed), c.input_shape);
    const baseline = tf.memory().numTensors;
    const [N, S] = c.input_shape as [number, number];
    const F = model.arch.featureDim;
    try {
      const feats = await tensorFeatures(model, x, { chunkSize: 4 });
      assert.equal(tf.memory().numTensors, baseline + 1, 'only the features are left');
      assert.deepEqual(feats.shape, [N, S, F]);
      const all = (await feats.data()) as Float32Array;
      // Per image (row n·S + s): the golden pooled features.
      const first8 = Array.from({ length: N * S }, (_, r) => Array.from(all.subarray(r * F, r * F + 8)));
      assert.ok(rel(first8.flat(), c.pooled_first8.flat()) <= 1e-4, 'pooled_first8');
      const mean = all.reduce((a, v) => a + v, 0) / all.length;
      const std = Math.sqrt(all.reduce((a, v) => a + (v - mean) ** 2, 0) / (all.length - 1));
      assert.ok(Math.abs(mean - c.pooled_mean) <= 1e-4 * Math.abs(c.pooled_mean), `mean ${mean} vs ${c.pooled_mean}`);
      assert.ok(Math.abs(std - c.pooled_std) <= 1e-4 * c.pooled_std, `std ${std} vs ${c.pooled_std}`);
      const W = sd.get('head.fc.weight')!.data;
      const b = sd.get('head.fc.bias')!.data;
      for (let n = 0; n < N; n++) {
        const clip = tf.tidy(() => tf.reshape(tf.slice(feats, [n, 0, 0], [1, S, F]), [S, F]) as tf.Tensor2D);
        const e = await poolEmbedding(clip, S, true);
        clip.dispose();
        assert.equal(e.embedding.length, F);
        // The FC on the embedding, by hand in float64: the golden logits of clip n.
        const logits = Array.from({ length: c.num_classes }, (_, k) => {
          let s = b[k]!;
          for (let f = 0; f < F; f++) s += e.embedding[f]! * W[f * c.num_classes + k]!;
          return s;
        });
        const err = rel(logits, c.logits[n]!);
        console.log(`depth ${c.depth} clip ${n}: FC(embedding) vs golden logits, max rel err ${err.toExponential(2)}`);
        assert.ok(err <= 1e-4, `logits from the embedding: ${err}`);
        // One crop per image here: frame s is image s.
        assert.equal(e.frames!.length, S);
        assert.ok(rel(e.frames![S - 1]!, all.subarray((n * S + S - 1) * F, (n * S + S) * F)) <= 1e-6);
      }
      feats.dispose();
      assert.equal(tf.memory().numTensors, baseline, 'tensors back to baseline');
    } finally {
      model.dispose();
      x.dispose();
    }
  });
}

test('per-frame embeddings average each frame\'s crops in PaddleVideo\'s order (row c·T + t)', async () => {
  const T = 3, C = 2, F = 4;
  // Row c·T + t holds the value 10·t + c in every column.
  const rows = Array.from({ length: C * T }, (_, r) => Array(F).fill(10 * (r % T) + Math.floor(r / T)) as number[]);
  const feats = tf.tensor2d(rows);
  const before = tf.memory().numTensors;
  const e = await poolEmbedding(feats, T, true);
  assert.equal(tf.memory().numTensors, before);
  feats.dispose();
  assert.deepEqual(e.frames!.map((f) => f[0]), [0.5, 10.5, 20.5]);
  assert.ok(Math.abs(e.embedding[0]! - 10.5) < 1e-6);
  const noFrames = await poolEmbedding(tf.tidy(() => tf.ones([4, 2]) as tf.Tensor2D), 2, false);
  assert.equal(noFrames.frames, undefined);
});
