/**
 * The public surface as users filter and free models: `classify` with `scoreThreshold` and a `classes` allow-list
 * (labels or indices) keeps `top` sorted and the probabilities whole; bad filters are `invalid-argument`; `close()`
 * and `Symbol.asyncDispose` free the model like `dispose()`. Chromium on wasm, a seeded ResNet18 (10 classes).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv, callPage, ok, ROOT, type Outcome } from '../helpers/browser.js';
import { CLASSES, LABELS, WASM_PATHS, writeLiveModel } from '../helpers/liveModel.js';
import { seededStateDict } from '../helpers/seeded.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';

const VIDEO = '/test/fixtures/media/example.mp4';
const MODEL = '/test/.cache/live/seeded18/model.json';
let env: BrowserEnv;
let page: Page;
let errors: string[];

type Top = { index: number; label: string; score: number }[];
type Each = { result: Outcome<{ top: Top; logits: number[]; probabilities: number[] }>; before: number; after: number }[];
const sf = <T>(method: string, ...args: unknown[]) => callPage<T>(page, 'sf', method, ...args);

before(async () => {
  writeLiveModel();
  env = await startBrowserEnv();
  ({ page, errors } = await env.open('/test/browser/pages/surface.html'));
  await page.waitForFunction(() => document.title === 'ready');
});
after(async () => env?.close());

test('scoreThreshold and classes filter top (sorted, probabilities unchanged); bad filters are invalid-argument; no tensor leaks', async () => {
  const { labels } = ok(await sf<Outcome<{ labels: string[] }>>('load', MODEL, WASM_PATHS), 'load');
  assert.deepEqual(labels, LABELS);
  const base = { preset: 'fast', segments: 2 } as const;
  const runs = ok(await sf<Outcome<Each>>('classifyEach', VIDEO, [
    { ...base, topK: CLASSES },
    { ...base, topK: CLASSES, scoreThreshold: 0.1 },
    { ...base, topK: 3, classes: [LABELS[7], 2, LABELS[4], 9] },
    { ...base, classes: ['no such class'] },
    { ...base, classes: [CLASSES] },
    { ...base, scoreThreshold: 1.5 },
  ]), 'classify');
  for (const r of runs) assert.equal(r.after, r.before, 'tensors back to baseline after each call');
  const [all, threshold, allowed, badLabel, badIndex, badThreshold] = runs.map((r) => r.result);
  const full = ok(all!, 'unfiltered');
  const probs = full.probabilities;
  assert.equal(full.top.length, CLASSES);
  const sorted = (top: Top) => top.every((t, i) => i === 0 || top[i - 1]!.score >= t.score);
  assert.ok(sorted(full.top));
  const t = ok(threshold!, 'threshold');
  assert.deepEqual(t.top.map((x) => x.index), full.top.filter((x) => x.score >= 0.1).map((x) => x.index));
  assert.deepEqual(t.probabilities, probs, 'a threshold filters top only');
  const a = ok(allowed!, 'classes');
  const expected = [7, 2, 4, 9].sort((x, y) => probs[y]! - probs[x]! || x - y).slice(0, 3);
  assert.deepEqual(a.top.map((x) => x.index), expected, 'best 3 of the allowed classes, best first');
  assert.ok(sorted(a.top));
  assert.deepEqual(a.logits, full.logits);
  for (const [r, pattern] of [[badLabel, /"no such class" is not a label/], [badIndex, /10 is not a class index/], [badThreshold, /scoreThreshold must be a number between 0 and 1/]] as const) {
    assert.ok(!r!.ok, `${pattern} rejected`);
    if (!r!.ok) {
      assert.equal(r!.code, 'invalid-argument');
      assert.match(r!.message, pattern);
    }
  }
});

test('embed gives the feature the head averages: FC(embedding) = classify\'s logits, per-frame features average to it', async () => {
  ok(await sf<Outcome<unknown>>('load', MODEL, WASM_PATHS), 'load');
  for (const opts of [{ preset: 'fast', segments: 3, perFrame: true }, { preset: 'fast', segments: 2, crops: 'three', perFrame: true }] as const) {
    const r = ok(await sf<Outcome<{ embedding: number[]; frames: number[][]; frameIndices: number[]; classifyFrameIndices: number[]; logits: number[]; before: number; after: number }>>('embedAndClassify', VIDEO, opts), 'embed');
    assert.equal(r.after, r.before, 'tensors back to baseline after embed');
    assert.equal(r.embedding.length, 512, 'ResNet18: 512-d');
    assert.deepEqual(r.frameIndices, r.classifyFrameIndices);
    assert.equal(r.frames.length, opts.segments);
    const sd = seededStateDict(18, CLASSES, 4242);
    const W = sd.get('head.fc.weight')!.data;
    const b = sd.get('head.fc.bias')!.data;
    const F = r.embedding.length;
    const fc = Array.from({ length: CLASSES }, (_, k) => r.embedding.reduce((s, v, f) => s + v * W[f * CLASSES + k]!, b[k]!));
    const scale = Math.max(...r.logits.map(Math.abs));
    const d = Math.max(...fc.map((v, k) => Math.abs(v - r.logits[k]!))) / scale;
    console.log(`embed ${opts.crops ?? 'center'}: FC(embedding) vs classify logits, max rel diff ${d.toExponential(2)}`);
    assert.ok(d <= 1e-5, `FC(embedding) differs from the logits by ${d}`);
    for (let f = 0; f < F; f += 97) {
      const m: number = r.frames.reduce((s: number, fr) => s + fr[f]!, 0) / r.frames.length;
      assert.ok(Math.abs(m - r.embedding[f]!) <= 1e-5 * (1 + Math.abs(m)), `frames average to the embedding at ${f}`);
    }
  }
});

test('frames (each kind) and PaddleVideo tensors give the File path\'s logits; tensors back to baseline', async () => {
  ok(await sf<Outcome<unknown>>('load', MODEL, WASM_PATHS), 'load');
  const kinds = ['ImageData', 'ImageBitmap', 'HTMLCanvasElement', 'OffscreenCanvas', 'VideoFrame', 'HTMLImageElement', 'tensor'];
  for (const opts of [{ preset: 'fast', segments: 3 }, { preset: 'fast', segments: 2, crops: 'three' }] as const) {
    type Row = { logits: number[]; frameIndices: number[]; before: number; after: number } | { error: string };
    const r = ok(await sf<Outcome<{ file: number[]; out: Record<string, Row>; embed: number[]; embedTensor: number[]; detached: boolean; mismatch: Outcome<unknown> }>>('inputsVsFile', VIDEO, opts, kinds), 'inputs');
    const scale = Math.max(...r.file.map(Math.abs));
    for (const kind of kinds) {
      const row = r.out[kind]!;
      if ('error' in row) assert.fail(`${kind}: ${row.error}`);
      const d = Math.max(...row.logits.map((v, i) => Math.abs(v - r.file[i]!))) / scale;
      console.log(`${opts.crops ?? 'center'} ${kind}: max |Δlogit| vs File ${d.toExponential(2)} × max |logit|`);
      assert.ok(d <= 1e-5, `${kind}: logits differ from the File path by ${d}`);
      assert.equal(row.after, row.before, `${kind}: tensors back to baseline`);
      if (kind !== 'tensor') assert.deepEqual(row.frameIndices, Array.from({ length: opts.segments }, (_, i) => i), `${kind}: the frames are the clip`);
    }
    const de = Math.max(...r.embedTensor.map((v, i) => Math.abs(v - r.embed[i]!))) / Math.max(...r.embed.map(Math.abs));
    assert.ok(de <= 1e-5, `embed(tensor) vs embed(File): ${de}`);
    assert.ok(r.detached, "the tensor's buffer was transferred to the worker");
    assert.ok(!r.mismatch.ok && r.mismatch.code === 'invalid-argument' && /frames were given but segments is/.test(r.mismatch.message), 'segments must match the frame count');
  }
});

test('load progress names each file with a percentage; persist() is asked once a model is cached; cacheInfo has the estimate', async () => {
  type P = { phase: string; loaded: number; total: number; file?: string; progress?: number };
  const r = ok(await sf<Outcome<{ runs: P[][]; persistCalls: number; info: { models: { name: string; bytes: number }[]; usage?: number; quota?: number; persisted?: boolean } }>>('loadTwice', MODEL, WASM_PATHS), 'load twice');
  const [network, cached] = r.runs as [P[], P[]];
  const shards = writeLiveModel();
  for (const [events, phase] of [[network, 'download'], [cached, 'cache']] as const) {
    const data = events.filter((e) => e.phase === phase);
    assert.ok(data.length > 0, `${phase} events`);
    for (const e of data) {
      assert.ok(typeof e.file === 'string' && (e.file === 'model.json' || shards.includes(e.file)), `${phase}: names a file (${e.file})`);
      assert.ok(e.total > 0 && typeof e.progress === 'number' && e.progress >= 0 && e.progress <= 100, `${phase}: a percentage (${e.progress})`);
      assert.ok(Math.abs(e.progress! - (100 * e.loaded) / e.total) < 1e-9);
    }
    assert.equal(data.at(-1)!.progress, 100, `${phase} ends at 100 %`);
    assert.deepEqual(new Set(data.map((e) => e.file).filter((f) => f !== 'model.json')), new Set(shards), `${phase}: every shard named`);
  }
  assert.ok(cached.every((e) => e.phase !== 'download'), 'the second load comes from the cache');
  assert.equal(r.persistCalls, 1, 'persist() asked once per page');
  assert.ok(r.info.models.some((m) => m.name.endsWith(MODEL) && m.bytes > 0), 'the model is in the cache list');
  assert.ok(typeof r.info.usage === 'number' && typeof r.info.quota === 'number' && r.info.quota > 0, 'estimate() figures');
  assert.equal(typeof r.info.persisted, 'boolean');
});

test('a full quota while caching does not fail the load: a quota-exceeded PPTSNError naming the file and bytes reaches onProgress and model.cacheError', async () => {
  type F = { phase: string; file?: string; isPPTSNError: boolean; code: string; message: string; errorFile: string; bytes: number };
  const r = ok(await sf<Outcome<{ failures: F[]; cacheError: { isPPTSNError: boolean; same: boolean; code: string; file: string; bytes: number } | null; labels: number; cached: string[] }>>('loadQuotaFull', MODEL, WASM_PATHS), 'load with a full quota');
  assert.equal(r.labels, CLASSES, 'the model loaded');
  assert.equal(r.failures.length, 1, 'one cache failure reported (caching stops after it)');
  const [f] = r.failures as [F];
  const shards = writeLiveModel();
  const size = statSync(join(ROOT, 'test/.cache/live/seeded18', shards[0]!)).size;
  assert.equal(f.phase, 'cache');
  assert.ok(f.isPPTSNError, 'the event carries a PPTSNError');
  assert.equal(f.code, 'quota-exceeded');
  assert.equal(f.file, shards[0], 'the first shard failed');
  assert.equal(f.errorFile, shards[0]);
  assert.equal(f.bytes, size, "the bytes needed are the shard's size");
  assert.ok(f.message.includes(shards[0]!) && f.message.includes(`(${size} bytes)`), `the message names the file and its bytes: ${f.message}`);
  assert.ok(r.cacheError && r.cacheError.isPPTSNError && r.cacheError.same && r.cacheError.code === 'quota-exceeded' && r.cacheError.file === shards[0] && r.cacheError.bytes === size, 'model.cacheError is the same error');
  assert.ok(!r.cached.some((n) => n.endsWith(MODEL)), 'nothing partial stays cached');
});

test('a model whose model.json says preset fast runs fast when a call names no preset, as the CLI does', async () => {
  // The same weights as MODEL, written with model.json's preset 'fast' (test/.cache is not committed).
  const dir = join(ROOT, 'test/.cache/live/seeded18fast');
  const { modelJson, shards } = writeModelJson(seededStateDict(18, CLASSES, 4242), { labels: LABELS, preset: 'fast' });
  mkdirSync(dir, { recursive: true });
  for (const sh of shards) writeFileSync(join(dir, sh.path), sh.data);
  writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
  ok(await sf<Outcome<unknown>>('load', '/test/.cache/live/seeded18fast/model.json', WASM_PATHS), 'load');
  const runs = ok(await sf<Outcome<Each>>('classifyEach', VIDEO, [{ segments: 2 }, { preset: 'fast', segments: 2 }, { preset: 'accurate', segments: 2 }]), 'classify');
  const [byDefault, fast, accurate] = runs.map((r) => ok(r.result, 'a call'));
  assert.deepEqual(byDefault!.logits, fast!.logits, 'no preset: the model\'s (fast)');
  assert.notDeepEqual(byDefault!.logits, accurate!.logits, 'not the accurate preset');
});

test('close() and Symbol.asyncDispose free the model like dispose()', async () => {
  for (const how of ['close', 'asyncDispose'] as const) {
    ok(await sf<Outcome<unknown>>('load', MODEL, WASM_PATHS), `load for ${how}`);
    const r = ok(await sf<Outcome<{ hasSymbol: boolean; laterCall: string }>>('free', how, VIDEO), how);
    assert.ok(r.hasSymbol, 'the model has a [Symbol.asyncDispose] method');
    assert.match(r.laterCall, /disposed/, `${how}: later calls are refused`);
  }
  // (The dev server answers the page's favicon request with a 404: resource errors are not the model's.)
  assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), [], 'no page errors');
});
