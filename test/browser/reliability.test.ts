/**
 * Reliability in headless Chromium (issue 8), through the public API on wasm with the seeded ResNet18-vd:
 * - a worker that is terminated or crashes (self.close from inside) is restarted on the next call with the same
 *   model (same logits; a converted weight file comes back from Cache Storage), and a call in flight when it dies is
 *   retried on the new worker instead of hanging;
 * - odd videos through model.classify / model.preprocess: 1 frame, 16×16, 4K (3840×2160 H.264), portrait,
 *   variable frame rate (indices over the container's frames in order, checked against ffmpeg's decode of the same
 *   frames), and a <video> whose src changes during the call (the old source's result, or decode-failed; never a
 *   hang or the new source's frames);
 * - a model.json whose shard was tampered with is refused with `integrity`.
 * Inputs already covered elsewhere: AVI, zero bytes, truncated MP4, audio-only, cross-origin, abort, fewer frames
 * than segments (frames.test.ts, runtime.test.ts).
 *
 * Run: node --import tsx --test test/browser/reliability.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Page } from 'playwright-core';
import { startBrowserEnv, ROOT, type BrowserEnv, callPage, ok, type Outcome } from '../helpers/browser.js';
import { makeIndexedVideo, stripeFrame, type VideoSpec } from '../helpers/videos.js';
import { writeLiveModel, LIVE_DIR, LIVE_MODEL_URL, LIVE_PDPARAMS_URL, WASM_PATHS, LABELS } from '../helpers/liveModel.js';
import { sampleValidIndices } from '../../src/core/preprocess/sampler.js';
import { preprocessFrames, toPaddleLayout } from '../../src/core/preprocess/pipeline.js';
import { resolvePreprocessOptions } from '../../src/core/preprocess/presets.js';

const CACHE = join(ROOT, 'test/.cache/reliability');
const EXAMPLE = '/test/fixtures/media/example.mp4';

let env: BrowserEnv;
let page: Page;

interface Classified { logits: number[]; frameIndices: number[]; top: { label: string }[] }
interface Preprocessed { frameIndices: number[]; timestamps: number[]; shape: number[]; data: string }

function live<T>(method: string, ...args: unknown[]): Promise<T> {
  return callPage<T>(page, 'live', method, ...args);
}

function urlOf(file: string): string {
  return '/' + relative(ROOT, file).split('\\').join('/');
}

const load = (extra: Record<string, unknown> = {}) => live<Outcome<{ backend: string; info: { source: { loadedFrom: string } } }>>('load', { model: LIVE_MODEL_URL, backend: 'wasm', wasmPaths: WASM_PATHS, ...extra });
const classify = (src: Record<string, unknown>, opts: Record<string, unknown> = { preset: 'fast', segments: 2 }) => live<Outcome<Classified>>('classify', src, opts);

/** A variable-frame-rate H.264 MP4 of indexed frames: 20 frames at 10 fps, then 20 at 50 fps (irregular pts). */
function makeVfrVideo(): { file: string; pts: number[]; frames: number } {
  const file = join(CACHE, 'vfr_40f_160x120.mp4');
  const pts = Array.from({ length: 40 }, (_, n) => (n < 20 ? n * 0.1 : 2 + (n - 20) * 0.02));
  if (!existsSync(file)) {
    const input = Buffer.concat(Array.from({ length: 40 }, (_, i) => Buffer.from(stripeFrame(i, 160, 120))));
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', '160x120', '-r', '25', '-i', 'pipe:0',
      '-vf', "settb=1/1000,setpts='if(lt(N,20),N*0.1,2+(N-20)*0.02)/TB'", '-fps_mode', 'passthrough', '-enc_time_base', '1:1000', '-video_track_timescale', '1000',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', file], { input, maxBuffer: 1 << 28 });
    assert.equal(r.status, 0, r.stderr?.toString());
  }
  return { file, pts, frames: 40 };
}

/** ffprobe's presentation times of the video frames, in presentation order. */
function probePts(file: string): number[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', file]);
  return r.stdout.toString().split('\n').filter((l) => l.trim()).map((l) => parseFloat(l)).sort((a, b) => a - b);
}

/** ffmpeg's own decode (rgb24, every frame, container order) of the frames at `indices`. */
function ffmpegFrames(file: string, width: number, height: number, indices: number[]) {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 28 });
  const size = width * height * 3;
  return indices.map((i) => ({ width, height, channels: 3 as const, data: new Uint8Array(r.stdout.subarray(i * size, (i + 1) * size)) }));
}

