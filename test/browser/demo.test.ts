/**
 * The demo page (demo/) end to end in headless Chromium, served by its own Vite config (demo/vite.config.ts, the
 * one `npm start` uses): load a converted seeded model (ResNet18-vd, 5 named classes) through the URL field, classify
 * example.mp4 picked in the file input and the same video by URL (top 5 with scores, frame strip, timings), the webcam
 * live mode (classifyStream) on Chromium's fake camera, convert a dropped seeded .pdparams in the page and classify
 * with it, fine-tune on three generated classes (chart, held-out accuracy, the new model classifies), readable
 * errors, labelled controls, no horizontal scroll at 390 px, no console errors. Screenshots go to
 * test-results/demo-*.png. About 3.5 minutes on two shared cores (the fine-tune is most of it).
 *
 * Run: node --import tsx --test test/browser/demo.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DEMO_CSP } from '../../demo/vite.config.js';
import { createServer, type ViteDevServer } from 'vite';
import { CHROMIUM_FLAGS, ROOT } from '../helpers/browser.js';
import { seededStateDict } from '../helpers/seeded.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';

const CACHE = join(ROOT, 'test/.cache/demo-model');
const SHOTS = join(ROOT, 'test-results');
const LABELS = ['archery', 'bowling', 'cartwheel', 'dribbling basketball', 'juggling balls'];
// Files outside the demo root are reachable through Vite's /@fs/ prefix (the repository is the workspace root),
// which also answers Range requests so the <video> element can seek for the frame strip.
const fsUrl = (rel: string) => `/@fs${join(ROOT, rel)}`;
const MODEL_URL = fsUrl('test/.cache/demo-model/seeded18/model.json');
const EXAMPLE = join(ROOT, 'test/fixtures/media/example.mp4');
const SEGMENTS = '3';

let server: ViteDevServer;
let browser: Browser;
let page: Page;
let origin: string;
const errors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `demo-${name}.png`), fullPage: true });
}

/** Waits until no task is running (the progress bar is hidden) and reports an error shown in the page, if any. */
async function settle(timeout = 180_000): Promise<void> {
  await page.waitForFunction(() => (document.getElementById('progress') as HTMLElement).hidden, undefined, { timeout, polling: 200 });
  const error = await page.evaluate(() => {
    const e = document.getElementById('error') as HTMLElement;
    return e.hidden ? null : e.textContent;
  });
  assert.equal(error, null, `the page shows an error: ${error}`);
}

async function topFive(): Promise<{ label: string; score: string }[]> {
  return page.$$eval('#top5 li', (lis) =>
    lis.map((li) => {
      const spans = li.querySelectorAll('.label span');
      return { label: spans[0]?.textContent ?? '', score: spans[1]?.textContent ?? '' };
    }),
  );
}

async function classifyPicked(): Promise<void> {
  await page.setInputFiles('#video-file', EXAMPLE);
  await page.waitForFunction(() => (document.getElementById('progress') as HTMLElement).hidden === false, undefined, { timeout: 10_000 }).catch(() => undefined);
  await settle();
}

