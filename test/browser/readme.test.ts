/**
 * README.md's "The API in ten lines" runs as written, in headless Chromium: its block is taken from the README
 * at test time, only the import line dropped and the model URL swapped for a seeded ResNet18-vd with the
 * Kinetics-400 labels (the block filters on 'archery' and 'bowling'), so a README edit that breaks the example
 * fails here. The block also typechecks against src/ (test/unit/readme-example.test.ts).
 *
 * Run: node --import tsx --test test/browser/readme.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startBrowserEnv, type BrowserEnv, callPage, ok, ROOT, type Outcome } from '../helpers/browser.js';
import { seededStateDict } from '../helpers/seeded.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';
import { parseLabels } from '../../src/core/labels.js';
import { readmeBlock } from '../helpers/readme.js';

const DIR = join(ROOT, 'test/.cache/readme-k400');
const MODEL = '/test/.cache/readme-k400/model.json';
let env: BrowserEnv;
let page: Page;

before(async () => {
  if (!existsSync(join(DIR, 'model.json'))) {
    const labels = parseLabels(readFileSync(join(ROOT, 'weights/labels/kinetics400.txt'), 'utf8'));
    const { modelJson, shards } = writeModelJson(seededStateDict(18, labels.length, 400), { labels });
    mkdirSync(DIR, { recursive: true });
    for (const s of shards) writeFileSync(join(DIR, s.path), s.data);
    writeFileSync(join(DIR, 'model.json'), JSON.stringify(modelJson));
  }
  env = await startBrowserEnv();
  // What an app's bundler does (consumer.test.ts checks it for Vite and webpack): the tfjs WASM binaries served
  // beside the worker, where the README's load (no wasmPaths) looks for them.
  const dist = join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  env.server.middlewares.stack.unshift({
    route: '',
    handle: (req: { url?: string }, res: { setHeader(k: string, v: string): void; end(b: Buffer): void }, next: () => void) => {
      const m = /^\/src\/worker\/(tfjs-backend-wasm[a-z-]*\.wasm)(\?|$)/.exec(req.url ?? '');
      if (!m) return next();
      res.setHeader('content-type', 'application/wasm');
      res.end(readFileSync(join(dist, m[1]!)));
    },
  } as never);
  ({ page } = await env.open('/test/browser/pages/readme.html'));
  await page.waitForFunction(() => document.title === 'ready');
});
after(async () => env?.close());

test("README's API in ten lines runs as written: load, classify, preprocess, stream, fine-tune, embed, frames, tensor, close", async () => {
  const { code, modelUrl } = readmeBlock(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const r = await callPage<Outcome<{ logged: string[]; shown: number; top: number; backend: string; inputShape: number[]; embedding: number; frames: number; mineLabels: string[] }>>(
    // The accurate preset (250 images, ~35 s on wasm here) is swapped for the fast one to keep this test short;
    // test/browser/parity.test.ts and runtime.test.ts run it.
    page, 'readme', 'run', code.split(modelUrl).join(MODEL).replace("preset: 'accurate'", "preset: 'fast'"), '/test/fixtures/media/example.mp4', '/test/fixtures/realworld/rot90.mp4');
  const v = ok(r, 'the README example');
  console.log(`README example: ${(r.ms / 1000).toFixed(1)} s on ${v.backend}; ${JSON.stringify({ ...v, logged: v.logged.length })}`);
  assert.equal(v.top, 5, 'topK: 5');
  assert.ok(v.shown > 0, 'onProgress reported');
  assert.deepEqual(v.inputShape, [1, 8, 3, 224, 224], "preprocess gives PaddleVideo's fast input");
  assert.equal(v.embedding, 512, 'ResNet18: 512-d');
  assert.equal(v.frames, 8, 'perFrame: one feature per sampled frame');
  assert.deepEqual(v.mineLabels, ['squat', 'lunge']);
  assert.ok(v.logged.some((l) => l.includes('"download"')), 'load progress logged');
});
