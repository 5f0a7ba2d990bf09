/**
 * The runtime in headless Chromium: PPTSN.load + classify through the worker on wasm, webgl and webgpu, checked
 * against the same network in Node on the same input tensor; memory back to baseline; 10 concurrent calls; abort
 * within a second; Cache Storage (a second page load fetches no .bin); typed errors across the worker boundary;
 * conversion of a .pdparams File in the worker; lost WebGPU device → next backend; no main-thread task > 50 ms;
 * the soak's short head fine-tune (issue 8) on webgl, webgpu and cpu: finite losses, the same on every backend,
 * tensors back at the baseline; on webgl, the CLI's logits and frame indices for the same model and video (the
 * parity of the browser with the CLI; parity.test.ts checks the CLI-converted model on wasm). These use the model
 * the webgl and webgpu tests have just loaded: a SwiftShader load costs 5–20 s here, and train.test.ts and
 * parity.test.ts used to load it a second time for these alone.
 *
 * The model is a seeded ResNet18-vd with 10 classes written with the formats writer into test/.cache/runtime/
 * (gitignored) and served by the Vite test server. SwiftShader is slow (WebGPU ~0.4 GFLOP/s, WebGL ~0.9, WASM
 * ~20), so GPU backends run the fast preset with 2 segments, and the heavy checks run on wasm.
 *
 * Run: node --import tsx --test test/browser/runtime.test.ts   (RUNTIME_GPU=0 skips webgl/webgpu)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Page } from 'playwright-core';
import { startBrowserEnv, ROOT, type BrowserEnv, callPage, ok, type Outcome } from '../helpers/browser.js';
import { seededStateDict } from '../helpers/seeded.js';
import { WASM_PATHS } from '../helpers/liveModel.js';
import { maxAbsDiff } from '../helpers/numerics.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';
import { Recognizer } from '../../src/core/model/recognizer.js';
import { initNodeBackend } from '../../src/node/backends.js';

const DIR = join(ROOT, 'test/.cache/runtime');
const MODEL_URL = '/test/.cache/runtime/seeded18/model.json';
const PDPARAMS_URL = '/test/.cache/runtime/seeded18.pdparams';
const EXAMPLE = { kind: 'url' as const, url: '/test/fixtures/media/example.mp4' };
const CLASSES = 10;
const LABELS = Array.from({ length: CLASSES }, (_, i) => `label ${i}`);
const GPU = process.env.RUNTIME_GPU !== '0';

let env: BrowserEnv;
let page: Page;
let recognizer: Recognizer;
const sd = seededStateDict(18, CLASSES, 4242);

interface Classified {
  top: { index: number; label: string; score: number }[];
  logits: number[];
  probabilities: number[];
  frameIndices: number[];
  timings: { decodeMs: number; preprocessMs: number; inferenceMs: number; totalMs: number };
  backend: string;
}
interface Loaded {
  backend: string;
  backendReport: { backend: string; status: string; reason: string }[];
  labels: string[];
  info: { depth: number; classes: number; parameters: number; dtype: string; source: { loadedFrom: string; location: string; sha256?: string } };
}

function rt<T>(p: Page, method: string, ...args: unknown[]): Promise<T> {
  return callPage<T>(p, 'rt', method, ...args);
}

async function openPage(): Promise<Page> {
  const { page: p } = await env.open('/test/browser/pages/runtime.html');
  await p.waitForFunction(() => document.title === 'ready');
  return p;
}

/** Logits of the Node network (wasm backend) on the browser's own preprocessed input. */
async function nodeLogits(p: Page, opts: Record<string, unknown>, model: Recognizer = recognizer): Promise<number[]> {
  const pre = ok(await rt<Outcome<{ shape: number[]; data: string }>>(p, 'preprocess', EXAMPLE, opts), 'preprocess');
  const buf = Buffer.from(pre.data, 'base64');
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const x = tf.tensor(data, pre.shape);
  const logits = model.predict(x);
  const out = Array.from(await logits.data());
  tf.dispose([x, logits]);
  return out;
}

