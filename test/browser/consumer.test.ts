/**
 * Packaging as a user meets it: `npm run build`, `npm pack`, then
 * - a Vite app and a webpack app, two folders of a temp project that installs the tarball (peers resolved by npm,
 *   from its cache when possible), build with `import { PPTSN } from 'pptsn-web'`, and classify example.mp4 in Chromium with no
 *   wasmPaths (the WASM binaries must be found through the bundler's asset handling);
 * - the self-contained dist/pptsn-web.bundle.js classifies from a plain HTML page with `<script type="module">`.
 * All three must give the Node network's logits on the same input.
 *
 * Run: node --import tsx --test test/browser/consumer.test.ts   (slow: builds, installs, three bundlers)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_FLAGS, ROOT } from '../helpers/browser.js';
import { seededStateDict } from '../helpers/seeded.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';
import { Recognizer } from '../../src/core/model/recognizer.js';
import { initNodeBackend } from '../../src/node/backends.js';

const CLASSES = 10;
const sd = seededStateDict(18, CLASSES, 4242);
const MODEL_DIR = join(ROOT, 'test/.cache/consumer-model');
const EXAMPLE = join(ROOT, 'test/fixtures/media/example.mp4');
const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json',
  '.wasm': 'application/wasm', '.bin': 'application/octet-stream', '.mp4': 'video/mp4', '.map': 'application/json',
};

let work: string;
let tarball: string;
let browser: Browser;
const servers: Server[] = [];

function run(cmd: string, args: string[], cwd: string, timeoutMs = 300_000): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Serves `root`, plus /model/* (the seeded model) and /example.mp4, optionally cross-origin isolated. */
async function serve(root: string, isolated: boolean): Promise<string> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let file: string;
    if (url.pathname.startsWith('/model/')) file = join(MODEL_DIR, normalize(url.pathname.slice(7)));
    else if (url.pathname === '/example.mp4') file = EXAMPLE;
    else if (url.pathname === '/example.avi') file = EXAMPLE.replace(/\.mp4$/, '.avi');
    else file = join(root, normalize(url.pathname === '/' ? '/index.html' : url.pathname));
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' };
    if (isolated) Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    res.writeHead(200, headers).end(readFileSync(file));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

/** The app code every consumer builds: load the model on wasm (default WASM paths) and classify. */
const APP_JS = `import { PPTSN } from 'pptsn-web';
window.classify = async () => {
  const model = await PPTSN.load({ model: '/model/model.json', backend: 'wasm', cache: false });
  const video = await (await fetch('/example.mp4')).blob();
  const r = await model.classify(video, { preset: 'fast', segments: 2 });
  const pre = await model.preprocess(video, { preset: 'fast', segments: 2 });
  // An XviD AVI: WebCodecs cannot, so the worker fetches ffmpeg.wasm from where this app's build put it.
  const avi = await model.preprocess(await (await fetch('/example.avi')).blob(), { preset: 'fast', segments: 2 });
  const out = { backend: model.backend, report: model.backendReport, logits: Array.from(r.logits), top: r.top, shape: pre.tensor.shape, input: Array.from(pre.tensor.data), aviFrames: avi.frameIndices };
  await model.dispose();
  return out;
};
document.title = 'ready';
`;

interface AppResult {
  backend: string;
  report: { backend: string; status: string; reason: string }[];
  logits: number[];
  top: { index: number; label: string; score: number }[];
  shape: number[];
  input: number[];
  aviFrames: number[];
}

async function classifyAt(origin: string, path = '/'): Promise<AppResult> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(origin + path);
    await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 30_000 });
    return await page.evaluate(() => (window as unknown as { classify(): Promise<AppResult> }).classify());
  } catch (e) {
    throw new Error(`${origin}${path}: ${(e as Error).message}\npage errors: ${errors.join('\n')}`);
  } finally {
    await page.close();
  }
}

