/**
 * Issue 25 ("real-world videos, round two") on every browser path, as frames.test.ts holds issue 12's cases: the
 * stream decord reads (a cover track first, two video tracks), odd sizes (VP8/VP9/MJPEG/H.264 4:4:4), 4:2:2 MJPEG,
 * MPEG-2 and MPEG-4 Part 2 in MPEG-TS, files cut short, and the refusals (animated WebP, audio only, an MP4 without
 * its index). Cases: test/helpers/realworld2.ts; generated videos go to test/.cache/frames/rw2 (served by Vite).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import type { Page } from 'playwright-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { startBrowserEnv, ROOT, type BrowserEnv } from '../helpers/browser.js';
import { sampleValidIndices as testModeIndices } from '../../src/core/preprocess/sampler.js';
import { preprocessFrames, toPaddleLayout, type FramePixels } from '../../src/core/preprocess/pipeline.js';
import { bandsFromTensor } from '../helpers/bands.js';
import { diffStats, ffmpegReference } from '../helpers/realworld.js';
import { realworld2Fixtures, realworld2Generated, realworld2Refusals } from '../helpers/realworld2.js';
import { PRESETS } from '../../src/core/preprocess/presets.js';

const CACHE = join(ROOT, 'test/.cache/frames');
/** ffmpeg.wasm as the dev server serves it (the build copies it beside the worker instead). */
const FFMPEG_CORE = { js: '/node_modules/@ffmpeg/core/dist/esm/ffmpeg-core.js', wasm: '/node_modules/@ffmpeg/core/dist/esm/ffmpeg-core.wasm' };

let env: BrowserEnv;
let page: Page;

interface FrameOut { width: number; height: number; channels: number; length: number; data: string }
interface Summary {
  frameIndices: number[]; frameCount: number; width: number; height: number;
  path: string; streamIndex: number | null; frames: FrameOut[];
}
type CallResult = { ok: true; ms: number; result: Summary } | { ok: false; ms: number; code: string; message: string };

const urlOf = (file: string) => '/' + relative(ROOT, file).split('\\').join('/');

function call(c: Record<string, unknown>): Promise<CallResult> {
  return page.evaluate((arg) => (window as unknown as { framesTest: { call(c: unknown): Promise<CallResult> } }).framesTest.call(arg), c);
}

/** The fast-preset tensor ([1, T, 3, 224, 224], Paddle layout) of decoded frames, computed in Node (tfjs cpu). */
async function fastTensor(frames: FramePixels[]): Promise<Float32Array> {
  const pre = preprocessFrames(frames, PRESETS.fast);
  const paddle = toPaddleLayout(pre.input);
  pre.input.dispose();
  try { return (await paddle.data()) as Float32Array; } finally { paddle.dispose(); }
}

before(async () => {
  env = await startBrowserEnv();
  ({ page } = await env.open('/test/browser/pages/frames.html'));
  await page.waitForFunction(() => document.title === 'ready', null, { timeout: 60000 });
});

after(async () => {
  await env?.close();
});