/** A moving white square on a class colour (2 s, 8 fps, 160×120): train.test.ts's clips `red-0` and `blue-0`. */
function clip(name: 'red' | 'blue'): string {
  const file = join(DIR, 'clips', `${name}-0.mp4`);
  if (!existsSync(file)) {
    mkdirSync(join(DIR, 'clips'), { recursive: true });
    const c = { red: '0xd01818', blue: '0x1818d0' }[name];
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${c}:s=160x120:d=2:r=8`, '-vf', "drawbox=x='mod(t*40,120)':y=20:w=30:h=30:color=white:t=fill", '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', file]);
    if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr?.toString()}`);
  }
  return `/test/.cache/runtime/clips/${name}-0.mp4`;
}

/** The first short fine-tune's losses: every backend's must equal them (same model, seed and clips). */
let firstFineTune: { backend: string; losses: number[] } | null = null;

/**
 * The soak's short head fine-tune (issue 8) on the model `p` has loaded on `backend`: two epochs, finite losses equal
 * to the first backend's (float32 differences only), the worker's tensor count back at its baseline after the
 * trainer. SwiftShader runs the backbone at < 1 GFLOP/s here: two clips, one segment, one view keep it to a few
 * images. On WebGPU this also checks the checkpoints' read-backs: a synchronous read (dataSync) there loses the device.
 */
async function shortFineTune(p: Page, backend: string): Promise<void> {
  const t0 = Date.now();
  const opts = { classes: ['red', 'blue'], strategy: 'head', epochs: 2, batchSize: 2, segments: 1, views: 1, validationSplit: 0, preciseBN: false, name: `soak-${backend}` };
  const r = ok(await rt<Outcome<{ losses: number[]; before: number; after: number }>>(p, 'fineTune', [{ url: clip('red'), label: 'red' }, { url: clip('blue'), label: 'blue' }], opts), `fine-tune on ${backend}`);
  console.log(`${backend}: head fine-tune epoch losses ${r.losses.map((l) => l.toFixed(4)).join(' → ')} (${Date.now() - t0} ms)`);
  assert.equal(r.losses.length, 2, `${backend}: two epochs`);
  assert.ok(r.losses.every(Number.isFinite), `${backend}: finite losses`);
  firstFineTune ??= { backend, losses: r.losses };
  r.losses.forEach((l, i) => assert.ok(Math.abs(l - firstFineTune!.losses[i]!) < 1e-3, `${backend} epoch ${i + 1} loss ${l} vs ${firstFineTune!.backend} ${firstFineTune!.losses[i]}`));
  assert.equal(r.after, r.before, `${backend}: the worker's tensor count returns to its baseline after the trainer`);
}