before(async () => {
  mkdirSync(CACHE, { recursive: true });
  const shards = writeLiveModel();
  // A copy of the model with one byte of its last shard flipped (same size, so only the hash can tell).
  const tampered = join(LIVE_DIR, 'tampered');
  mkdirSync(tampered, { recursive: true });
  copyFileSync(join(LIVE_DIR, 'seeded18/model.json'), join(tampered, 'model.json'));
  for (const s of shards) {
    const bytes = readFileSync(join(LIVE_DIR, 'seeded18', s));
    if (s === shards.at(-1)) bytes[1000] ^= 0x40;
    writeFileSync(join(tampered, s), bytes);
  }
  env = await startBrowserEnv();
  // Serves a file to <video> elements only (Sec-Fetch-Dest: video): fetch() from the worker or the page gets 403,
  // which forces the <video> seeking path of model.classify.
  env.server.middlewares.stack.unshift({
    route: '',
    handle: (req: { url?: string; headers: Record<string, string | undefined> }, res: { statusCode: number; end(): void }, next: () => void) => {
      if (req.url?.startsWith('/__videoonly__/')) {
        if (req.headers['sec-fetch-dest'] !== 'video') { res.statusCode = 403; res.end(); return; }
        req.url = req.url.slice('/__videoonly__'.length);
      }
      next();
    },
  } as never);
  ({ page } = await env.open('/test/browser/pages/live.html'));
  await page.waitForFunction(() => document.title === 'ready');
  ok(await load({ cache: false }), 'load');
});

after(async () => {
  await env?.close();
});

test('worker restart: terminated, crashed, and killed mid-call — the next call works with the same model', async () => {
  const ref = ok(await classify({ kind: 'url', url: EXAMPLE }), 'first classify');
  const base = await live<{ numTensors: number }>('memory');
  for (const how of ['terminate', 'crash'] as const) {
    await live('killWorker', how);
    const t0 = Date.now();
    const r = ok(await classify({ kind: 'url', url: EXAMPLE }), `classify after ${how}`);
    console.log(`after ${how}: next classify ${Date.now() - t0} ms (restart + reload + call)`);
    assert.deepEqual(r.logits, ref.logits);
    assert.equal((await live<{ numTensors: number }>('memory')).numTensors, base.numTensors);
  }
  // Killed while a call runs (8 segments ≈ a few seconds on wasm): the call is retried on a fresh worker.
  const during = page.evaluate(() => (window as unknown as { live: { classify(s: unknown, o: unknown): Promise<Outcome<Classified>> } }).live.classify({ kind: 'url', url: '/test/fixtures/media/example.mp4' }, { preset: 'fast', segments: 2 }));
  await new Promise((r) => setTimeout(r, 400));
  await live('killWorker', 'terminate');
  const r = await during;
  console.log(`call in flight when the worker was terminated: ${r.ok ? 'retried, ok' : `${r.code}: ${r.message}`} after ${r.ms.toFixed(0)} ms`);
  assert.deepEqual(ok(r, 'call in flight').logits, ref.logits);
});

test('worker restart: a converted .pdparams File comes back from Cache Storage', async () => {
  const loaded = ok(await load({ model: '', modelFromUrlAsFile: LIVE_PDPARAMS_URL, name: 'reliability-converted', labels: LABELS }), 'convert');
  assert.equal(loaded.info.source.loadedFrom, 'converted');
  const ref = ok(await classify({ kind: 'url', url: EXAMPLE }), 'classify converted');
  await live('killWorker', 'terminate');
  const r = ok(await classify({ kind: 'url', url: EXAMPLE }), 'classify after restart');
  assert.deepEqual(r.logits, ref.logits);
  ok(await load({ cache: false }), 'back to the URL model');
});

test('odd videos: 1 frame, 16×16, portrait, 4K H.264', async () => {
  const cases: { spec: VideoSpec; segments: number }[] = [
    { spec: { frames: 1, width: 64, height: 48, fps: 25, codec: 'h264', container: 'mp4' }, segments: 8 },
    { spec: { frames: 20, width: 16, height: 16, fps: 25, codec: 'h264', container: 'mp4' }, segments: 8 },
    { spec: { frames: 30, width: 90, height: 160, fps: 30, codec: 'h264', container: 'mp4' }, segments: 4 },
    { spec: { frames: 3, width: 3840, height: 2160, fps: 25, codec: 'h264', container: 'mp4' }, segments: 2 },
  ];
  for (const { spec, segments } of cases) {
    const url = urlOf(makeIndexedVideo(CACHE, spec));
    const name = `${spec.width}×${spec.height}, ${spec.frames} frame(s)`;
    const r = await classify({ kind: 'url', url }, { preset: 'fast', segments });
    console.log(`${name}: ${r.ok ? `ok in ${r.ms.toFixed(0)} ms, frames ${r.value.frameIndices}` : `${r.code}: ${r.message}`}`);
    const v = ok(r, name);
    assert.deepEqual(v.frameIndices, sampleValidIndices(spec.frames, segments));
    assert.ok(v.logits.every(Number.isFinite));
    // Through a Blob too (the File path of a page).
    assert.deepEqual(ok(await classify({ kind: 'blob', url }, { preset: 'fast', segments }), `${name} blob`).logits, v.logits);
  }
  assert.equal((await live<{ numTensors: number }>('memory')).numTensors, (await live<{ numTensors: number }>('memory')).numTensors);
});

