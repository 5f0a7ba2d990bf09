/**
 * The bench's train section starts each strategy at its stage boundary (bench/trainStep.ts boundaryShape: res5's
 * input for `last-stage`, the feature map for `head`) and native PyTorch (bench/torch_train.py) must get the same
 * input, or the ratio compares different work. Here every boundary's shape is held to what the model's own
 * backbone produces there (Recognizer.runStages), at even and odd sizes, and torch_train.py's formula is held
 * to the same shapes. (A merge once put back `size / 2^(from + 1)`: our runtimes trained res5 on 7×7 inputs at
 * 224 px while PyTorch trained it on 14×14, a third of the work.)
 *
 *   node --import tsx --test test/unit/bench-train-shapes.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerGradientsNode } from '../helpers/nodeGradients.js';
import { boundaryShape } from '../../bench/trainStep.js';
import { macsPerImage, trainMacsPerImage } from '../../bench/flops.js';
import { Recognizer } from '../../src/core/model/recognizer.js';
import { TrainableRecognizer } from '../../src/core/model/trainable.js';
import type { StageBoundary } from '../../src/core/model/resnetVd.js';
import { seededStateDict } from '../helpers/seeded.js';

const BOUNDARIES: StageBoundary[] = [1, 2, 3, 4, 5];

/** torch_train.py's input height at boundary `start` for `size` px, read from its source and evaluated. */
function torchHeight(start: number, size: number): number {
  const src = readFileSync(new URL('../../bench/torch_train.py', import.meta.url), 'utf8');
  const m = /h = -\(-a\.size \/\/ 2 \*\* max\(start, (\d+)\)\) if start else a\.size/.exec(src);
  assert.ok(m, 'torch_train.py: the input-height line changed; update this test with it');
  return start ? Math.ceil(size / 2 ** Math.max(start, Number(m[1]))) : size;
}

test('boundaryShape = the backbone\'s own output at every stage boundary (depth 18 at 64 and 100 px, depth 50 at 36 px), and torch_train.py agrees', async () => {
  await registerGradientsNode();
  await tf.setBackend('cpu');
  for (const [depth, sizes] of [[18, [64, 100]], [50, [36]]] as const) {
    const sd = seededStateDict(depth, 3, 5);
    const net = Recognizer.fromStateDict(sd, { depth, numClasses: 3 });
    const trainable = TrainableRecognizer.fromStateDict(sd, { trainable: 'last-stage' });
    try {
      for (const size of sizes) {
        const before = tf.memory().numTensors;
        // Stage by stage: the output at boundary b − 1 is the input of the run to b.
        let x = tf.zeros([1, size, size, 3]) as tf.Tensor4D;
        for (const b of BOUNDARIES) {
          const out = net.runStages(x, (b - 1) as StageBoundary, b);
          x.dispose();
          x = out;
          assert.deepEqual(boundaryShape(trainable, b, 1, size), out.shape, `depth ${depth}, ${size} px, boundary ${b}`);
          assert.equal(torchHeight(b, size), out.shape[1], `torch_train.py's height at boundary ${b}, ${size} px`);
        }
        x.dispose();
        assert.equal(tf.memory().numTensors, before);
      }
    } finally {
      net.dispose();
      trainable.dispose();
    }
  }
});

test('the train section counts the multiply-adds each side computes: no input gradient at the boundary, the FC per clip', () => {
  const [F, K] = [2048, 400];
  const fc = F * K;
  // head: the FC's forward and weight gradient, once per clip of 2 images.
  assert.equal(trainMacsPerImage(50, 224, K, 5, 2), (2 * fc) / 2);
  // last-stage: 3 × res5's forward, less the input gradients of res5a's first 1×1 (1024→512 on 14×14) and of its
  // shortcut (1024→2048 after the 2×2 average pool, 7×7), which read the cached input; the FC per clip, with dX.
  const res5 = macsPerImage(50, 224, K, 4) - fc;
  assert.equal(trainMacsPerImage(50, 224, K, 4, 2), 3 * res5 - (1024 * 512 * 14 * 14 + 1024 * 2048 * 7 * 7) + (3 * fc) / 2);
  // full: no input gradient for the stem's first conv (3×3, 3→32, stride 2: 112×112 at 224 px).
  const all = macsPerImage(50, 224, K, 0) - fc;
  assert.equal(trainMacsPerImage(50, 224, K, 0, 2), 3 * all - 9 * 3 * 32 * 112 * 112 + (3 * fc) / 2);
});
