/**
 * Parity of the browser with the CLI and with PaddleVideo on example.mp4:
 * - the browser's `preprocess` (mediabunny + WebCodecs in the worker, tfjs pipeline) against PaddleVideo's own
 *   pipeline (test/helpers/paddle_reference.py: OpenCV decode + cv2.resize + crops), both presets;
 * - a model converted by the CLI classifies example.mp4 on wasm with the CLI's logits. WebGL against the CLI, and
 *   webgl and webgpu against the Node network on the same input, are in runtime.test.ts, on the model its webgl test
 *   loads there (a SwiftShader backend's load costs 5–20 s here, more under load).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startBrowserEnv, ROOT, type BrowserEnv, callPage, ok, type Outcome } from '../helpers/browser.js';
import { seededStateDict } from '../helpers/seeded.js';
import { WASM_PATHS } from '../helpers/liveModel.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';

const DIR = join(ROOT, 'test/.cache/parity');
const VIDEO = join(ROOT, 'test/fixtures/media/example.mp4');
const EXAMPLE = { kind: 'url' as const, url: '/test/fixtures/media/example.mp4' };
const PYTHON = process.env['PPTSN_PYTHON'] ?? '/usr/bin/python3';

let env: BrowserEnv;
let page: Page;

function rt<T>(method: string, ...args: unknown[]): Promise<T> {
  return callPage<T>(page, 'rt', method, ...args);
}
function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `pptsn-web ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  mkdirSync(DIR, { recursive: true });
  writeFileSync(join(DIR, 'seeded18.pdparams'), writePdparams(seededStateDict(18, 6, 606)));
  cli(['convert', join(DIR, 'seeded18.pdparams'), '-o', join(DIR, 'model')]);
  env = await startBrowserEnv();
  ({ page } = await env.open('/test/browser/pages/runtime.html'));
  await page.waitForFunction(() => document.title === 'ready');
});
after(async () => env?.close());

test("browser preprocess = PaddleVideo's pipeline on example.mp4 (mean ≤ 0.01, p99 ≤ 0.05), both presets", async () => {
  ok(await rt('load', { model: '/test/.cache/parity/model/model.json', backend: 'wasm', wasmPaths: WASM_PATHS }), 'load');
  for (const preset of ['fast', 'accurate'] as const) {
    const ref = join(DIR, `ref_${preset}.npy`);
    const p = spawnSync(PYTHON, [join(ROOT, 'test/helpers/paddle_reference.py'), VIDEO, ref, '--preset', preset], { encoding: 'utf8' });
    assert.equal(p.status, 0, `paddle_reference.py (needs python3-opencv for ${PYTHON}): ${p.stderr}`);
    const s = ok(await rt<Outcome<{ shape: number[]; frameIndices: number[]; mean: number; p99: number }>>('preprocessVsNpy', EXAMPLE, { preset }, `/test/.cache/parity/ref_${preset}.npy`), preset);
    console.log(`browser preprocess vs PaddleVideo (${preset}): shape [${s.shape}], mean |Δ| ${s.mean.toExponential(3)}, p99 ${s.p99.toExponential(3)}`);
    assert.deepEqual(s.shape, [1, preset === 'fast' ? 8 : 250, 3, 224, 224]);
    assert.ok(s.mean <= 0.01, `${preset}: mean |Δ| ${s.mean}`);
    assert.ok(s.p99 <= 0.05, `${preset}: p99 |Δ| ${s.p99}`);
  }
});

test('a CLI-converted model classifies example.mp4 on wasm with the CLI\'s logits', async () => {
  const opts = { preset: 'fast', segments: 2 } as const;
  const ref = JSON.parse(cli(['classify', VIDEO, '-m', join(DIR, 'model'), '--preset', 'fast', '--segments', '2', '--json']));
  const cliLogits = ref.logits as number[];
  const scale = Math.max(...cliLogits.map(Math.abs));
  for (const backend of ['wasm'] as const) {
    ok(await rt('load', { model: '/test/.cache/parity/model/model.json', backend, wasmPaths: WASM_PATHS }), `load ${backend}`);
    const r = ok(await rt<Outcome<{ logits: number[]; frameIndices: number[]; backend: string }>>('classify', EXAMPLE, opts), backend);
    assert.equal(r.backend, backend);
    assert.deepEqual(r.frameIndices, ref.frameIndices, `${backend}: frame indices`);
    const d = Math.max(...r.logits.map((v, i) => Math.abs(v - cliLogits[i]!))) / scale;
    console.log(`${backend}: max |Δlogit| vs CLI = ${d.toExponential(2)} × max |logit|`);
    assert.ok(d <= 1e-4, `${backend}: logits differ from the CLI by ${d} × max |logit|`);
  }
});
