/**
 * What a user hands the public API in the page, and what they must get back: a typed PPTSNError whose message
 * names the file (or URL) and says what to do, promptly, with the worker's tensors back at their baseline.
 * Chromium on wasm, the seeded ResNet18-vd of the live tests. Fixtures: test/fixtures/bad-input/ (a PNG, six
 * rawframes JPEGs, an MP4 cut before its moov box, a text file named .mp4).
 *
 * Run: node --import tsx --test test/browser/bad-input.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv, callPage, ok, type Outcome } from '../helpers/browser.js';
import { writeLiveModel, LIVE_MODEL_URL, WASM_PATHS } from '../helpers/liveModel.js';
import type { SourceSpec } from './pages/bad-input-page.js';

const FIX = '/test/fixtures/bad-input';
const EXAMPLE = '/test/fixtures/media/example.mp4';
const ROT90 = '/test/fixtures/realworld/rot90.mp4';
const FAST = { preset: 'fast', segments: 2 };
let env: BrowserEnv;
let page: Page;

type Called = { result: Outcome<{ frameIndices: number[] }>; before: number; after: number };
const call = (method: 'classify' | 'preprocess', spec: SourceSpec, opts: Record<string, unknown> = FAST) => callPage<Called>(page, 'nc', 'call', method, spec, opts);

/** The call failed with `code`, its message matches every pattern, and no tensor was left behind. */
function refused(r: Called, code: string, patterns: RegExp[], what: string): string {
  assert.equal(r.after, r.before, `${what}: tensors back at the baseline`);
  if (r.result.ok) assert.fail(`${what}: accepted (frames ${r.result.value.frameIndices})`);
  const { code: got, message } = r.result as { code: string; message: string };
  assert.equal(got, code, `${what}: ${message}`);
  for (const p of patterns) assert.match(message, p, what);
  console.log(`${what}: ${got}: ${message}`);
  return message;
}

before(async () => {
  writeLiveModel();
  env = await startBrowserEnv();
  ({ page } = await env.open('/test/browser/pages/bad-input.html'));
  await page.waitForFunction(() => document.title === 'ready');
  ok(await callPage<Outcome<unknown>>(page, 'nc', 'load', LIVE_MODEL_URL, WASM_PATHS), 'load');
});
after(async () => env?.close());

test('a URL that 404s is a network error naming the URL and the status, as a string and as a <video> src', async () => {
  for (const spec of [{ kind: 'url', url: `${FIX}/nope.mp4` }, { kind: 'element', url: `${FIX}/nope.mp4` }] as const) {
    refused(await call('classify', spec), 'network', [/nope\.mp4/, /HTTP 404/, /Check the URL/], `${spec.kind} 404`);
  }
});

test('a <video> with no source is refused at once, saying to set its src', async () => {
  const r = await call('classify', { kind: 'element' });
  refused(r, 'invalid-argument', [/no source/, /set its src/], 'no src');
  assert.ok(r.result.ms < 2000, `refused after ${r.result.ms} ms`);
});

test('classifyStream on a <video> with no source throws at once; on one whose src 404s, done rejects naming the URL (it waited forever)', async () => {
  type Ended = { how: string; code?: string; message?: string; ms: number };
  const none = await callPage<Ended>(page, 'nc', 'stream', { kind: 'element' }, 3000);
  assert.equal(none.how, 'threw', JSON.stringify(none));
  assert.equal(none.code, 'invalid-argument');
  const missing = await callPage<Ended>(page, 'nc', 'stream', { kind: 'element', url: `${FIX}/nope.mp4` }, 5000);
  console.log(`stream on a 404 <video>: ${JSON.stringify(missing)}`);
  assert.equal(missing.how, 'rejected', JSON.stringify(missing));
  assert.equal(missing.code, 'unsupported-source');
  assert.match(missing.message ?? '', /nope\.mp4/);
});

test('a file that is not a video names the file and says how to convert it', async () => {
  const m = refused(await call('classify', { kind: 'file', url: `${FIX}/notes.mp4`, name: 'notes.mp4' }), 'unsupported-source', [/notes\.mp4/, /ffmpeg -i/], 'text renamed .mp4');
  assert.equal(m.split('ffmpeg -i').length - 1, 1, 'one conversion recipe, not one per decoder tried');
  assert.doesNotMatch(m, /\/[a-z0-9]+\/video:/, "no ffmpeg.wasm's internal file path");
});