/** `pptsn-web classify example.mp4 -m <the seeded model> --json` (its default backend), run as parity.test.ts runs it. */
function cliClassify(opts: { preset: string; segments: number }): { logits: number[]; frameIndices: number[] } {
  const args = ['classify', join(ROOT, 'test/fixtures/media/example.mp4'), '-m', join(DIR, 'seeded18'), '--preset', opts.preset, '--segments', String(opts.segments), '--json'];
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `pptsn-web ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Makes sure `p` holds the seeded model on wasm (each test can run alone with --test-name-pattern). */
async function ensureWasm(p: Page): Promise<void> {
  const current = await p.evaluate(() => (window as unknown as { rt: { current(): string | null } }).rt.current());
  if (current !== 'wasm') ok(await rt<Outcome<Loaded>>(p, 'load', { model: MODEL_URL, backend: 'wasm', wasmPaths: WASM_PATHS }), 'load wasm');
}

before(async () => {
  mkdirSync(join(DIR, 'seeded18'), { recursive: true });
  const { modelJson, shards } = writeModelJson(sd, { labels: LABELS, source: { fileName: 'seeded18.pdparams', sha256: '0'.repeat(64), format: 'pdparams' } });
  writeFileSync(join(DIR, 'seeded18/model.json'), JSON.stringify(modelJson));
  for (const s of shards) writeFileSync(join(DIR, 'seeded18', s.path), s.data);
  writeFileSync(join(DIR, 'seeded18.pdparams'), writePdparams(sd));
  await initNodeBackend('wasm');
  recognizer = Recognizer.fromStateDict(sd);
  env = await startBrowserEnv();
  page = await openPage();
});

after(async () => {
  recognizer?.dispose();
  await env?.close();
});

test('wasm: classify example.mp4 = Node network on the same input; timings, labels, info', async () => {
  const loaded = ok(await rt<Outcome<Loaded>>(page, 'load', { model: MODEL_URL, backend: 'wasm', wasmPaths: WASM_PATHS }), 'load');
  assert.equal(loaded.backend, 'wasm');
  assert.deepEqual(loaded.labels, LABELS);
  assert.equal(loaded.info.depth, 18);
  assert.equal(loaded.info.classes, CLASSES);
  assert.equal(loaded.info.dtype, 'float32');
  const progress = await page.evaluate(() => (window as unknown as { rt: { progress: { phase: string; loaded: number; total: number }[] } }).rt.progress);
  const download = progress.filter((p) => p.phase === 'download');
  assert.ok(download.length >= 2, 'byte-level download progress');
  assert.equal(download.at(-1)!.loaded, download.at(-1)!.total);
  assert.ok(progress.some((p) => p.phase === 'warmup') && progress.at(-1)!.phase === 'ready');
  const opts = { preset: 'fast' };
  const r = ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, opts), 'classify');
  assert.deepEqual(r.frameIndices, [8, 24, 40, 57, 73, 90, 106, 122]);
  assert.equal(r.backend, 'wasm');
  assert.equal(r.logits.length, CLASSES);
  assert.equal(r.top.length, 5);
  assert.equal(r.top[0]!.label, LABELS[r.top[0]!.index]);
  const ref = await nodeLogits(page, opts);
  const d = maxAbsDiff(r.logits, ref);
  console.log(`wasm: max |logit − Node| = ${d.toExponential(2)}; timings ${JSON.stringify(r.timings)}`);
  assert.ok(d < 1e-3, `wasm logits differ from Node by ${d}`);
  const sum = r.probabilities.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-5);
});

test('wasm: winograd: false runs the direct convolution (= Node direct, bit for bit); the default runs Winograd', async () => {
  const bad = await rt<Outcome<Loaded>>(page, 'load', { model: MODEL_URL, backend: 'wasm', wasmPaths: WASM_PATHS, winograd: 'yes' });
  assert.ok(!bad.ok && bad.code === 'invalid-argument', `a non-boolean winograd is refused: ${JSON.stringify(bad)}`);
  const opts = { preset: 'fast', segments: 3 };
  ok(await rt<Outcome<Loaded>>(page, 'load', { model: MODEL_URL, backend: 'wasm', wasmPaths: WASM_PATHS, winograd: false }), 'load direct');
  const direct = ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, opts), 'classify direct');
  const nodeDirect = Recognizer.fromStateDict(sd, { winograd: false });
  try {
    assert.equal(maxAbsDiff(direct.logits, await nodeLogits(page, opts, nodeDirect)), 0, 'browser direct = Node direct');
  } finally {
    nodeDirect.dispose();
  }
  ok(await rt<Outcome<Loaded>>(page, 'load', { model: MODEL_URL, backend: 'wasm', wasmPaths: WASM_PATHS }), 'load default');
  const wino = ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, opts), 'classify default');
  assert.equal(maxAbsDiff(wino.logits, await nodeLogits(page, opts)), 0, 'browser default = Node Winograd');
  const d = maxAbsDiff(wino.logits, direct.logits);
  console.log(`wasm: Winograd vs direct logits max |Δ| = ${d.toExponential(2)}`);
  assert.ok(d > 0 && d < 1e-4, `the two paths differ by float32 rounding only: ${d}`);
});

test('wasm: 20 calls leave memory at its baseline; 10 concurrent calls all correct; no main-thread task > 50 ms', async () => {
  await ensureWasm(page);
  await rt(page, 'resetLongTasks');
  const opts = { preset: 'fast', segments: 2 };
  const first = ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, opts), 'classify');
  const base = await rt<{ numTensors: number; numBytes: number }>(page, 'memory');
  for (let i = 0; i < 19; i++) ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, { preset: 'fast', segments: 1 + (i % 3) }), `call ${i}`);
  const after20 = await rt<{ numTensors: number; numBytes: number }>(page, 'memory');
  assert.deepEqual(after20, base, 'tensor count and bytes back to baseline after 20 calls');
  const t0 = Date.now();
  const all = await rt<Outcome<Classified>[]>(page, 'concurrent', EXAMPLE, opts, 10);
  console.log(`10 concurrent calls (2 images each) on wasm: ${Date.now() - t0} ms`);
  for (const [i, r] of all.entries()) assert.deepEqual(ok(r, `concurrent ${i}`).logits, first.logits, `concurrent call ${i} returns the single call's logits`);
  assert.deepEqual(await rt(page, 'memory'), base);
  const long = await page.evaluate(() => (window as unknown as { rt: { longTasks: number[] } }).rt.longTasks);
  console.log(`main-thread long tasks during 31 calls: ${long.length ? long.map((d) => d.toFixed(0)).join(', ') : 'none'}`);
  assert.ok(long.every((d) => d <= 50), `main thread blocked for ${Math.max(...long)} ms`);
});

