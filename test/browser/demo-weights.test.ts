/**
 * The demo as a new user starts it, with a local server standing in for PaddleVideo's host:
 * - the built demo (`npm run build:demo`) served statically with no weights: no console error, no failed request
 *   (the page reads the manifest the build writes instead of probing), and the instructions shown;
 * - the dev server (`npm start`'s config) with no weights/ model: "Get PP-TSN K400 weights" fetches the file through
 *   the /paddlevideo/ proxy, converts it in the worker (Kinetics-400 labels), and example.mp4 is classified, all
 *   without leaving the page and without a console error.
 * The stand-in serves a seeded ResNet18-vd with 400 classes (the real file is 100 MB and not reachable here).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { CHROMIUM_FLAGS, ROOT } from '../helpers/browser.js';
import { seededStateDict } from '../helpers/seeded.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';

const EXAMPLE = join(ROOT, 'test/fixtures/media/example.mp4');
const KINETICS = readFileSync(join(ROOT, 'weights/labels/kinetics400.txt'), 'utf8').split('\n').map((l) => l.trim().replace(/^\d+\s+/, '').replace(/_/g, ' ')).filter(Boolean);
const weights = writePdparams(seededStateDict(18, 400, 31));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm', '.txt': 'text/plain' };
let host: Server;
let stat: Server | undefined;
let dev: ViteDevServer | undefined;
let browser: Browser;
const hostRequests: string[] = [];

const listen = async (s: Server) => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
};

/** Opens `url`, recording console errors, page errors and failed requests. */
async function open(url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page: ${String(e)}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  return { page, problems };
}

async function settle(page: Page): Promise<void> {
  await page.waitForFunction(() => (document.getElementById('progress') as HTMLElement).hidden, undefined, { timeout: 300_000, polling: 250 });
  const error = await page.evaluate(() => { const e = document.getElementById('error') as HTMLElement; return e.hidden ? null : e.textContent; });
  assert.equal(error, null, `the page shows an error: ${error}`);
}

before(async () => {
  host = createHttpServer((req, res) => {
    hostRequests.push(req.url ?? '');
    if (req.url !== '/PaddleVideo-release2.2/ppTSN_k400.pdparams') return void res.writeHead(404).end();
    // No CORS headers, like PaddleVideo's host: only the proxy can read it.
    res.writeHead(200, { 'content-length': weights.byteLength, 'content-type': 'application/octet-stream' }).end(weights);
  });
  process.env['PPTSN_WEIGHTS_HOST'] = await listen(host);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
});
after(async () => {
  await browser?.close();
  await dev?.close();
  stat?.close();
  host.close();
});

test('the built demo, started with no weights, shows no console error and no failed request', async () => {
  const b = spawnSync('npm', ['run', 'build:demo'], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  assert.equal(b.status, 0, b.stderr);
  const dist = join(ROOT, 'demo-dist');
  assert.ok(existsSync(join(dist, 'weights/index.json')), 'the build writes the weights manifest');
  stat = createHttpServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = join(dist, normalize(path === '/' ? '/index.html' : path));
    if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }).end(readFileSync(file));
  });
  const { page, problems } = await open(`${await listen(stat)}/`);
  assert.deepEqual(problems, [], 'a fresh start is clean');
  assert.equal(await page.isVisible('#no-weights'), true, 'the page says how to get weights');
  assert.equal(await page.$('#get-k400'), null, 'no download button without the dev server\'s proxy');
  await page.close();
});

test('dev server: "Get PP-TSN K400 weights" goes from an empty page to a classified example.mp4', async () => {
  dev = await createServer({ configFile: join(ROOT, 'demo/vite.config.ts'), logLevel: 'error', server: { host: '127.0.0.1', port: 0, hmr: false, watch: null } });
  await dev.listen();
  const addr = dev.httpServer!.address();
  const { page, problems } = await open(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/?autoload=0`);
  assert.equal(await page.isVisible('#get-k400'), true, 'the button is offered when weights/ has no model');
  await page.selectOption('#backend', 'wasm');
  await page.fill('#segments', '2');
  await page.click('#get-k400');
  await settle(page);
  assert.deepEqual(hostRequests, ['/PaddleVideo-release2.2/ppTSN_k400.pdparams'], 'fetched once, through the proxy');
  assert.equal(await page.textContent('#backend-in-use'), 'wasm');
  await page.setInputFiles('#video-file', EXAMPLE);
  await page.waitForFunction(() => (document.getElementById('progress') as HTMLElement).hidden === false, undefined, { timeout: 10_000 }).catch(() => undefined);
  await settle(page);
  const labels = await page.$$eval('#top5 li .label span:first-child', (s) => s.map((x) => x.textContent ?? ''));
  assert.equal(labels.length, 5, 'top 5 shown');
  for (const l of labels) assert.ok(KINETICS.includes(l), `"${l}" is a Kinetics-400 class`);
  assert.deepEqual(problems, [], 'no console error, no failed request');
  await page.close();
});
