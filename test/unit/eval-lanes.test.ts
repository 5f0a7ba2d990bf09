/**
 * Inference lanes: `eval` classifies several clips at once, each on its own onnxruntime session
 * (src/node/onnx/sessionPool.ts, src/node/runtime.ts `lanes`, src/node/evaluate.ts `lanes`). Checked here: the pool
 * never runs two calls on one session and hands a freed session to the next waiter; evaluateJobs keeps records and
 * `onRecord` in job order when a later item finishes first, keeps at most `lanes` clips in the network, gives the
 * same records as one lane, and stops cleanly on abort or a fatal error; the onnx runner with lanes gives the same
 * logits as one session, clamps lanes to its threads, and tfjs runners ignore lanes.
 *
 *   node --import tsx --test test/unit/eval-lanes.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { ClipNetwork } from '../../src/core/classify/clip.js';
import { parseList } from '../../src/core/dataset/lists.js';
import { isPPTSNError, PPTSNError } from '../../src/core/errors.js';
import type { EvalRecord } from '../../src/core/eval/metrics.js';
import type { FramePixels } from '../../src/core/frames/pixels.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';
import { resolvePreprocessOptions } from '../../src/core/preprocess/presets.js';
import { initNodeBackend } from '../../src/node/backends.js';
import { evaluateJobs } from '../../src/node/evaluate.js';
import { writeModelDir } from '../../src/node/modelDir.js';
import type { FeatureSession } from '../../src/node/onnx/session.js';
import { featureSessionPool } from '../../src/node/onnx/sessionPool.js';
import { createNodeRunner } from '../../src/node/runtime.js';
import { relErr } from '../helpers/numerics.js';
import { seededStateDict } from '../helpers/seeded.js';

const MEDIA = fileURLToPath(new URL('../fixtures/media/', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-lanes-'));
  await initNodeBackend('wasm');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the session pool: one call per session at a time, a freed session goes to the next waiter, errors free it', async () => {
  let active = 0, peak = 0;
  const used: number[][] = [[], []];
  const released: number[] = [];
  const fake = (k: number): FeatureSession => {
    let busy = false;
    return {
      async run(data) {
        assert.equal(busy, false, `session ${k} got a second call while busy`);
        busy = true;
        active++;
        peak = Math.max(peak, active);
        used[k]!.push(data[0]!);
        await sleep(data[0] === 2 ? 5 : 30);
        active--;
        busy = false;
        if (data[0] === 4) throw new Error(`session ${k} failed on 4`);
        return new Float32Array([data[0]! * 10]);
      },
      async release() {
        released.push(k);
      },
    };
  };
  const pool = featureSessionPool([fake(0), fake(1)]);
  const outs = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((v) => pool.run(new Float32Array([v]), [1])));
  assert.deepEqual(outs.map((o) => (o.status === 'fulfilled' ? o.value[0] : 'failed')), [10, 20, 30, 'failed', 50, 60]);
  assert.equal(peak, 2, 'both sessions worked at once, never more');
  assert.equal(used[0]!.length + used[1]!.length, 6);
  assert.ok(used[0]!.length >= 2 && used[1]!.length >= 2, `work spread over both sessions: ${JSON.stringify(used)}`);
  await pool.release();
  assert.deepEqual(released.sort(), [0, 1]);
  // One session: the pool is that session.
  const single = fake(0);
  assert.equal(featureSessionPool([single]), single);
});

/** A stand-in network: per-image mean colour as features, their mean over the clip as 3 logits; slow first call. */
function fakeNetwork(delays: (call: number) => number, failOnCall = -1) {
  let calls = 0, active = 0;
  const state = { peak: 0, finished: [] as number[] };
  const network: ClipNetwork = {
    async features(images) {
      const call = calls++;
      active++;
      state.peak = Math.max(state.peak, active);
      await sleep(delays(call));
      active--;
      if (call === failOnCall) throw new PPTSNError('backend-unavailable', 'the stand-in backend went away');
      state.finished.push(call);
      return tf.tidy(() => tf.mean(images, [1, 2]) as tf.Tensor2D);
    },
    head: (features) => tf.tidy(() => tf.mean(features, 1) as tf.Tensor2D),
  };
  return { network, state };
}

function jobsOf(names: string[]) {
  const list = names.map((n, i) => (n === '!' ? 'not a list line' : `${n} ${i % 3}`)).join('\n');
  return parseList(list, { root: MEDIA, format: 'videos' }).entries.map((entry, position) => ({ position, entry }));
}

const config = resolvePreprocessOptions({ preset: 'fast', segments: 2 } as never);
const labels = ['a', 'b', 'c'];

test('evaluateJobs with 2 lanes: records and onRecord in job order, at most 2 clips in the network, same records as 1 lane', async () => {
  const jobs = jobsOf(['example.mp4', 'example.avi', 'missing.mp4', 'example.mp4', '!', 'example.avi']);
  const results: Record<number, { records: EvalRecord[]; seen: number[]; peak: number; finished: number[] }> = {};
  for (const lanes of [1, 2]) {
    // The first backbone call (item 0) is slow: with two lanes, item 1 finishes before it.
    const { network, state } = fakeNetwork((call) => (call === 0 ? 400 : 10));
    const seen: number[] = [];
    const before = tf.memory().numTensors;
    const records = await evaluateJobs(network, jobs, 'videos', { config, labels, chunkSize: 10, lanes, onRecord: (r) => { seen.push(r.position); } });
    assert.equal(tf.memory().numTensors, before, `lanes ${lanes}: no tensor left`);
    results[lanes] = { records, seen, peak: state.peak, finished: state.finished };
  }
  const one = results[1]!, two = results[2]!;
  assert.deepEqual(two.seen, [0, 1, 2, 3, 4, 5], 'onRecord in job order');
  assert.deepEqual(two.records.map((r) => r.position), [0, 1, 2, 3, 4, 5]);
  assert.equal(one.peak, 1);
  assert.equal(two.peak, 2, 'two clips in the network at once, never more');
  assert.notEqual(two.finished[0], 0, 'a later item finished first (the order above is not the order of completion)');
  assert.deepEqual(two.records, one.records, 'the same records as one lane');
  assert.match(two.records[2]!.error!.message, /line 3: .*missing\.mp4 does not exist/);
  assert.match(two.records[4]!.error!.message, /line 5/);
  assert.ok(two.records.filter((r) => r.top).length === 4);
});

