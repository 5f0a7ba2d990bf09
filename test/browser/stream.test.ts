/**
 * Live classification (`model.classifyStream`) in headless Chromium on wasm with the seeded ResNet18-vd:
 * - the worker's ring buffer: each result equals classify on the same window's frames (one backbone pass per frame,
 *   window = min(seen, segments)), and the ring holds exactly one feature tensor per frame in the window;
 * - a `<canvas>.captureStream()` with changing content and a playing `<video>`: results arrive while it plays, each
 *   averages min(seen, segments) consecutive sampled frames, results change, `stop()`/`signal` end it, no result
 *   arrives afterwards, and `model.memory()` is back at its baseline;
 * - the worker dying under a stream: `onError` gets a typed error and `done` rejects (no hang).
 *
 * Run: node --import tsx --test test/browser/stream.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv, callPage, ok, type Outcome } from '../helpers/browser.js';
import { writeLiveModel, LIVE_MODEL_URL, WASM_PATHS, CLASSES } from '../helpers/liveModel.js';

let env: BrowserEnv;
let page: Page;

interface Mem { numTensors: number; numBytes: number }
interface StreamRun {
  results: {
    frames: number; frameNumbers: number[]; timestamps: number[]; logits: number[]; probabilities: number[];
    top: { index: number; label: string; score: number }[]; timings: { totalMs: number; inferenceMs: number };
  }[];
  atStop: number; afterStop: number; before: Mem; during: Mem; after: Mem; errors: string[]; dropped: number; doneState: string;
}

function live<T>(method: string, ...args: unknown[]): Promise<T> {
  return callPage<T>(page, 'live', method, ...args);
}

before(async () => {
  writeLiveModel();
  env = await startBrowserEnv();
  ({ page } = await env.open('/test/browser/pages/live.html'));
  await page.waitForFunction(() => document.title === 'ready');
  ok(await live<Outcome<unknown>>('load', { model: LIVE_MODEL_URL, backend: 'wasm', wasmPaths: WASM_PATHS, cache: false }), 'load');
});

after(async () => {
  await env?.close();
});

const tensors = (m: Mem) => ({ numTensors: m.numTensors, numBytes: m.numBytes });

/** Checks what every stream run must satisfy. */
function checkRun(run: StreamRun, segments: number, what: string): void {
  const n = run.results.length;
  console.log(`${what}: ${n} results (${run.dropped} frames dropped while busy); tensors before ${run.before.numTensors}, during ${run.during.numTensors}, after ${run.after.numTensors}; ` +
    `per result ${Math.round(run.results.reduce((a, r) => a + r.timings.totalMs, 0) / Math.max(1, n))} ms`);
  assert.deepEqual(run.errors, []);
  assert.ok(n >= segments + 2, `${what}: only ${n} results`);
  for (const [i, r] of run.results.entries()) {
    // Results come in frame order, and each averages the newest min(seen, segments) sampled frames.
    const newest = r.frameNumbers.at(-1)!;
    assert.equal(r.frames, Math.min(newest + 1, segments), `${what} result ${i}: ${r.frames} frames after ${newest + 1} sampled`);
    assert.deepEqual(r.frameNumbers, Array.from({ length: r.frames }, (_, k) => newest - r.frames + 1 + k));
    assert.equal(r.timestamps.length, r.frames);
    if (i > 0) assert.ok(newest > run.results[i - 1]!.frameNumbers.at(-1)!);
  }
  const distinct = new Set(run.results.map((r) => r.logits.map((v) => v.toFixed(5)).join(','))).size;
  assert.ok(distinct >= n - 1, `${what}: results should change with the content (${distinct} distinct of ${n})`);
  assert.equal(run.afterStop, run.atStop, `${what}: ${run.afterStop - run.atStop} results after stop`);
  assert.ok(run.during.numTensors > run.before.numTensors, 'the window holds features while running');
  assert.deepEqual(tensors(run.after), tensors(run.before), `${what}: memory back to baseline after stop`);
  assert.equal(run.doneState, 'resolved');
}

test('ring buffer: every result = classify on the same window of frames; one feature tensor per frame held', async () => {
  const window = 4;
  const r = await live<{ steps: { frames: number; frameNumbers: number[]; maxDiff: number; scale: number; tensorsHeld: number }[]; tensorsAfterClose: number }>('ringCheck', 7, window);
  for (const [i, s] of r.steps.entries()) {
    assert.equal(s.frames, Math.min(i + 1, window));
    assert.deepEqual(s.frameNumbers, Array.from({ length: s.frames }, (_, k) => i + 1 - s.frames + k));
    assert.ok(s.maxDiff <= 1e-4 * Math.max(1, s.scale), `step ${i}: stream logits differ from classify by ${s.maxDiff}`);
    assert.equal(s.tensorsHeld, s.frames, `step ${i}: ${s.tensorsHeld} tensors held for ${s.frames} frames`);
  }
  assert.equal(r.tensorsAfterClose, 0);
  console.log(`ring vs classify: max |Δlogit| ${Math.max(...r.steps.map((s) => s.maxDiff)).toExponential(2)} over ${r.steps.length} steps`);
});