before(async () => {
  mkdirSync(join(CACHE, 'seeded18'), { recursive: true });
  mkdirSync(SHOTS, { recursive: true });
  const sd = seededStateDict(18, LABELS.length, 606);
  const { modelJson, shards } = writeModelJson(sd, { labels: LABELS, source: { fileName: 'seeded18.pdparams', sha256: '0'.repeat(64), format: 'pdparams' } });
  writeFileSync(join(CACHE, 'seeded18/model.json'), JSON.stringify(modelJson));
  for (const s of shards) writeFileSync(join(CACHE, 'seeded18', s.path), s.data);
  // A different seed, so the converted model is visibly another model.
  writeFileSync(join(CACHE, 'seeded18-b.pdparams'), writePdparams(seededStateDict(18, LABELS.length, 707)));

  server = await createServer({
    configFile: join(ROOT, 'demo/vite.config.ts'),
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  });
  await server.listen();
  const addr = server.httpServer!.address();
  origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  // A fake camera (Chromium's generated test pattern) stands in for the webcam, with permission granted.
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_FLAGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  // Chromium's console line for a failed request does not name the URL: record it next to the error.
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  // autoload=0: a developer's weights/ folder or cache must not change what the test sees.
  await page.goto(`${origin}/?autoload=0`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('page is cross-origin isolated and explains how to get weights when there are none', async () => {
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true, 'COOP/COEP headers make the page isolated');
  // The demo runs under the recommended policy (so the rest of this file, "no console errors" included, checks it).
  const res = await page.request.get(`${origin}/`);
  assert.equal(res.headers()['content-security-policy'], DEMO_CSP);
  assert.ok(!DEMO_CSP.includes("'unsafe-eval'") && DEMO_CSP.includes("script-src 'self' blob: 'wasm-unsafe-eval'"), 'the demo keeps the recommended script policy');
  const noWeights = await page.evaluate(() => {
    const help = document.getElementById('no-weights') as HTMLElement;
    return { hidden: help.hidden, text: help.textContent ?? '' };
  });
  // Only shown with neither a weights/ model nor a cached one; either way the instructions are in the page.
  if (!noWeights.hidden) assert.match(noWeights.text, /npx pptsn-web download pptsn-k400/);
  await shot('start');
});

test('load a model by URL, classify example.mp4 from the file input: top 5, frame strip, timings', async () => {
  await page.selectOption('#backend', 'wasm');
  await page.fill('#segments', SEGMENTS);
  await page.fill('#model-url', MODEL_URL);
  await page.click('#model-url-load');
  await settle();
  assert.equal(await page.textContent('#backend-in-use'), 'wasm');
  assert.match((await page.textContent('#model-details')) ?? '', /ResNet18-vd · 5 classes/);

  await classifyPicked();
  const top = await topFive();
  assert.equal(top.length, 5);
  assert.deepEqual(new Set(top.map((t) => t.label)), new Set(LABELS));
  for (const t of top) assert.match(t.score, /^\d+\.\d %$/);
  await page.waitForFunction(() => document.querySelectorAll('#strip figure canvas').length === 3, undefined, { timeout: 60_000 });
  const timings = await page.$$eval('#timings dt', (dts) => dts.map((d) => d.textContent));
  assert.deepEqual(timings.slice(0, 4), ['Decode', 'Preprocess', 'Inference', 'Total']);
  await shot('classified');
});

test('classify a video by URL with the accurate preset (ten crops drawn per frame)', async () => {
  await page.selectOption('#preset', 'accurate');
  await page.fill('#segments', '2');
  await page.fill('#video-url', fsUrl('test/fixtures/media/example.mp4'));
  await page.click('#video-url-go');
  // 20 images in chunks: a running top-5 (marked .running) and a determinate bar show before the result.
  const running = await page.waitForFunction(() => {
    const bar = document.getElementById('progress-bar') as HTMLProgressElement;
    return document.querySelector('#top5.running') !== null && document.querySelectorAll('#top5 li .bar').length === 5 && bar.hasAttribute('value') ? `${bar.value}/${bar.max}` : null;
  }, undefined, { timeout: 60_000, polling: 20 });
  console.log(`running top-5 shown at ${String(await running.jsonValue())} images`);
  await settle();
  assert.equal(await page.$('#top5.running'), null, 'the final result is not marked running');
  assert.equal((await topFive()).length, 5);
  await page.waitForFunction(() => document.querySelectorAll('#strip figure canvas').length === 2, undefined, { timeout: 60_000 });
  await page.locator('#classify').screenshot({ path: join(SHOTS, 'demo-accurate-url.png') });
  await page.selectOption('#preset', 'fast');
  await page.fill('#segments', SEGMENTS);
});

test('webcam live mode on a fake camera stream: results while it plays, clean stop', async () => {
  await page.click('#webcam-toggle');
  await page.waitForFunction(() => (document.getElementById('timings')?.textContent ?? '').includes('live'), undefined, { timeout: 120_000 });
  await page.waitForFunction(() => document.querySelectorAll('#strip figure').length >= 2, undefined, { timeout: 120_000 });
  assert.equal((await topFive()).length, 5);
  await page.locator('#classify').screenshot({ path: join(SHOTS, 'demo-live.png') });
  await page.click('#webcam-toggle');
  await page.waitForFunction(() => document.getElementById('webcam-toggle')?.textContent?.startsWith('Start'), undefined, { timeout: 10_000 });
  const error = await page.evaluate(() => ((document.getElementById('error') as HTMLElement).hidden ? null : document.getElementById('error')!.textContent));
  assert.equal(error, null);
});

test('a dropped .pdparams is converted in the page and the new model classifies', async () => {
  await page.setInputFiles('#weights-file', join(CACHE, 'seeded18-b.pdparams'));
  await settle();
  assert.match((await page.textContent('#model-details')) ?? '', /5 classes .* from converted/);
  assert.match((await page.textContent('#model-name')) ?? '', /seeded18-b\.pdparams/);
  const cached = await page.$$eval('#cached-list .name', (els) => els.map((e) => e.textContent));
  assert.ok(cached.includes('seeded18-b.pdparams'), `listed among cached models: ${cached.join(', ')}`);

  await classifyPicked();
  const top = await topFive();
  assert.equal(top.length, 5);
  // No label file fits 5 classes, so the converted model has numbered classes.
  for (const t of top) assert.match(t.label, /^class \d$/);
  await shot('converted');
});

test('a dropped rawframes folder (its img_*.jpg files) is classified', async () => {
  const dir = join(CACHE, 'rawframes');
  if (!existsSync(join(dir, 'img_00001.jpg'))) {
    mkdirSync(dir, { recursive: true });
    const clip = join(CACHE, 'raw.avi');
    const f = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-frames:v', '30', '-c:v', 'mpeg4', '-q:v', '4', clip]);
    assert.equal(f.status, 0, String(f.stderr));
    const x = spawnSync(process.env['PPTSN_PYTHON'] ?? '/usr/bin/python3', [join(ROOT, 'test/helpers/extract_rawframes.py'), clip, dir]);
    assert.equal(x.status, 0, String(x.stderr));
  }
  const names = readdirSync(dir).filter((n) => /^img_\d{5}\.jpg$/.test(n)).sort();
  await page.evaluate(async ([base, list]) => {
    document.getElementById('top5')!.replaceChildren(); // the previous result must not pass for this one
    const dt = new DataTransfer();
    for (const n of list) dt.items.add(new File([await (await fetch(`${base}/${n}`)).blob()], n, { type: 'image/jpeg' }));
    window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, [fsUrl('test/.cache/demo-model/rawframes'), names] as const);
  await page.waitForFunction(() => (document.getElementById('progress') as HTMLElement).hidden === false, undefined, { timeout: 10_000 }).catch(() => undefined);
  await settle();
  const top = await topFive();
  assert.equal(top.length, 5);
  for (const t of top) assert.match(t.label, /^class \d$/);
});

/** Short clips of three visually distinct classes (hue families), a few shades each, written once with ffmpeg. */
function makeClassClips(): Record<string, string[]> {
  const dir = join(CACHE, 'clips');
  mkdirSync(dir, { recursive: true });
  const families: Record<string, string[]> = {
    red: ['0xd01818', '0xf03030', '0xb02020', '0xe04848'],
    green: ['0x18c018', '0x30e030', '0x20a020', '0x48d048'],
    blue: ['0x1818d0', '0x3030f0', '0x2020b0', '0x4848e0'],
  };
  const out: Record<string, string[]> = {};
  for (const [name, shades] of Object.entries(families)) {
    out[name] = shades.map((c, i) => {
      const file = join(dir, `${name}-${i}.mp4`);
      if (!existsSync(file)) {
        // A moving white square on the class colour, so frames differ like a real clip's.
        const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${c}:s=160x120:d=2:r=8`, '-vf', `drawbox=x='mod(t*40+${i * 20},120)':y=40:w=30:h=30:color=white:t=fill`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', file]);
        if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr?.toString()}`);
      }
      return file;
    });
  }
  return out;
}

test('fine-tune on three generated classes: chart, held-out accuracy, use the new model', async () => {
  const clips = makeClassClips();
  const names = Object.keys(clips);
  for (const name of names) {
    await page.fill('#ft-class-name', name);
    await page.press('#ft-class-name', 'Enter');
  }
  for (const [i, name] of names.entries()) await page.setInputFiles(`#ft-clips-${i}`, clips[name]!);
  // One clip per class also set aside as "held out": evaluated with model.evaluate after training.
  for (const [i, name] of names.entries()) await page.setInputFiles(`#ft-heldout-${i}`, clips[name]![0]!);
  await page.selectOption('#ft-strategy', 'head');
  await page.fill('#ft-epochs', '8');
  await page.fill('#ft-segments', '3');
  await page.click('#ft-train');
  await settle(540_000);
  const accuracy = (await page.textContent('#ft-accuracy')) ?? '';
  assert.match(accuracy, /Accuracy: \d+(\.\d)? % on \d+ validation clips \(the trainer.s own split/);
  assert.match((await page.textContent('#ft-status')) ?? '', /Epoch 8\/8/);
  assert.match((await page.textContent('#ft-eval')) ?? '', /Test clips: top-1 \d+(\.\d)? %, top-5 100\.0 % over 3 clips/);
  assert.equal(await page.locator('#ft-eval table.confusion tbody tr').count(), 3);
  await page.locator('#finetune').screenshot({ path: join(SHOTS, 'demo-finetune.png') });

  // The fine-tuned classifier becomes the page's model and classifies with the new classes.
  await page.click('#ft-use');
  await settle();
  assert.match((await page.textContent('#model-details')) ?? '', /3 classes/);
  await page.setInputFiles('#video-file', clips.green![0]!);
  await page.waitForTimeout(300);
  await settle();
  const top = await topFive();
  assert.equal(top.length, 3);
  assert.deepEqual(new Set(top.map((t) => t.label)), new Set(names));
});

test('errors are readable messages in the page: a missing model URL, a corrupt weight file', async () => {
  const before = await page.textContent('#model-details');
  await page.fill('#model-url', fsUrl('test/.cache/demo-model/missing/model.json'));
  await page.click('#model-url-load');
  await page.waitForSelector('#error:not([hidden])', { timeout: 60_000 });
  const missing = (await page.textContent('#error-text')) ?? '';
  assert.match(missing, /download failed|not found|404/i, missing);
  await page.click('#error-close');

  await page.setInputFiles('#weights-file', { name: 'broken.pdparams', mimeType: 'application/octet-stream', buffer: Buffer.from('this is not a pickle') });
  await page.waitForSelector('#error:not([hidden])', { timeout: 60_000 });
  const corrupt = (await page.textContent('#error-text')) ?? '';
  assert.match(corrupt, /not valid PP-TSN weights/, corrupt);
  await page.screenshot({ path: join(SHOTS, 'demo-error.png') });
  await page.click('#error-close');
  // A failed load keeps the model that was there.
  assert.equal(await page.textContent('#model-details'), before);
  // The 404 above is expected; it must not count as a console error of the page.
  for (let i = errors.length - 1; i >= 0; i--) if (/404/.test(errors[i]!) && (errors[i]!.includes('/missing/') || !errors[i]!.includes('http'))) errors.splice(i, 1);
});

test('a fresh page whose cache write fails (full quota) never says the weights came from the cache', async () => {
  // A fresh context (empty Cache Storage) whose engine worker gets the browser's QuotaExceededError on every
  // Cache.put, as a full origin does: the load goes on from the network and reports the failed write as a `cache`
  // progress event with `error`, which the demo once labelled "Reading weights from the browser cache".
  const fresh = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await fresh.context().route(/\/src\/worker\/worker\.ts/, async (route) => {
      const r = await route.fetch();
      const patch = "Cache.prototype.put = async function () { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };\n";
      await route.fulfill({ response: r, body: patch + (await r.text()) });
    });
    await fresh.goto(`${origin}/?autoload=0`);
    await fresh.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
    await fresh.evaluate(() => {
      const seen: string[] = ((window as unknown as { seenLabels: string[] }).seenLabels = []);
      const label = document.getElementById('progress-label')!;
      new MutationObserver(() => seen.push(label.textContent ?? '')).observe(label, { childList: true, characterData: true, subtree: true });
    });
    await fresh.selectOption('#backend', 'wasm');
    await fresh.fill('#model-url', MODEL_URL);
    await fresh.click('#model-url-load');
    await fresh.waitForFunction(() => (document.getElementById('progress') as HTMLElement).hidden === false, undefined, { timeout: 10_000 }).catch(() => undefined);
    await fresh.waitForFunction(() => (document.getElementById('progress') as HTMLElement).hidden, undefined, { timeout: 180_000, polling: 200 });
    const labels = [...new Set(await fresh.evaluate(() => (window as unknown as { seenLabels: string[] }).seenLabels))];
    console.log('fresh page, full quota: progress labels', labels);
    assert.ok(labels.includes('Downloading weights'), labels.join(' | '));
    assert.ok(labels.some((l) => /not kept in the browser cache \(the browser storage is full\)/.test(l)), `the failed cache write is reported: ${labels.join(' | ')}`);
    for (const l of labels) assert.doesNotMatch(l, /reading .*from the browser cache/i);
    assert.match((await fresh.textContent('#model-details')) ?? '', /from network \(not kept in the browser cache: quota-exceeded\)$/);
    assert.equal(await fresh.evaluate(() => (document.getElementById('error') as HTMLElement).hidden), true, 'a cache failure is not a load error');
  } finally {
    await fresh.close();
  }
});

test('cached models can be deleted', async () => {
  const del = page.locator('#cached-list li', { hasText: 'seeded18-b.pdparams' }).getByRole('button', { name: /Delete/ });
  await del.click();
  await page.waitForFunction(() => ![...document.querySelectorAll('#cached-list .name')].some((e) => e.textContent === 'seeded18-b.pdparams'), undefined, { timeout: 10_000 });
});

test('every control has an accessible name', async () => {
  const unnamed = await page.$$eval('input, select, button, textarea', (els) =>
    els
      .filter((e) => {
        const c = e as HTMLInputElement;
        const named = (c.labels?.length ?? 0) > 0 || !!c.getAttribute('aria-label') || (e.tagName === 'BUTTON' && !!e.textContent?.trim());
        return !named;
      })
      .map((e) => e.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(unnamed, []);
});

test('390 px wide: no horizontal scroll', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  await shot('390px');
  assert.ok(width <= 390, `scrollWidth ${width} > 390`);
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