test('an MP4 cut before its index (moov) is called truncated, not audio-only', async () => {
  refused(await call('classify', { kind: 'file', url: `${FIX}/no_moov.mp4`, name: 'recording.mp4' }), 'decode-failed', [/recording\.mp4/, /truncated/], 'no moov');
});

test('rawframes: PNG Blobs are refused as not JPEG with what to pass instead; a gap in the numbering names the missing file and the gap', async () => {
  const png = `${FIX}/frame.png`;
  refused(await call('classify', { kind: 'blobs', urls: [png, png, png] }), 'decode-failed', [/item 0/, /PNG/, /createImageBitmap/], 'PNG Blobs');
  refused(await call('classify', { kind: 'blobs', urls: [`${FIX}/img_00001.jpg`, `${FIX}/cut.jpg`, `${FIX}/img_00003.jpg`, `${FIX}/img_00004.jpg`] }, { preset: 'fast', segments: 2 }), 'decode-failed', [/Blob array item 1/], 'a cut JPEG Blob');
  const present = [1, 2, 4, 5, 6].map((i) => `img_0000${i}.jpg`);
  const gap = await call('classify', { kind: 'files', urls: present.map((n) => `${FIX}/${n}`), names: present }, { preset: 'fast', segments: 4 });
  refused(gap, 'decode-failed', [/img_00003\.jpg/, /img_00006\.jpg/, /without gaps/], 'rawframes with a gap');
  const folder = await call('classify', { kind: 'folder', urls: present.map((n) => `${FIX}/${n}`), names: present }, { preset: 'fast', segments: 4 });
  refused(folder, 'decode-failed', [/img_00003\.jpg is missing/, /img_00006\.jpg/], 'a directory handle with a gap');
});

test('close() then classify: refused, saying to load the model again', async () => {
  const r = await callPage<Outcome<unknown>>(page, 'nc', 'closeThenClassify', EXAMPLE);
  assert.equal(!r.ok && r.code, 'invalid-argument');
  assert.match(!r.ok ? r.message : '', /disposed.*PPTSN\.load/);
  ok(await callPage<Outcome<unknown>>(page, 'nc', 'load', LIVE_MODEL_URL, WASM_PATHS), 'load again');
});

test('trainer.fit({ epochs: 1 }) on a fresh run trains one epoch; shortening a started run is refused with what to do', async () => {
  const r = ok(await callPage<Outcome<{ trained: number; shorter: string }>>(page, 'nc', 'fitEpochs', EXAMPLE, ROT90, 1, 1), 'fit');
  assert.equal(r.trained, 1, 'epochs trained');
  const r2 = ok(await callPage<Outcome<{ trained: number; shorter: string }>>(page, 'nc', 'fitEpochs', EXAMPLE, ROT90, 3, 2), 'fit 3 then 2');
  assert.equal(r2.trained, 3);
  assert.match(r2.shorter, /^invalid-argument: .*planned for 3 epochs.*createTrainer/);
});

test('a <video> playing a data: URL classifies (its first loadstart is not a "source change"); a bad data: URL is named briefly', async () => {
  const url = `${FIX}/moov_at_end.mp4`;
  const r = await call('classify', { kind: 'element', url, asDataUrl: true });
  assert.equal(r.after, r.before, 'tensors back at the baseline');
  const v = ok(r.result, 'data: URL <video>');
  assert.deepEqual(v.frameIndices, (ok((await call('classify', { kind: 'url', url })).result, 'the same video by URL')).frameIndices);
  const text = refused(await call('classify', { kind: 'data-url', url: `${FIX}/notes.mp4` }), 'unsupported-source', [/ffmpeg -i/], 'text as a data: URL');
  // 19 KB of MP4 without its moov: a 26 000-character URL that the message must not quote whole.
  const cut = refused(await call('classify', { kind: 'data-url', url: `${FIX}/no_moov.mp4` }), 'decode-failed', [/data:video\/mp4/, /truncated/], 'cut MP4 as a data: URL');
  for (const m of [text, cut]) assert.ok(m.length < 600, `the message quotes no whole data: URL (${m.length} characters)`);
});