test('canvas.captureStream(): results while it plays, windows of min(seen, segments), stop() ends it, memory back to baseline', async () => {
  const segments = 4;
  const run = await live<StreamRun>('canvasStream', { segments, windowSeconds: 1, runMs: 4000 });
  checkRun(run, segments, 'canvas stream');
  // Sampling at segments / windowSeconds = 4 frames/s at most: consecutive sampled frames ≥ ~0.24 s apart.
  for (const r of run.results) for (let k = 1; k < r.timestamps.length; k++) assert.ok(r.timestamps[k]! - r.timestamps[k - 1]! >= 0.2, `timestamps ${r.timestamps}`);
});

test('playing <video>: results while it plays, media timestamps, signal ends the stream', async () => {
  const segments = 3;
  const run = await live<StreamRun>('videoStream', { url: '/test/fixtures/media/example.mp4', segments, windowSeconds: 1.5, runMs: 3000, useSignal: true });
  checkRun(run, segments, '<video> stream');
  const ts = run.results.flatMap((r) => r.timestamps);
  assert.ok(ts.every((t) => t >= 0 && t < 6), `media times ${ts.slice(0, 8)}`);
});

/** What `top` must be: the allowed classes at or above the threshold, by probability (lower index first on ties). */
function expectedTop(p: number[], k: number, threshold = 0, allow?: number[]): number[] {
  const candidates = allow ?? p.map((_, i) => i);
  return candidates.filter((i) => p[i]! >= threshold).sort((a, b) => p[b]! - p[a]! || a - b).slice(0, k);
}

test('scoreThreshold and classes filter each result\'s top like classify; bad values throw invalid-argument at the call', async () => {
  // classes by label and by index; topK 3 of 4 allowed.
  const allowed = await live<StreamRun>('canvasStream', { segments: 2, windowSeconds: 0.5, runMs: 1500, topK: 3, classes: ['label 7', 2, 'label 4', 9] });
  assert.deepEqual(allowed.errors, []);
  assert.ok(allowed.results.length >= 2, `only ${allowed.results.length} results`);
  for (const r of allowed.results) {
    assert.equal(r.probabilities.length, CLASSES, 'probabilities cover every class');
    assert.deepEqual(r.top.map((t) => t.index), expectedTop(r.probabilities, 3, 0, [7, 2, 4, 9]));
    for (const t of r.top) assert.equal(t.label, `label ${t.index}`);
  }
  assert.deepEqual(tensors(allowed.after), tensors(allowed.before));
  // A threshold at the mean probability (1/classes): some classes always fall below it.
  const threshold = 1 / CLASSES;
  const thresholded = await live<StreamRun>('canvasStream', { segments: 2, windowSeconds: 0.5, runMs: 1500, topK: CLASSES, scoreThreshold: threshold });
  assert.deepEqual(thresholded.errors, []);
  assert.ok(thresholded.results.length >= 2, `only ${thresholded.results.length} results`);
  for (const r of thresholded.results) {
    assert.deepEqual(r.top.map((t) => t.index), expectedTop(r.probabilities, CLASSES, threshold));
    assert.ok(r.top.length < CLASSES, `top kept all ${CLASSES} classes under a threshold of ${threshold}`);
    for (const t of r.top) assert.ok(t.score >= threshold);
  }
  const outcomes = await live<string[]>('streamOptionErrors', [
    { scoreThreshold: 1.5 },
    { scoreThreshold: -0.1 },
    { classes: ['no such class'] },
    { classes: [CLASSES] },
    { classes: 'label 1' as unknown as string[] },
    { scoreThreshold: 0.2, classes: ['label 1', 0] },
  ]);
  console.log('classifyStream option errors:', outcomes);
  assert.match(outcomes[0]!, /^invalid-argument: scoreThreshold must be a number between 0 and 1, got 1\.5/);
  assert.match(outcomes[1]!, /^invalid-argument: scoreThreshold .* got -0\.1/);
  assert.match(outcomes[2]!, /^invalid-argument: classes: "no such class" is not a label of this model/);
  assert.match(outcomes[3]!, new RegExp(`^invalid-argument: classes: ${CLASSES} is not a class index of this model`));
  assert.match(outcomes[4]!, /^invalid-argument: classes must be an array/);
  assert.equal(outcomes[5], 'ok');
});

test('the worker dying under a stream: onError gets a typed error, done rejects, and the model works again', async () => {
  const r = await live<{ results: number; errors: string[]; done: string }>('streamWorkerDeath');
  console.log('stream after worker death:', JSON.stringify(r));
  assert.ok(r.results >= 2);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0]!, /^internal: the pptsn-web worker stopped/);
  assert.equal(r.done, 'rejected: internal');
  const again = await live<Outcome<{ frameIndices: number[] }>>('classify', { kind: 'url', url: '/test/fixtures/media/example.mp4' }, { preset: 'fast', segments: 2 });
  assert.deepEqual(ok(again, 'classify after restart').frameIndices, [32, 98]);
});
