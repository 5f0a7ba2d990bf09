/**
 * The demo's "Make a smaller model" panel (issue 22 item 5), as a person uses it: a converted seeded ResNet18 is the
 * page's model (the teacher); the student ResNet18 starts from PaddleClas's ImageNet weights at the official URL
 * the panel offers (answered here with a generated `ResNet18_vd_pretrained.pdparams`: this machine cannot download
 * the real one), learns on three clips dropped without labels, and the panel shows the agreement with the teacher
 * and the speed of both; "Save the student and use it" downloads the student's `.zip` and makes it the page's
 * model, which then classifies a video. The teacher's-backbone start is offered only at the teacher's depth.
 * Tiny on purpose: 160×120 clips, T = 1, 1 epoch, wasm.
 *
 * Run: node --import tsx --test test/browser/demo-smaller.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT } from '../helpers/browser.js';
import { openDemo, type DemoPage } from '../helpers/demoPage.js';
import { seededStateDict } from '../helpers/seeded.js';
import { paddleClasBackbone } from '../helpers/pretrained.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';
import { readModelJson } from '../../src/core/formats/modelJson.js';

/** The entries of a stored (uncompressed) .zip, as `export('zip')` writes it. */
function unzipStored(zip: Buffer): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (let o = 0; zip.readUInt32LE(o) === 0x04034b50; ) {
    const size = zip.readUInt32LE(o + 18);
    const nameLen = zip.readUInt16LE(o + 26);
    const extra = zip.readUInt16LE(o + 28);
    const name = zip.subarray(o + 30, o + 30 + nameLen).toString('utf8');
    out.set(name, new Uint8Array(zip.subarray(o + 30 + nameLen + extra, o + 30 + nameLen + extra + size)));
    o += 30 + nameLen + extra + size;
  }
  return out;
}

const CACHE = join(ROOT, 'test/.cache/demo-smaller');
const OFFICIAL = 'https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models/ResNet18_vd_pretrained.pdparams';
let demo: DemoPage;
let page: Page;
const clips: string[] = [];
const settle = (timeout = 300_000) => demo.settle(timeout);

before(async () => {
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(join(CACHE, 'teacher18.pdparams'), writePdparams(seededStateDict(18, 3, 41)));
  for (const [i, c] of ['red', 'green', 'blue'].entries()) {
    const file = join(CACHE, `${c}.mp4`);
    if (!existsSync(file)) {
      const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${c}:s=160x120:d=1:r=8`, '-vf', `drawbox=x='mod(t*40+${i * 17},120)':y=30:w=30:h=30:color=white:t=fill`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file]);
      assert.equal(r.status, 0, r.stderr?.toString());
    }
    clips.push(file);
  }
  demo = await openDemo();
  page = demo.page;
});

after(async () => {
  await demo?.close();
});

test('the loaded model teaches a ResNet18 from ImageNet weights on unlabelled clips; agreement and speed shown; the student is saved and classifies', { timeout: 900_000 }, async () => {
  // PaddleClas's server, answered with a generated ResNet18_vd backbone (PaddleClas's new names), CORS allowed.
  let fetched = 0;
  const generated = paddleClasBackbone(18, 'new', 5);
  const weights = Buffer.from(generated.bytes);
  await page.route(OFFICIAL, (route) => {
    fetched++;
    return route.fulfill({ status: 200, body: weights, headers: { 'content-type': 'application/octet-stream', 'access-control-allow-origin': '*' } });
  });
  await page.setInputFiles('#weights-file', join(CACHE, 'teacher18.pdparams'));
  assert.equal(await settle(), null, 'the teacher converts');

  // The official URL of the chosen depth is offered; the teacher's backbone only at the teacher's depth (18).
  assert.equal(await page.inputValue('#sm-url'), OFFICIAL);
  assert.equal(await page.$eval('#sm-start-teacher', (o) => (o as HTMLOptionElement).disabled), false);
  await page.selectOption('#sm-depth', '34');
  assert.equal(await page.$eval('#sm-start-teacher', (o) => (o as HTMLOptionElement).disabled), true);
  assert.match(await page.inputValue('#sm-url'), /ResNet34_vd_pretrained\.pdparams$/);
  await page.selectOption('#sm-depth', '18');

  await page.setInputFiles('#sm-clip-files', clips);
  assert.match((await page.textContent('#sm-clips')) ?? '', /3 clips without labels/);
  await page.fill('#sm-epochs', '1');
  await page.fill('#sm-segments', '1');
  await page.click('#sm-make');
  assert.equal(await settle(), null, 'making the smaller model');
  assert.equal(fetched, 1, 'the student started from the weights at the official URL');
  assert.match((await page.textContent('#sm-status')) ?? '', /Done/);
  assert.match((await page.textContent('#sm-agreement')) ?? '', /Agreement with the teacher: \d+ % of \d+/);
  assert.match((await page.textContent('#sm-speed')) ?? '', /teacher ResNet18 \d+ ms per clip · student ResNet18 \d+ ms per clip/);

  const download = page.waitForEvent('download');
  await page.click('#sm-use');
  const saved = await download;
  assert.equal(saved.suggestedFilename(), 'student-resnet18.zip');
  // The saved student: the ImageNet backbone (frozen under 'head'), a new 3-class head; not the teacher's weights.
  const files = unzipStored(readFileSync((await saved.path())!));
  const student = await readModelJson(JSON.parse(new TextDecoder().decode(files.get('model.json')!)), async (p) => files.get(p)!);
  assert.equal(student.numClasses, 3);
  for (const key of ['backbone.conv1_1._conv.weight', 'backbone.bb_3_1.conv1._conv.weight']) {
    const want = generated.backbone.get(key);
    assert.ok(want, key);
    assert.deepEqual(Array.from(student.stateDict.get(key)!.data.slice(0, 64)), Array.from(want.data.slice(0, 64)), `${key} is the pretrained file's`);
  }
  assert.equal(await settle(), null, 'saving the student');
  assert.match((await page.textContent('#model-name')) ?? '', /student-resnet18/);
  assert.match((await page.textContent('#model-details')) ?? '', /ResNet18-vd · 3 classes/);

  // The page's model is now the student: a video is classified with it.
  await page.setInputFiles('#video-file', clips[0]!);
  assert.equal(await settle(), null, 'classify with the student');
  await page.waitForFunction(() => document.querySelectorAll('#top5 li .bar').length > 0, undefined, { timeout: 60_000 });
  assert.deepEqual(demo.errors, [], 'no console errors');
});