test('wasm: an aborted call rejects with "aborted" within a second and the next call works', async () => {
  await ensureWasm(page);
  const before = await rt<{ numTensors: number }>(page, 'memory');
  // The accurate preset (250 images) runs for a minute on wasm: abort it mid-inference.
  const aborted = await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, { preset: 'accurate', abortAfterMs: 1500 });
  assert.equal(aborted.ok, false);
  assert.equal(!aborted.ok && aborted.code, 'aborted');
  console.log(`abort after 1500 ms rejected at ${aborted.ms.toFixed(0)} ms`);
  assert.ok(aborted.ms < 2500, `rejected ${aborted.ms - 1500} ms after the abort`);
  const t0 = Date.now();
  const next = ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, { preset: 'fast', segments: 1 }), 'next call');
  console.log(`next call after abort: ${Date.now() - t0} ms (waits for the aborted call's current chunk)`);
  assert.equal(next.frameIndices.length, 1);
  assert.deepEqual(await rt(page, 'memory'), await rt(page, 'memory'));
  assert.equal((await rt<{ numTensors: number }>(page, 'memory')).numTensors, before.numTensors);
  // Aborting before the call starts rejects at once.
  const early = await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, { preset: 'fast', abortAfterMs: 0 });
  assert.equal(!early.ok && early.code, 'aborted');
});

test('typed errors cross the worker boundary with code and message', async () => {
  await ensureWasm(page);
  // example.avi (XviD) now decodes through ffmpeg.wasm in the worker; a file nothing can read is still typed.
  const xvid = ok(await rt<Outcome<Classified>>(page, 'classify', { kind: 'url', url: '/test/fixtures/media/example.avi' }, { preset: 'fast' }), 'AVI via ffmpeg.wasm');
  assert.deepEqual(xvid.frameIndices, [8, 24, 40, 57, 73, 90, 106, 122]);
  mkdirSync(join(ROOT, 'test/.cache/runtime'), { recursive: true });
  writeFileSync(join(ROOT, 'test/.cache/runtime/junk.avi'), 'this is not a video\n'.repeat(200));
  const avi = await rt<Outcome<Classified>>(page, 'classify', { kind: 'url', url: '/test/.cache/runtime/junk.avi' }, { preset: 'fast' });
  assert.equal(!avi.ok && avi.code, 'unsupported-source', JSON.stringify(avi));
  assert.match(!avi.ok ? avi.message : '', /ffmpeg -i/);
  const bad = await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, { preset: 'fast', segments: 0 });
  assert.equal(!bad.ok && bad.code, 'invalid-argument', JSON.stringify(bad));
  const missing = await rt<Outcome<Loaded>>(page, 'load', { model: '/test/.cache/runtime/nope/model.json', backend: 'wasm', wasmPaths: WASM_PATHS });
  assert.equal(!missing.ok && missing.code, 'network', JSON.stringify(missing));
  const garbage = await rt<Outcome<Loaded>>(page, 'load', { model: '/test/fixtures/media/example.mp4', backend: 'cpu' });
  assert.equal(!garbage.ok && garbage.code, 'model-invalid', JSON.stringify(garbage));
  const unknown = await rt<Outcome<Loaded>>(page, 'load', { model: 'no-such-cached-model', backend: 'cpu' });
  assert.equal(!unknown.ok && unknown.code, 'invalid-argument', JSON.stringify(unknown));
  console.log(`errors: ${[avi, bad, missing, garbage, unknown].map((r) => (!r.ok ? `${r.code}: ${r.message.slice(0, 90)}` : 'ok')).join(' | ')}`);
});

