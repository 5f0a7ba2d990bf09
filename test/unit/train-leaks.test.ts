/**
 * `runTrain` (the `pptsn-web train` command in-process) leaves no tfjs tensor behind: the trainable model, the
 * optimiser's velocities, the frozen part (onnxruntime-node runner for 'head', tfjs Recognizer for a cached
 * 'last-stage') and every batch are freed, whatever the strategy, and after a stop (an aborted signal) too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { seededStateDict } from '../helpers/seeded.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';
import { initNodeBackend } from '../../src/node/backends.js';
import { registerGradients } from '../../src/node/gradients.js';
import { writeModelDir } from '../../src/node/modelDir.js';
import { runTrain } from '../../src/cli/train.js';

let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-train-leaks-'));
  const lines: string[] = [];
  ['red', 'blue'].forEach((c, label) => {
    for (let k = 0; k < 3; k++) {
      const rel = `${c}/v${k}`;
      mkdirSync(join(dir, rel), { recursive: true });
      const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `color=c=${c}:s=64x48:r=10:d=0.6,noise=alls=${20 + 5 * k}:allf=t`, '-q:v', '3', join(dir, rel, 'img_%05d.jpg')]);
      assert.equal(r.status, 0, String(r.stderr));
      lines.push(`${rel} 6 ${label}`);
    }
  });
  writeFileSync(join(dir, 'train.txt'), lines.join('\n') + '\n');
  await writeModelDir(join(dir, 'model'), writeModelJson(seededStateDict(18, 2, 3), { labels: ['red', 'blue'] }));
  await initNodeBackend('wasm');
  await registerGradients();
});
after(() => rmSync(dir, { recursive: true, force: true }));

for (const strategy of ['head', 'last-stage'] as const) {
  test(`train --strategy ${strategy}: tf.memory().numTensors is the same before and after, finished or stopped`, async () => {
    const before = tf.memory().numTensors;
    const quiet = { print: () => undefined, log: () => undefined };
    const base = { list: join(dir, 'train.txt'), modelDir: join(dir, 'model'), root: dir, valid: join(dir, 'train.txt'), ...quiet };
    const done = await runTrain({ ...base, out: join(dir, `run-${strategy}`), recipe: { strategy, segments: 1, epochs: 2, batchSize: 2, views: 1 } });
    assert.equal(done.stopped, false);
    assert.equal(tf.memory().numTensors, before, 'after a finished run');
    const controller = new AbortController();
    controller.abort();
    const stopped = await runTrain({ ...base, out: join(dir, `stop-${strategy}`), recipe: { strategy, segments: 1, epochs: 2, batchSize: 2, views: 1 }, signal: controller.signal });
    assert.equal(stopped.stopped, true);
    assert.equal(tf.memory().numTensors, before, 'after a stopped run');
  });
}