async function checkAgainstNode(r: AppResult, what: string): Promise<void> {
  assert.equal(r.backend, 'wasm');
  assert.deepEqual(r.aviFrames, [32, 98], `${what}: example.avi through ffmpeg.wasm`);
  const x = tf.tensor(Float32Array.from(r.input), r.shape);
  const logits = Recognizer.fromStateDict(sd);
  try {
    const ref = Array.from(await logits.predict(x).data());
    const d = Math.max(...ref.map((v, i) => Math.abs(v - r.logits[i]!)));
    console.log(`${what}: top ${r.top[0]!.label} ${r.top[0]!.score.toFixed(4)}; max |logit − Node| = ${d.toExponential(2)}; ${r.report.map((e) => `${e.backend}: ${e.reason}`).join('; ')}`);
    assert.ok(d < 1e-3, `${what}: logits differ from Node by ${d}`);
  } finally {
    logits.dispose();
    x.dispose();
  }
}

/**
 * An app directory `apps/<name>` with `extraFiles`, under the one project that installs the tarball (`apps/`, its
 * node_modules found by Node's, Vite's and webpack's resolution from each app): the Vite and webpack apps share one
 * `npm install` (~5 s), done by whichever test comes first.
 */
function installApp(name: string, extraFiles: Record<string, string>): string {
  const project = join(work, 'apps');
  if (!existsSync(join(project, 'node_modules/pptsn-web/package.json'))) {
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
    // Peers (tfjs) are installed by npm itself; --prefer-offline takes them from npm's cache when it has them.
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], project);
  }
  const dir = join(project, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(extraFiles)) writeFileSync(join(dir, file), text);
  return dir;
}

before(async () => {
  mkdirSync(MODEL_DIR, { recursive: true });
  const { modelJson, shards } = writeModelJson(sd, { labels: Array.from({ length: CLASSES }, (_, i) => `label ${i}`) });
  writeFileSync(join(MODEL_DIR, 'model.json'), JSON.stringify(modelJson));
  for (const s of shards) writeFileSync(join(MODEL_DIR, s.path), s.data);
  await initNodeBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'pptsn-consumer-'));
  if (process.env.CONSUMER_SKIP_BUILD !== '1') run('npm', ['run', 'build'], ROOT, 600_000);
  const packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT)) as { filename: string; size: number; entryCount: number }[];
  tarball = join(work, packed[0]!.filename);
  console.log(`npm pack: ${packed[0]!.filename}, ${(packed[0]!.size / 1e6).toFixed(1)} MB, ${packed[0]!.entryCount} files`);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
});

after(async () => {
  await browser?.close();
  for (const s of servers) s.close();
  if (work && process.env.CONSUMER_KEEP !== '1') rmSync(work, { recursive: true, force: true });
});

