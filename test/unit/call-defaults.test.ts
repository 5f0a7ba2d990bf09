/**
 * Options resolved once per entry point (core/classify/defaults.ts, shared by the page's api/config.ts and the CLI):
 * the defaults (the 5 best, the model's preset from model.json, the score filter as class indices), one preset
 * resolution per classify call counted with presets.ts' `watchPresetResolution` (the page's config, the CLI's
 * `classify` on a video end to end), and no resolver below the entry points (the worker, the readers, the tail).
 *   node --import tsx --test test/unit/call-defaults.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededStateDict } from '../helpers/seeded.js';
import { DEFAULT_TOP_K, modelPreset, resolveCallOptions } from '../../src/core/classify/defaults.js';
import { isPPTSNError } from '../../src/core/errors.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';
import { PRESETS, watchPresetResolution, type PreprocessConfig } from '../../src/core/preprocess/presets.js';
import { validateClassifyConfig, validateEmbedConfig, validatePreprocessConfig } from '../../src/api/config.js';
import { loadClassifier } from '../../src/cli/classify.js';
import { writeModelDir } from '../../src/node/modelDir.js';
import { readSources } from '../helpers/importGraph.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LABELS = ['walk', 'run', 'jump', 'sit', 'stand'];
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-defaults-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` and returns what it returned with every preset resolution made meanwhile. */
async function counted<T>(fn: () => T | Promise<T>): Promise<{ value: T; resolutions: PreprocessConfig[] }> {
  const resolutions: PreprocessConfig[] = [];
  const stop = watchPresetResolution((c) => resolutions.push(c));
  try {
    return { value: await fn(), resolutions };
  } finally {
    stop();
  }
}

test('the defaults: the model\'s preset (a known name, else accurate), the 5 best, the filter as class indices', () => {
  assert.equal(modelPreset('fast'), 'fast');
  assert.equal(modelPreset('accurate'), 'accurate');
  assert.equal(modelPreset(undefined), 'accurate');
  assert.equal(modelPreset('toString'), 'accurate', 'only own preset names');
  const fast = resolveCallOptions({}, { preset: 'fast', labels: LABELS });
  assert.deepEqual(fast.preprocess, PRESETS.fast);
  assert.equal(fast.topK, DEFAULT_TOP_K);
  assert.deepEqual(fast.filter, {});
  assert.deepEqual(resolveCallOptions({ preset: 'accurate' }, { preset: 'fast', labels: LABELS }).preprocess, PRESETS.accurate, 'the caller\'s preset wins');
  const filtered = resolveCallOptions({ classes: ['jump', 0], scoreThreshold: 0.1, topK: 2 }, { labels: LABELS });
  assert.deepEqual(filtered.filter, { scoreThreshold: 0.1, allow: [2, 0] });
  assert.equal(filtered.topK, 2);
  assert.throws(() => resolveCallOptions({ classes: ['fly'] }, { labels: LABELS }), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument' && /"fly" is not a label/.test(e.message));
  assert.equal(resolveCallOptions({ topK: 0 }, { labels: LABELS }).topK, 0, 'the page allows an empty top');
  assert.throws(() => resolveCallOptions({ topK: 0 }, { labels: LABELS }, 1), /--top-k must be a positive integer, got 0/);
});

test('the page: one resolution per call, over the model\'s preset, and the filter crosses as class indices', async () => {
  const model = { labels: LABELS, preset: 'fast' };
  const { value, resolutions } = await counted(() => validateClassifyConfig({ classes: ['sit'], topK: 3 }, 'clip.mp4', model));
  assert.equal(resolutions.length, 1, 'classify resolves its preset once');
  assert.deepEqual(value, { preprocess: PRESETS.fast, topK: 3, filter: { allow: [3] } });
  assert.deepEqual((await counted(() => validateClassifyConfig({}, 'clip.mp4', model))).value, { preprocess: PRESETS.fast, topK: 5 }, 'no filter set: none sent');
  assert.deepEqual(validateClassifyConfig({}, 'clip.mp4', { labels: LABELS }).preprocess, PRESETS.accurate, 'a converted file (no model.json preset): accurate');
  const embed = await counted(() => validateEmbedConfig({ segments: 3 }, 'clip.mp4', model));
  assert.equal(embed.resolutions.length, 1);
  assert.equal(embed.value.preprocess.segments, 3);
  assert.equal(embed.value.preprocess.crops, 'center', 'the model\'s fast preset under the override');
  assert.equal(validatePreprocessConfig({}, 'clip.mp4', model).preset, 'fast');
});

test('the CLI: classify on a video resolves its preset once (load and run), the model\'s preset by default', async () => {
  const modelDir = join(dir, 'fast18');
  await writeModelDir(modelDir, writeModelJson(seededStateDict(18, 5, 1234), { labels: LABELS, preset: 'fast' }));
  const video = join(ROOT, 'test/fixtures/media/example.mp4');
  const { value: out, resolutions } = await counted(async () => {
    const classifier = await loadClassifier({ modelDir, backend: 'cpu', segments: 2, topK: 2, decoder: 'ffmpeg', log: () => {} });
    try {
      return await classifier.run({ video });
    } finally {
      await classifier.dispose();
    }
  });
  assert.equal(resolutions.length, 1, `one resolution, at the entry point (got ${resolutions.length})`);
  const config = resolutions[0]!;
  assert.equal(config.segments, 2);
  assert.equal(config.crops, 'center', 'model.json\'s fast preset');
  assert.equal(config.scale, 'keep-ratio');
  assert.equal(out.frameIndices?.length, 2);
  assert.equal(out.top[0]!.length, 2);
});

test('below the entry points nothing resolves again: no resolver in src/worker, and core\'s only in the resolvers themselves', () => {
  const resolvers = /\b(resolvePreprocessOptions|resolveScoreFilter|resolveSettings)\(/;
  const calling = [...readSources(join(ROOT, 'src'))]
    .filter(([, text]) => resolvers.test(text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '').replace(/export function \w+\(/g, '')))
    .map(([module]) => module)
    .sort();
  // The entry points: the page's config, the CLI's defaults (core/classify/defaults.ts), the public frameCropBoxes,
  // the train CLI's item reader, and the page trainer's settings and clip pool (resolved in the worker, once: the
  // worker decodes a training clip's frames, rawframes included).
  assert.deepEqual(calling, ['api/config.ts', 'core/classify/defaults.ts', 'core/preprocess/frameCrops.ts', 'node/train/data.ts', 'worker/trainerEngine.ts']);
});
