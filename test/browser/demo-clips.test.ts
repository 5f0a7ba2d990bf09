/**
 * The demo's fine-tune panel when a training clip cannot be read (demo/finetune.ts): Train stops with an error
 * naming the clip, and pressing Train again says so again. It used to keep the clips read before the bad one in the
 * stored run, so the second Train "resumed" that run and trained on them silently (here: one class with no clip at
 * all, reported as 100 % training accuracy). Demo server as `npm start` runs it, a seeded ResNet18-vd, wasm.
 *
 * Run: node --import tsx --test test/browser/demo-clips.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { CHROMIUM_FLAGS, ROOT } from '../helpers/browser.js';
import { seededStateDict } from '../helpers/seeded.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';

const CACHE = join(ROOT, 'test/.cache/demo-clips');
const fsUrl = (rel: string) => `/@fs${join(ROOT, rel)}`;
let server: ViteDevServer;
let browser: Browser;
let page: Page;

/** Waits for the running task to end; the error the page shows, or null. */
async function settle(): Promise<string | null> {
  await page.waitForTimeout(300);
  await page.waitForFunction(() => (document.getElementById('progress') as HTMLElement).hidden, undefined, { timeout: 120_000, polling: 200 });
  const error = await page.evaluate(() => {
    const e = document.getElementById('error') as HTMLElement;
    return e.hidden ? null : (document.getElementById('error-text')?.textContent ?? '');
  });
  if (error !== null) await page.click('#error-close');
  return error;
}

before(async () => {
  mkdirSync(CACHE, { recursive: true });
  const { modelJson, shards } = writeModelJson(seededStateDict(18, 3, 31), { labels: ['x', 'y', 'z'] });
  writeFileSync(join(CACHE, 'model.json'), JSON.stringify(modelJson));
  for (const s of shards) writeFileSync(join(CACHE, s.path), s.data);
  server = await createServer({ configFile: join(ROOT, 'demo/vite.config.ts'), logLevel: 'error', server: { host: '127.0.0.1', port: 0, hmr: false, watch: null } });
  await server.listen();
  const addr = server.httpServer!.address();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/?autoload=0`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  await page.selectOption('#backend', 'wasm');
  await page.fill('#model-url', fsUrl('test/.cache/demo-clips/model.json'));
  await page.click('#model-url-load');
  assert.equal(await settle(), null, 'the model loads');
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('the ready hint goes when both classes have clips; a clip that cannot be read stops Train naming it, every time; nothing is trained on the clips read before it', async () => {
  for (const name of ['squat', 'lunge']) {
    await page.fill('#ft-class-name', name);
    await page.press('#ft-class-name', 'Enter');
  }
  await page.setInputFiles('#ft-clips-0', [join(ROOT, 'test/fixtures/bad-input/moov_at_end.mp4'), join(ROOT, 'test/fixtures/bad-input/notes.mp4')]);
  await page.setInputFiles('#ft-clips-1', [join(ROOT, 'test/fixtures/bad-input/moov_at_end.mp4')]);
  await page.waitForFunction(() => /2 classes ready/.test(document.getElementById('ft-status')?.textContent ?? ''), undefined, { timeout: 5000 }).catch(() => undefined);
  assert.doesNotMatch((await page.textContent('#ft-status')) ?? '', /Add at least two classes/, 'the hint goes once both classes have clips');
  await page.selectOption('#ft-strategy', 'head');
  await page.fill('#ft-epochs', '2');
  await page.fill('#ft-segments', '2');
  for (const attempt of ['first', 'second']) {
    await page.click('#ft-train');
    const error = await settle();
    console.log(`${attempt} Train: ${error?.trim()} | status: ${await page.textContent('#ft-status')}`);
    assert.match(error ?? '', /notes\.mp4/, `${attempt} Train: the unreadable clip is named`);
    assert.doesNotMatch((await page.textContent('#ft-status')) ?? '', /Epoch|Resumed/, `${attempt} Train: nothing trained`);
  }
});

test('a rawframes folder dropped on a fine-tune class row or on the smaller-model panel is one clip there, as on the page', async () => {
  await page.fill('#ft-class-name', 'folders');
  await page.press('#ft-class-name', 'Enter');
  // A directory handle as Chromium's getAsFileSystemHandle gives one for a dropped folder: an OPFS folder of
  // img_*.jpg (a script cannot put a folder in a DataTransfer), and an empty folder, which is refused by name.
  // A string, not a function: tsx would wrap the arrow functions in a `__name` helper the page does not have.
  const seen = (await page.evaluate(`(async () => {
    const root = await navigator.storage.getDirectory();
    const clip = await root.getDirectoryHandle('v_dropped_clip', { create: true });
    const canvas = new OffscreenCanvas(64, 48);
    const g = canvas.getContext('2d');
    for (let i = 1; i <= 4; i++) {
      g.fillStyle = 'rgb(' + 60 * i + ', 80, 120)';
      g.fillRect(0, 0, 64, 48);
      const w = await (await clip.getFileHandle('img_' + String(i).padStart(5, '0') + '.jpg', { create: true })).createWritable();
      await w.write(await canvas.convertToBlob({ type: 'image/jpeg' }));
      await w.close();
    }
    const empty = await root.getDirectoryHandle('no_frames', { create: true });
    const row = document.querySelector('li[data-class="folders"]');
    const sm = document.getElementById('sm-drop');
    const texts = [];
    for (const [target, dir] of [[row, clip], [sm, clip], [sm, empty]]) {
      const ev = new DragEvent('drop', { bubbles: true, cancelable: true });
      const item = { kind: 'file', getAsFile: () => new File([], dir.name), getAsFileSystemHandle: async () => dir };
      Object.defineProperty(ev, 'dataTransfer', { value: { items: [item], files: [] } });
      target.dispatchEvent(ev);
      await new Promise((r) => setTimeout(r, 500));
      texts.push(document.getElementById('sm-clips').textContent);
    }
    return { row: document.querySelector('li[data-class="folders"]').textContent, smaller: texts[1], progressHidden: document.getElementById('progress').hidden };
  })()`)) as { row: string | null; smaller: string | null; progressHidden: boolean };
  assert.match(seen.row ?? '', /(?<!\d)1 training clip(?!s)/, 'the class row took the folder as one clip');
  assert.match(seen.smaller ?? '', /1 clip without labels: v_dropped_clip \(4 frames\)/);
  assert.ok(seen.progressHidden, 'no page-wide classify started: the zones keep their drops');
  assert.match((await settle()) ?? '', /“no_frames”: no rawframes in this folder/);
});
