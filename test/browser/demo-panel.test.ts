/**
 * The demo as a person lives it (issue 26), from a fresh dev server (an empty dependency cache, as after a clone):
 * a video picked while a `.pdparams` is still converting waits for the model and is classified (it was refused with
 * "Load a model first"); the fine-tune panel's classes and clips survive a reload (IndexedDB); rawframes JPEGs
 * picked for a class become one clip, and another image is refused with a message; a tiny `head` run on them is
 * listed under Stored runs, reopens with Resume and goes with Delete; the page never reloads by itself (Vite's
 * "optimized dependencies changed") and logs no console error. Seeded ResNet18-vd, wasm.
 *
 * Run: node --import tsx --test test/browser/demo-panel.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT } from '../helpers/browser.js';
import { openDemo, type DemoPage } from '../helpers/demoPage.js';
import { seededStateDict } from '../helpers/seeded.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';

const CACHE = join(ROOT, 'test/.cache/demo-panel');
const EXAMPLE = join(ROOT, 'test/fixtures/media/example.mp4');
let demo: DemoPage;
let page: Page;
const settle = (timeout?: number) => demo.settle(timeout);

before(async () => {
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(join(CACHE, 'seeded18.pdparams'), writePdparams(seededStateDict(18, 4, 91)));
  // Two rawframes JPEGs (as PaddleVideo's extraction names them) and one other image.
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', EXAMPLE, '-frames:v', '2', '-vf', 'scale=160:-2', join(CACHE, 'img_%05d.jpg')]);
  assert.equal(r.status, 0, r.stderr?.toString());
  copyFileSync(join(CACHE, 'img_00001.jpg'), join(CACHE, 'holiday.jpg'));
  demo = await openDemo();
  page = demo.page;
});

after(async () => {
  await demo?.close();
});

test('a video picked while a .pdparams converts waits for it; the panel survives a reload; JPEGs are a rawframes clip or refused; no self-reload, no console error', { timeout: 600_000 }, async () => {
  await page.setInputFiles('#weights-file', join(CACHE, 'seeded18.pdparams'));
  // At once, while the conversion runs: the video must wait for the model, not be refused.
  await page.setInputFiles('#video-file', EXAMPLE);
  assert.equal(await settle(), null, 'no "Load a model first"');
  await page.waitForFunction(() => document.querySelectorAll('#top5 li .bar').length > 0, undefined, { timeout: 60_000 });
  assert.match((await page.textContent('#model-name')) ?? '', /seeded18\.pdparams/);

  for (const name of ['wave', 'clap']) {
    await page.fill('#ft-class-name', name);
    await page.press('#ft-class-name', 'Enter');
  }
  await page.setInputFiles('#ft-clips-0', [EXAMPLE]);
  await page.setInputFiles('#ft-clips-1', [join(CACHE, 'img_00001.jpg'), join(CACHE, 'img_00002.jpg')]);
  assert.match((await page.textContent('#ft-classes li[data-class="clap"]')) ?? '', /1 training clip(?!s)/, 'two rawframes JPEGs are one clip');
  await page.setInputFiles('#ft-clips-1', [join(CACHE, 'holiday.jpg')]);
  assert.match((await page.textContent('#error-text')) ?? '', /holiday\.jpg.*not a video/);
  await page.click('#error-close');
  await page.selectOption('#ft-strategy', 'last-stage');
  await page.fill('#ft-epochs', '3');
  await page.dispatchEvent('#ft-epochs', 'change');
  await page.waitForTimeout(500);

  const before = demo.navigations();
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  await page.waitForFunction(() => document.querySelectorAll('#ft-classes li').length === 2, undefined, { timeout: 10_000 });
  const rows = await page.$$eval('#ft-classes li', (lis) => lis.map((li) => li.textContent ?? ''));
  assert.match(rows[0]!, /wave.*1 training clip(?!s)/);
  assert.match(rows[1]!, /clap.*1 training clip(?!s)/);
  assert.equal(await page.inputValue('#ft-strategy'), 'last-stage');
  assert.equal(await page.inputValue('#ft-epochs'), '3');
  assert.match((await page.textContent('#ft-status')) ?? '', /Restored 2 classes and 2 training clips/);

  // Train a tiny head run on the restored clips (the video and the rawframes clip), then Resume and Delete it.
  await page.setInputFiles('#weights-file', join(CACHE, 'seeded18.pdparams'));
  assert.equal(await settle(), null, 'the model converts again after the reload');
  await page.selectOption('#ft-strategy', 'head');
  await page.fill('#ft-epochs', '1');
  await page.fill('#ft-segments', '1');
  await page.click('#ft-train');
  assert.equal(await settle(), null, 'training on the restored clips');
  assert.match((await page.textContent('#ft-status')) ?? '', /Epoch 1\/1/);
  await page.waitForFunction(() => document.querySelectorAll('#ft-runs li').length === 1, undefined, { timeout: 10_000 });
  assert.match((await page.textContent('#ft-runs li')) ?? '', /wave, clap · head · epoch 1\/1.*2 clips/);
  await page.click('#ft-runs li button:has-text("Resume")');
  assert.equal(await settle(), null, 'resume');
  assert.match((await page.textContent('#ft-status')) ?? '', /Opened “demo-[0-9a-f]+”: wave, clap \(head\), 2 clips, epoch 1 of 1/);
  assert.equal(await page.textContent('#ft-train'), 'Continue training');
  await page.click('#ft-runs li button:has-text("Delete")');
  assert.equal(await settle(), null, 'delete');
  await page.waitForFunction(() => document.querySelectorAll('#ft-runs li').length === 0, undefined, { timeout: 10_000 });

  assert.equal(demo.navigations(), before + 1, 'only the reload we asked for (no Vite reload)');
  assert.deepEqual(demo.errors, [], 'no console errors');
});
