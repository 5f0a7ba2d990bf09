/**
 * Stop on a page that is not cross-origin isolated (issue 26): without shared memory the worker hears a stop only
 * as a message, between micro-batches. A stop asked inside the first micro-batch's pass (an event from its layers)
 * must land at the end of that micro-batch: the rejection says "after 1 of its 3 clips". In Chromium's worker one
 * macrotask turn after a long synchronous pass did not run a message that had waited for seconds (it landed a
 * micro-batch later, "after 2"); core/yieldTurn.ts `settleTurn` gives it the turns it needs.
 * ResNet18-vd seeded, `full`, T = 1, 3 clips in one step of 3 micro-batches; nothing timed.
 *
 * Run: node --import tsx --test test/browser/train-stop-message.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startBrowserEnv, ROOT, type BrowserEnv, callPage, ok, type Outcome } from '../helpers/browser.js';
import { writeSeededModel } from '../helpers/liveModel.js';

const DIR = join(ROOT, 'test/.cache/train-stop-message');
const MODEL_URL = '/test/.cache/train-stop-message/seeded18/model.json';

let env: BrowserEnv;
let page: Page;
const tr = <T>(method: string, ...args: unknown[]) => callPage<T>(page, 'tr', method, ...args);

function clip(i: number): string {
  const file = join(DIR, `c${i}.mp4`);
  if (!existsSync(file)) {
    const c = ['0xd01818', '0x1818d0', '0xb02020'][i]!;
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${c}:s=160x120:d=1:r=8`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file]);
    if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr?.toString()}`);
  }
  return `/test/.cache/train-stop-message/c${i}.mp4`;
}

before(async () => {
  writeSeededModel(DIR, 779);
  env = await startBrowserEnv({ isolated: false });
  ({ page } = await env.open('/test/browser/pages/train.html'));
  await page.waitForFunction(() => document.title === 'ready');
  ok(await tr<Outcome<string>>('load', MODEL_URL), 'load');
});

after(async () => {
  await env?.close();
});

test('not isolated: a stop asked inside the first micro-batch lands at its end', { timeout: 900_000 }, async () => {
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), false, 'the page has no shared memory');
  ok(await tr('create', { classes: ['red', 'blue'], name: 'stop-message', persist: false, strategy: 'full', epochs: 1, segments: 1, batchSize: 3, validationSplit: 0, preciseBN: false }), 'create');
  for (let i = 0; i < 3; i++) ok(await tr('addClip', clip(i), i === 1 ? 'blue' : 'red'), `addClip ${i}`);
  await page.evaluate(() => (window as unknown as { tr: { stopOn(w: unknown): void } }).tr.stopOn({ phase: 'training', done: 0.5 }));
  const stopped = await tr<Outcome<unknown>>('fitStopping');
  assert.ok(!stopped.ok && stopped.code === 'aborted', JSON.stringify(stopped));
  assert.match(stopped.message, /inside step 1, after 1 of its 3 clips/, 'landed at the end of the micro-batch it was asked in');
  const info = ok(await tr<Outcome<{ iteration: number }>>('info'), 'info');
  assert.equal(info.iteration, 0, 'nothing of the step applied');
  ok(await tr('dispose'), 'dispose');
});
