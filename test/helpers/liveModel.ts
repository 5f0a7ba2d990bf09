/**
 * The seeded ResNet18-vd (10 classes) the live/reliability/soak browser tests load, written with the formats writer
 * into test/.cache/live/ (gitignored; separate from runtime.test.ts's copy so test files can run side by side).
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './browser.js';
import { seededStateDict } from './seeded.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';

export const LIVE_DIR = join(ROOT, 'test/.cache/live');
export const LIVE_MODEL_URL = '/test/.cache/live/seeded18/model.json';
export const LIVE_PDPARAMS_URL = '/test/.cache/live/seeded18.pdparams';
export const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';
export const CLASSES = 10;
export const LABELS = Array.from({ length: CLASSES }, (_, i) => `label ${i}`);

/** Writes the model (once per checkout; the files are deterministic) and returns its shard paths. */
export function writeLiveModel(): string[] {
  const dir = join(LIVE_DIR, 'seeded18');
  const sd = seededStateDict(18, CLASSES, 4242);
  const { modelJson, shards } = writeModelJson(sd, { labels: LABELS, source: { fileName: 'seeded18.pdparams', sha256: '0'.repeat(64), format: 'pdparams' } });
  if (!existsSync(join(dir, 'model.json'))) {
    mkdirSync(dir, { recursive: true });
    for (const s of shards) writeFileSync(join(dir, s.path), s.data);
    writeFileSync(join(LIVE_DIR, 'seeded18.pdparams'), writePdparams(sd));
    writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
  }
  return shards.map((s) => s.path);
}

/**
 * Writes a seeded ResNet18-vd with 10 classes (`k0`…`k9`) as `<dir>/seeded18/model.json` + shards, for the trainer
 * tests that each keep their own copy (so test files can run side by side).
 */
export function writeSeededModel(dir: string, seed: number): void {
  mkdirSync(join(dir, 'seeded18'), { recursive: true });
  const { modelJson, shards } = writeModelJson(seededStateDict(18, 10, seed), { labels: Array.from({ length: 10 }, (_, i) => `k${i}`) });
  writeFileSync(join(dir, 'seeded18/model.json'), JSON.stringify(modelJson));
  for (const s of shards) writeFileSync(join(dir, 'seeded18', s.path), s.data);
}