test('a .pdparams File is converted in the worker, cached under a name, and loads by name', async () => {
  const conv = ok(await rt<Outcome<Loaded>>(page, 'load', { modelFromUrlAsBlob: PDPARAMS_URL, model: '', backend: 'wasm', wasmPaths: WASM_PATHS, name: 'seeded-converted', labels: LABELS }), 'convert');
  assert.equal(conv.info.source.loadedFrom, 'converted');
  assert.equal(conv.info.depth, 18);
  const a = ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, { preset: 'fast', segments: 2 }), 'classify converted');
  const byName = ok(await rt<Outcome<Loaded>>(page, 'load', { model: 'seeded-converted', backend: 'wasm', wasmPaths: WASM_PATHS }), 'load by name');
  assert.equal(byName.info.source.loadedFrom, 'cache');
  assert.deepEqual(byName.labels, LABELS);
  const b = ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, { preset: 'fast', segments: 2 }), 'classify by name');
  assert.deepEqual(b.logits, a.logits);
  const names = (await rt<{ name: string }[]>(page, 'cachedModels')).map((m) => m.name);
  assert.ok(names.includes('seeded-converted'), names.join(', '));
  assert.equal(await rt(page, 'deleteCachedModel', 'seeded-converted'), true);
});

test('Cache Storage: a second page load fetches no model bytes', async () => {
  const shardRequests: string[] = [];
  env.server.middlewares.stack.unshift({
    route: '',
    handle: (req: { url?: string }, _res: unknown, next: () => void) => {
      if (req.url?.includes('/test/.cache/runtime/seeded18/') && req.url.includes('.bin')) shardRequests.push(req.url);
      next();
    },
  } as never);
  // Two pages of one fresh browser context share its Cache Storage, like two loads of a page.
  const context = await env.browser.newContext();
  const p1 = await context.newPage();
  await p1.goto(env.origin + '/test/browser/pages/runtime.html');
  await p1.waitForFunction(() => document.title === 'ready');
  const first = ok(await rt<Outcome<Loaded>>(p1, 'load', { model: MODEL_URL, backend: 'wasm', wasmPaths: WASM_PATHS }), 'first load');
  assert.equal(first.info.source.loadedFrom, 'network');
  const fetched = shardRequests.length;
  assert.ok(fetched > 0, 'the first load fetched the shards');
  await rt(p1, 'dispose');
  await p1.close();
  const p2 = await context.newPage();
  await p2.goto(env.origin + '/test/browser/pages/runtime.html');
  await p2.waitForFunction(() => document.title === 'ready');
  const second = ok(await rt<Outcome<Loaded>>(p2, 'load', { model: MODEL_URL, backend: 'wasm', wasmPaths: WASM_PATHS }), 'second load');
  assert.equal(second.info.source.loadedFrom, 'cache');
  assert.equal(shardRequests.length, fetched, `the second page load fetched ${shardRequests.length - fetched} shard(s)`);
  const progress = await p2.evaluate(() => (window as unknown as { rt: { progress: { phase: string }[] } }).rt.progress);
  assert.ok(progress.some((p) => p.phase === 'cache'));
  ok(await rt<Outcome<Classified>>(p2, 'classify', EXAMPLE, { preset: 'fast', segments: 1 }), 'classify from cache');
  console.log(`shard requests: first load ${fetched}, second page load ${shardRequests.length - fetched}`);
  await rt(p2, 'dispose');
  await context.close();
});