test('the packed tarball has the worker, the WASM binaries and the bundle', () => {
  const list = run('tar', ['tzf', tarball], work).split('\n');
  for (const f of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/worker/worker.js', 'package/dist/worker/tfjs-backend-wasm-simd.wasm', 'package/dist/worker/tfjs-backend-wasm-threaded-simd.wasm', 'package/dist/worker/tfjs-backend-wasm.wasm', 'package/dist/pptsn-web.bundle.js', 'package/dist/pptsn-web.worker.js']) {
    assert.ok(list.includes(f), `${f} is in the tarball`);
  }
  // The pthread glue ships once, beside the binaries in dist/worker/, where both workers look (the bundle's worker
  // finds it beside its wasmPaths; the plain-page test below checks that it runs threads).
  assert.ok(list.includes('package/dist/worker/tfjs-backend-wasm-threaded-simd.js'), 'the WASM pthread glue is in the tarball');
  assert.equal(list.filter((f) => f.endsWith('/tfjs-backend-wasm-threaded-simd.js')).length, 1, 'the pthread glue ships once');
  // The test-only gradient registration (it imports the @tensorflow/tfjs devDependency) is not published.
  const nodeBackends = run('tar', ['xzOf', tarball, 'package/dist/node/backends.js'], work);
  assert.ok(!/registerGradientsNode|['"]@tensorflow\/tfjs['"]/.test(nodeBackends), 'dist/node/backends.js imports no @tensorflow/tfjs');
  assert.ok(!list.some((f) => f.endsWith('pptsn-web.worker.js.map')), 'the 14 MB bundle source map is not published');
  // The bundle's worker uses dist/worker/'s binaries: each ships once (test/unit/package.test.ts checks more).
  const wasm = list.filter((f) => f.endsWith('.wasm')).map((f) => f.slice(f.lastIndexOf('/') + 1));
  for (const name of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm', 'ffmpeg-core.wasm']) {
    assert.equal(wasm.filter((n) => n === name).length, 1, `${name} ships once`);
  }
  assert.equal(new Set(wasm).size, wasm.length, `no WASM binary twice: ${wasm.join(', ')}`);
});

test('a Vite app that installs the tarball builds and classifies (served cross-origin isolated)', async () => {
  const dir = installApp('vite-app', {
    'index.html': '<!doctype html><html><head><meta charset="utf-8"></head><body><script type="module" src="./main.js"></script></body></html>',
    'main.js': APP_JS,
  });
  run(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], dir);
  const origin = await serve(join(dir, 'dist'), true);
  const r = await classifyAt(origin);
  await checkAgainstNode(r, 'vite app');
  assertThreaded(r, 'vite app');
});

/** Served cross-origin isolated, a minified app must run WASM threads (the pthread glue found as an asset). */
function assertThreaded(r: AppResult, what: string): void {
  const wasm = r.report.find((e) => e.backend === 'wasm');
  assert.match(wasm?.reason ?? '', /\+ \d+ threads/, `${what} must run WASM threads: ${JSON.stringify(r.report)}`);
}

test('a webpack app that installs the tarball builds and classifies', async () => {
  const dir = installApp('webpack-app', {
    'main.js': APP_JS,
    'index.html': '<!doctype html><html><head><meta charset="utf-8"></head><body><script src="./main.js"></script></body></html>',
    'webpack.config.mjs': `import { fileURLToPath } from 'node:url';
export default {
  mode: 'production',
  entry: './main.js',
  output: { path: fileURLToPath(new URL('./dist', import.meta.url)), filename: 'main.js', publicPath: 'auto', clean: true },
  performance: { hints: false },
};
`,
  });
  run(process.execPath, [join(ROOT, 'node_modules/webpack-cli/bin/cli.js'), '--config', 'webpack.config.mjs'], dir);
  writeFileSync(join(dir, 'dist/index.html'), readFileSync(join(dir, 'index.html')));
  const origin = await serve(join(dir, 'dist'), false);
  await checkAgainstNode(await classifyAt(origin), 'webpack app');
  // The same build cross-origin isolated: webpack's minified worker with the glue emitted as an asset.
  const isolated = await classifyAt(await serve(join(dir, 'dist'), true));
  await checkAgainstNode(isolated, 'webpack app, isolated');
  assertThreaded(isolated, 'webpack app');
});

test('the self-contained bundle works from a plain <script type="module"> page', async () => {
  const dir = join(work, 'plain');
  mkdirSync(dir, { recursive: true });
  run('tar', ['xzf', tarball, '-C', dir], work);
  const page = `<!doctype html><html><head><meta charset="utf-8"></head><body><script type="module">
${APP_JS.replace("from 'pptsn-web'", "from './pptsn-web.bundle.js'")}
</script></body></html>`;
  writeFileSync(join(dir, 'package/dist/plain.html'), page);
  const origin = await serve(join(dir, 'package/dist'), false);
  await checkAgainstNode(await classifyAt(origin, '/plain.html'), 'plain page + bundle');
  // Cross-origin isolated, the minified bundle's worker runs threads with the glue copied beside it.
  const isolated = await classifyAt(await serve(join(dir, 'package/dist'), true), '/plain.html');
  await checkAgainstNode(isolated, 'plain page + bundle, isolated');
  assertThreaded(isolated, 'plain page + bundle');
});