test('evaluate goes on past bad items and names each failure by what it is (a <video> by its src, rawframes as such)', async () => {
  const gap = [1, 2, 4].map((i) => `img_0000${i}.jpg`);
  const r = ok(await callPage<Outcome<{ count: number; failures: { path: string; message: string }[]; leaked: number }>>(page, 'nc', 'evaluate', [
    { spec: { kind: 'url', url: EXAMPLE }, label: 1 },
    { spec: { kind: 'files', urls: gap.map((n) => `${FIX}/${n}`), names: gap }, label: 2 },
    { spec: { kind: 'element', url: `${FIX}/nope.mp4` }, label: 3 },
    { spec: { kind: 'url', url: '/test/fixtures/realworld/rot90.mp4' }, label: 4 },
  ]), 'evaluate');
  console.log(`evaluate: ${JSON.stringify(r)}`);
  assert.equal(r.leaked, 0, 'tensors back at the baseline');
  assert.equal(r.count, 2, 'the two good items are scored');
  assert.deepEqual(r.failures.map((f) => f.path), ['item 1 (rawframes)', `http://${new URL(env.origin).host}${FIX}/nope.mp4`]);
  assert.match(r.failures[0]!.message, /img_00003\.jpg is missing/);
  assert.match(r.failures[1]!.message, /HTTP 404/);
});

test('trainer: fit with a class that has no clip is refused naming it; an empty clip file is named; the same video under a second class is refused', async () => {
  const r = await callPage<{ fit: Outcome<unknown>; empty: Outcome<unknown>; again: Outcome<unknown>; aliased: Outcome<unknown>; asFile: Outcome<unknown>; labels: string[] }>(page, 'nc', 'fitMissingClass', EXAMPLE, ROT90);
  assert.equal(!r.again.ok && r.again.code, 'invalid-argument', `the same video under another class: ${JSON.stringify(r.again)}`);
  assert.match(!r.again.ok ? r.again.message : '', /already a clip of class "a"/);
  // A URL clip's id is of its decoded frames, not of its URL: the same video by another URL is the same clip.
  assert.equal(!r.aliased.ok && r.aliased.code, 'invalid-argument', `the same video by another URL: ${JSON.stringify(r.aliased)}`);
  assert.match(!r.aliased.ok ? r.aliased.message : '', /already a clip of class "a"/);
  // A File's id is of its bytes; its frames are the URL clip's: the same clip.
  assert.equal(!r.asFile.ok && r.asFile.code, 'invalid-argument', `the same video as a File: ${JSON.stringify(r.asFile)}`);
  assert.match(!r.asFile.ok ? r.asFile.message : '', /already a clip of class "a"/);
  assert.deepEqual(r.labels, ['a', 'c'], 'the clip stays in its class');
  assert.equal(!r.fit.ok && r.fit.code, 'invalid-argument', JSON.stringify(r.fit));
  assert.match(!r.fit.ok ? r.fit.message : '', /no clips for "b"/);
  assert.equal(!r.empty.ok && r.empty.code, 'video-too-short', JSON.stringify(r.empty));
  assert.match(!r.empty.ok ? r.empty.message : '', /^'empty-clip\.mp4' is empty \(0 bytes\)/, 'named once, at the start');
});

test('trainer: a stored URL clip with an id of the old kind (its URL\'s hash) is the same clip when its URL is added again', async () => {
  const r = await callPage<{ fresh: string; oldId: string; restored: string[]; again: Outcome<{ id: string }>; other: Outcome<unknown>; after: string[] }>(page, 'nc', 'storedUrlClip', EXAMPLE);
  console.log(`stored URL clip: ${JSON.stringify(r)}`);
  assert.notEqual(r.fresh, r.oldId);
  assert.deepEqual(r.restored, [r.oldId], 'restored under its stored id');
  assert.ok(r.again.ok, JSON.stringify(r.again));
  assert.equal(r.again.ok && r.again.value.id, r.oldId, 'the same video keeps its stored id, not a second one');
  assert.equal(!r.other.ok && r.other.code, 'invalid-argument', JSON.stringify(r.other));
  assert.match(!r.other.ok ? r.other.message : '', /already a clip of class "a"/);
  assert.deepEqual(r.after, [`${r.oldId}:a`], 'one clip, in its class');
});

test("options that are not an object (classify(file, 'fast'), null) are invalid-argument, not ignored or a TypeError", async () => {
  const r = await callPage<string[]>(page, 'nc', 'badOptions', EXAMPLE);
  console.log(`bad options: ${r.join(' | ')}`);
  for (const m of r) assert.match(m, /^invalid-argument: the options must be an object such as \{ preset: 'fast' \}/);
});