test('variable frame rate: indices over the container frames in order; frames equal ffmpeg decode of those frames', async () => {
  const vfr = makeVfrVideo();
  const probed = probePts(vfr.file);
  assert.equal(probed.length, vfr.frames);
  for (const [i, t] of probed.entries()) assert.ok(Math.abs(t - vfr.pts[i]!) < 2e-3, `frame ${i}: pts ${t}, wanted ${vfr.pts[i]}`);
  const T = 8;
  const pre = ok(await live<Outcome<Preprocessed>>('preprocess', { kind: 'url', url: urlOf(vfr.file) }, { preset: 'fast', segments: T }), 'preprocess VFR');
  const expected = sampleValidIndices(vfr.frames, T);
  assert.deepEqual(pre.frameIndices, expected);
  for (const [k, i] of expected.entries()) assert.ok(Math.abs(pre.timestamps[k]! - probed[i]!) < 2e-3, `frame ${i}: timestamp ${pre.timestamps[k]} vs ffprobe ${probed[i]}`);
  // Pixels: ffmpeg's decode of the same frames through the same preprocessing in Node.
  await tf.setBackend('cpu');
  const ref = tf.tidy(() => toPaddleLayout(preprocessFrames(ffmpegFrames(vfr.file, 160, 120, expected), resolvePreprocessOptions({ preset: 'fast', segments: T })).input));
  const want = await ref.data();
  ref.dispose();
  const buf = Buffer.from(pre.data, 'base64');
  const got = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  assert.equal(got.length, want.length);
  let sum = 0;
  for (let i = 0; i < got.length; i++) sum += Math.abs(got[i]! - want[i]!);
  const mean = sum / got.length;
  // Per frame too: a neighbouring frame differs in at least one index stripe (≈ 0.1 mean in normalised units).
  const per = expected.map((_, k) => {
    const n = got.length / T;
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(got[k * n + i]! - want[k * n + i]!);
    return s / n;
  });
  // Control: the neighbouring frames (what a timestamp-based pick could return) are far from what the browser gave.
  const off = tf.tidy(() => toPaddleLayout(preprocessFrames(ffmpegFrames(vfr.file, 160, 120, expected.map((i) => i + 1)), resolvePreprocessOptions({ preset: 'fast', segments: T })).input));
  const offData = await off.data();
  off.dispose();
  let offSum = 0;
  for (let i = 0; i < got.length; i++) offSum += Math.abs(got[i]! - offData[i]!);
  console.log(`VFR: indices ${pre.frameIndices}; mean |browser − ffmpeg| ${mean.toFixed(4)} (per frame max ${Math.max(...per).toFixed(4)}); vs the next frames ${(offSum / got.length).toFixed(4)}`);
  assert.ok(Math.max(...per) < 0.03, `per-frame mean differences ${per.map((x) => x.toFixed(3))}`);
  assert.ok(offSum / got.length > 0.05, 'the control must tell neighbouring frames apart');
});

test('a <video> whose src changes during classify: the old source\'s result or decode-failed, never a hang', async () => {
  const other = urlOf(makeIndexedVideo(CACHE, { frames: 30, width: 90, height: 160, fps: 30, codec: 'h264', container: 'mp4' }));
  const ref = ok(await classify({ kind: 'url', url: EXAMPLE }), 'reference');
  // Fetchable src: the worker decodes the URL it was given, whatever the element does next.
  const fetchable = await classify({ kind: 'element', url: EXAMPLE, changeSrcAfterMs: 30, newSrc: other });
  console.log(`fetchable <video>, src changed after 30 ms: ${fetchable.ok ? 'ok' : `${fetchable.code}: ${fetchable.message}`} in ${fetchable.ms.toFixed(0)} ms`);
  assert.deepEqual(ok(fetchable, 'fetchable element').logits, ref.logits);
  // Not fetchable (served to <video> only): frames are grabbed by seeking the element, and the change is caught.
  const grabbedRef = ok(await classify({ kind: 'element', url: `/__videoonly__${EXAMPLE}` }), 'seeking path reference');
  for (const after of [0, 300, 900]) {
    const r = await classify({ kind: 'element', url: `/__videoonly__${EXAMPLE}`, changeSrcAfterMs: after, newSrc: other });
    console.log(`seeking path, src changed after ${after} ms: ${r.ok ? 'ok (old source)' : `${r.code}: ${r.message}`} in ${r.ms.toFixed(0)} ms`);
    assert.ok(r.ms < 30000);
    if (r.ok) assert.deepEqual(r.value.logits, grabbedRef.logits);
    else {
      assert.equal(r.code, 'decode-failed', r.message);
      assert.match(r.message, /source changed/);
    }
  }
});

test('integrity: a model.json whose shard was altered is refused with code "integrity"', async () => {
  const r = await live<Outcome<unknown>>('load', { model: '/test/.cache/live/tampered/model.json', backend: 'wasm', wasmPaths: WASM_PATHS, cache: false });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.code, 'integrity', r.message);
    console.log(`tampered shard: ${r.message}`);
  }
  ok(await load({ cache: false }), 'reload the good model');
});