for (const backend of ['webgl', 'webgpu'] as const) {
  test(`${backend}: classify example.mp4 = Node network on the same input${backend === 'webgl' ? ' and the CLI' : ''}; a short head fine-tune (soak, issue 8)`, { skip: !GPU }, async () => {
    const loaded = ok(await rt<Outcome<Loaded>>(page, 'load', { model: MODEL_URL, backend, wasmPaths: WASM_PATHS }), `load ${backend}`);
    assert.equal(loaded.backend, backend);
    const opts = { preset: 'fast', segments: 2 };
    const r = ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, opts), 'classify');
    assert.equal(r.backend, backend);
    const ref = await nodeLogits(page, opts);
    const d = maxAbsDiff(r.logits, ref);
    const scale = Math.max(...ref.map(Math.abs));
    console.log(`${backend}: max |logit − Node| = ${d.toExponential(2)} (logits up to ${scale.toFixed(2)}); timings ${JSON.stringify(r.timings)}`);
    assert.ok(d < 1e-2 * Math.max(1, scale), `${backend} logits differ from Node by ${d}`);
    if (backend === 'webgl') {
      // The same call from the CLI (its own decode and preprocessing, onnxruntime): same frames, logits within 1e-3.
      const cli = cliClassify(opts);
      assert.deepEqual(r.frameIndices, cli.frameIndices, `${backend}: frame indices`);
      const cliScale = Math.max(...cli.logits.map(Math.abs));
      const dc = maxAbsDiff(r.logits, cli.logits) / cliScale;
      console.log(`${backend}: max |Δlogit| vs CLI = ${dc.toExponential(2)} × max |logit|`);
      assert.ok(dc <= 1e-3, `${backend}: logits differ from the CLI by ${dc} × max |logit|`);
    }
    // Leaks on this backend (the soak's wasm leg runs hundreds of calls, by URL and by Blob; a SwiftShader call costs
    // ~20 s here): tensors and their bytes back at the baseline after another call.
    const base = await rt<{ numTensors: number; numBytes: number }>(page, 'memory');
    ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, { preset: 'fast', segments: 1 }), 'second call');
    const end = await rt<{ numTensors: number; numBytes: number }>(page, 'memory');
    assert.deepEqual([end.numTensors, end.numBytes], [base.numTensors, base.numBytes], `${backend}: tensors and bytes at the baseline`);
    await shortFineTune(page, backend);
    if (backend === 'webgpu') {
      // A lost device: the engine moves to the next backend (auto rules) and the call still succeeds.
      assert.equal(await rt(page, 'loseDevice'), true);
      const after = ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, { preset: 'fast', segments: 1 }), 'call after device loss');
      assert.notEqual(after.backend, 'webgpu');
      console.log(`after device loss: ${after.backend}`);
    }
    await rt(page, 'dispose');
  });
}

test('cpu: a short head fine-tune, the same losses as on webgl and webgpu (soak, issue 8)', async () => {
  // warmup: false: the backbone pages in during the features; cpu's warm-up is soak.test.ts's (its cpu load).
  assert.equal(ok(await rt<Outcome<Loaded>>(page, 'load', { model: MODEL_URL, backend: 'cpu', warmup: false }), 'load cpu').backend, 'cpu');
  await shortFineTune(page, 'cpu');
  await rt(page, 'dispose');
});

test('wasm: an HTMLVideoElement source gives the same result as its URL', async () => {
  await ensureWasm(page);
  const opts = { preset: 'fast', segments: 2 };
  const byUrl = ok(await rt<Outcome<Classified>>(page, 'classify', EXAMPLE, opts), 'url');
  const byElement = ok(await rt<Outcome<Classified>>(page, 'classify', { kind: 'element', url: EXAMPLE.url }, opts), 'element');
  const byBlob = ok(await rt<Outcome<Classified>>(page, 'classify', { kind: 'blob', url: EXAMPLE.url }, opts), 'blob');
  assert.deepEqual(byElement.frameIndices, byUrl.frameIndices);
  assert.deepEqual(byElement.logits, byUrl.logits);
  assert.deepEqual(byBlob.logits, byUrl.logits);
});