test('evaluateJobs with 2 lanes stops cleanly: abort, and a fatal backend error, with nothing reported afterwards', async () => {
  const jobs = jobsOf(['example.mp4', 'example.avi', 'example.mp4', 'example.avi', 'example.mp4']);
  const controller = new AbortController();
  const { network } = fakeNetwork(() => 20);
  const seen: number[] = [];
  const before = tf.memory().numTensors;
  await assert.rejects(
    evaluateJobs(network, jobs, 'videos', { config, labels, chunkSize: 10, lanes: 2, signal: controller.signal, onRecord: (r) => { seen.push(r.position); if (r.position === 0) controller.abort(); } }),
    (e: unknown) => isPPTSNError(e) && e.code === 'aborted',
  );
  const count = seen.length;
  assert.ok(count < jobs.length, `stopped early (${count} records)`);
  await sleep(300);
  assert.equal(seen.length, count, 'no record after the call returned');
  assert.equal(tf.memory().numTensors, before, 'no tensor left after abort');

  const failing = fakeNetwork(() => 20, 2);
  const seen2: number[] = [];
  await assert.rejects(
    evaluateJobs(failing.network, jobs, 'videos', { config, labels, chunkSize: 10, lanes: 2, onRecord: (r) => { seen2.push(r.position); } }),
    (e: unknown) => isPPTSNError(e) && e.code === 'backend-unavailable',
  );
  const count2 = seen2.length;
  await sleep(300);
  assert.equal(seen2.length, count2, 'no record after the call returned');
  assert.deepEqual(seen2, seen2.map((_, k) => k), 'the records reported are a prefix of the list');
  assert.equal(tf.memory().numTensors, before, 'no tensor left after a fatal error');
});

test('an abort in the report of a slow first item, after the other lane finished the rest, still rejects and reports nothing more', async () => {
  const jobs = jobsOf(['example.mp4', 'example.mp4', 'example.mp4', 'example.mp4']);
  // Item 0 holds its lane 1.5 s; the other lane classifies items 1–3 meanwhile, so their records wait behind it.
  const { network } = fakeNetwork((call) => (call === 0 ? 1500 : 1));
  const controller = new AbortController();
  const seen: number[] = [];
  const before = tf.memory().numTensors;
  await assert.rejects(
    evaluateJobs(network, jobs, 'videos', { config, labels, chunkSize: 10, lanes: 2, signal: controller.signal, onRecord: (r) => { seen.push(r.position); if (r.position === 0) controller.abort(); } }),
    (e: unknown) => isPPTSNError(e) && e.code === 'aborted',
  );
  assert.deepEqual(seen, [0], 'no record reported after the abort');
  assert.equal(tf.memory().numTensors, before);
});

test('the onnx runner with lanes: the same logits as one session, concurrent clips, lanes clamped to threads; tfjs ignores lanes', async () => {
  const d = join(dir, 'r18');
  if (!existsSync(join(d, 'model.json'))) await writeModelDir(d, writeModelJson(seededStateDict(18, 4, 11)));
  const clipConfig = resolvePreprocessOptions({ preset: 'fast', segments: 2, shortSize: 64, cropSize: 56 } as never);
  const clip = (seed: number): FramePixels[] => Array.from({ length: 4 }, (_, f) => {
    const data = new Uint8ClampedArray(80 * 64 * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + f * 7 + seed * 101) % 251;
    return { width: 80, height: 64, channels: 4 as const, data };
  });
  const one = await createNodeRunner(d, 'onnx', { threads: 2, lanes: 1 });
  const two = await createNodeRunner(d, 'onnx', { threads: 2, lanes: 2 });
  try {
    assert.equal(one.lanes, 1);
    assert.equal(two.lanes, 2);
    assert.match(two.description, /2 sessions × 1 thread in worker threads/);
    const before = tf.memory().numTensors;
    const together = await Promise.all([1, 2, 3].map((s) => two.clipLogits(clip(s), clipConfig)));
    assert.equal(tf.memory().numTensors, before, 'no tensor left');
    for (const [k, s] of [1, 2, 3].entries()) {
      const alone = await one.clipLogits(clip(s), clipConfig);
      const err = relErr(together[k]!.logits, alone.logits);
      assert.ok(err <= 1e-6, `clip ${s}: lanes vs one session ${err}`);
    }
  } finally {
    await one.dispose();
    await two.dispose();
  }
  const clamped = await createNodeRunner(d, 'onnx', { threads: 1, lanes: 4 });
  assert.equal(clamped.lanes, 1, 'never more lanes than threads');
  await clamped.dispose();
  const wasm = await createNodeRunner(d, 'wasm', { lanes: 2 });
  assert.equal(wasm.lanes, 1, 'tfjs runners run one clip at a time');
  await wasm.dispose();
});