// Every browser path: URL and Blob (WebCodecs, or ffmpeg.wasm where WebCodecs cannot), a <video> (WebCodecs on its src,
// and seeking), ffmpeg.wasm forced. Frames read back from the fast-preset tensor's index bands and held to ffmpeg's
// decode of decord's stream (mean |Δ| ≤ 0.01, p99 ≤ 0.05). A <video> may refuse what Chromium cannot play, a file
// with several video tracks (it picks its own) and a file cut short (it cannot count the frames) with a typed error.
const RW2_CASES = [...realworld2Fixtures(), ...realworld2Generated(join(CACHE, 'rw2'))];
for (const c of RW2_CASES) {
  test(`real-world round two ${c.name}: URL, Blob, <video> (auto + seeking) and ffmpeg.wasm give decord's stream and frames`, async () => {
    await tf.setBackend('cpu');
    let ref: ReturnType<typeof ffmpegReference> | null = null;
    try { ref = ffmpegReference(c.path, c.stream); } catch { /* ffmpeg decodes nothing */ }
    const url = urlOf(c.path);
    const opts = { segments: 8, ffmpegCore: FFMPEG_CORE };
    const calls: [string, Record<string, unknown>][] = [
      ['blob', { kind: 'blob', url, options: opts }],
      ['url', { kind: 'url', url, options: opts }],
      ['element', { kind: 'element', url, options: opts }],
      ['element(seek)', { kind: 'element', url, options: { segments: 8, path: 'element' } }],
      ['ffmpeg.wasm', { kind: 'blob', url, options: { ...opts, path: 'ffmpeg' } }],
    ];
    const report: string[] = [];
    const L = ref?.frames.length ?? 0;
    const indices = L ? testModeIndices(L, 8) : [];
    if (c.expect) assert.deepEqual([L, ...indices], [c.expect.frameCount, ...c.expect.indices], 'fixture README values');
    const refTensor = ref ? await fastTensor(indices.map((i) => ({ width: ref!.width, height: ref!.height, channels: 3 as const, data: ref!.frames[i]! }))) : null;
    const codes = new Set<string>();
    for (const [what, args] of calls) {
      const r = await call(args);
      if (!r.ok) {
        const element = what.startsWith('element');
        // A <video> may refuse what it cannot play or cannot be told (several tracks), typed; a file cut short may be
        // refused by every path alike (an MP4 whose index outlives the file) and by seeking (cannot count frames).
        const cutShort = /cut at/.test(c.name) || c.name === 'cut.webm';
        if (element && r.code === 'unsupported-source') {
          // A transport stream the element cannot play is named by its video codec (read from the PMT).
          if (/\.mpegts$/.test(c.path)) assert.match(r.message, /(MPEG-2|MPEG-4 Part 2|H\.264) video in MPEG-TS/, `${what}: ${r.message}`);
          report.push(`${what}: refused (${r.message.slice(0, 60)}…)`);
          continue;
        }
        if (cutShort && r.code === 'decode-failed' && (what === 'element(seek)' || /MP4/.test(c.name))) { codes.add(what === 'element(seek)' ? 'seek' : r.code); report.push(`${what}: decode-failed`); continue; }
        assert.fail(`${c.name} ${what}: ${r.code}: ${r.message}`);
      }
      const s = r.result;
      assert.ok(ref, `${what}: read a file ffmpeg decodes nothing from`);
      assert.equal(s.frameCount, L, `${what}: L`);
      assert.deepEqual(s.frameIndices, indices, `${what}: indices`);
      if (s.path !== 'element') assert.equal(s.streamIndex, c.stream, `${what}: stream`);
      assert.deepEqual([s.width, s.height], [ref.width, ref.height], `${what}: display size`);
      const got = await fastTensor(s.frames.map((f) => ({ width: f.width, height: f.height, channels: 4 as const, data: new Uint8Array(Buffer.from(f.data, 'base64')) })));
      if (c.bands) assert.deepEqual(indices.map((_, t) => bandsFromTensor(got, t, ref!, 0)), indices.map((_, t) => bandsFromTensor(refTensor!, t, ref!, 0)), `${what}: frames (index bands)`);
      const d = diffStats(got, refTensor!);
      report.push(`${what} ${s.path}: mean ${d.mean.toFixed(4)} p99 ${d.p99.toFixed(4)}`);
      assert.ok(d.mean <= 0.01 && d.p99 <= 0.05, `${what}: tensor vs ffmpeg mean ${d.mean} p99 ${d.p99}`);
    }
    // A cut-short MP4: refused by URL, Blob and ffmpeg.wasm alike (the CLI too: test/unit/ffmpeg.test.ts).
    if (/MP4 \(moov/.test(c.name)) assert.ok(codes.has('decode-failed') && report.filter((x) => /^(blob|url|ffmpeg\.wasm): decode-failed/.test(x)).length === 3, report.join('; '));
    console.log(`round two ${c.name} (L ${L}, stream ${c.stream}):`, report.join('; '));
  });
}

test('MPEG-TS video nothing here reads (WebCodecs only, no ffmpeg.wasm): unsupported-source naming the codec', async () => {
  for (const [file, codec] of [['interlaced_mpeg2.mpegts', /MPEG-2 video in MPEG-TS/], ['interlaced_h264.mpegts', null]] as const) {
    const r = await call({ kind: 'blob', url: urlOf(join(ROOT, 'test/fixtures/realworld2', file)), options: { segments: 8, path: 'webcodecs' } });
    if (!codec) { assert.ok(r.ok, `${file}: H.264 in TS reads with WebCodecs`); continue; }
    assert.equal(r.ok, false);
    if (!r.ok) { assert.equal(r.code, 'unsupported-source', r.message); assert.match(r.message, codec); assert.match(r.message, /ffmpeg -i/); }
  }
});

test('real-world round two refusals: animated WebP, audio only, an MP4 without its index: the same code on every path', async () => {
  for (const c of realworld2Refusals()) {
    const url = urlOf(c.path);
    for (const [what, args] of [
      ['blob', { kind: 'blob', url, options: { segments: 8, ffmpegCore: FFMPEG_CORE } }],
      ['url', { kind: 'url', url, options: { segments: 8, ffmpegCore: FFMPEG_CORE } }],
      ['element', { kind: 'element', url, options: { segments: 8, ffmpegCore: FFMPEG_CORE } }],
      ['ffmpeg.wasm', { kind: 'blob', url, options: { segments: 8, path: 'ffmpeg', ffmpegCore: FFMPEG_CORE } }],
    ] as const) {
      const r = await call(args);
      assert.equal(r.ok, false, `${c.name} ${what} was read`);
      if (r.ok) continue;
      // A <video> may say it cannot play a format (animated WebP) instead of what ffmpeg says of it.
      if (!(what === 'element' && r.code === 'unsupported-source' && c.code === 'unsupported-source')) {
        assert.equal(r.code, c.code, `${c.name} ${what}: ${r.message}`);
        assert.match(r.message, c.message, `${c.name} ${what}`);
      }
      // A <video> with audio but no video says so at once (it waited 3 s for a frame before).
      if (what === 'element') assert.ok(r.ms < 2500, `${c.name} element took ${r.ms} ms`);
    }
  }
});
