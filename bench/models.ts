/** The seeded model the browser sections load, written once as model.json into bench/.cache/. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../test/helpers/browser.js';
import { seededStateDict } from '../test/helpers/seeded.js';
import { writeModelJson } from '../src/core/formats/modelJson.js';
import type { Options } from './options.js';
import { log } from './report.js';

export /** The seeded depth-50 model as model.json (float32 and float16), written once into bench/.cache/. */
function ensureModels(o: Options): { f32: string; f16: string; bytes: { float32: number; float16: number } } {
  const dir = join(ROOT, 'bench/.cache/models');
  const bytes = { float32: 0, float16: 0 };
  for (const dtype of ['float32', 'float16'] as const) {
    const d = join(dir, `seeded${o.depth}-${dtype}`);
    const manifest = join(d, 'model.json');
    if (!existsSync(manifest)) {
      log(`writing ${manifest}`);
      mkdirSync(d, { recursive: true });
      const { modelJson, shards } = writeModelJson(seededStateDict(o.depth, o.classes, 1234), { dtype, labels: Array.from({ length: o.classes }, (_, i) => `class ${i}`) });
      writeFileSync(manifest, JSON.stringify(modelJson));
      for (const s of shards) writeFileSync(join(d, s.path), s.data);
    }
    const json = JSON.parse(readFileSync(manifest, 'utf8')) as { weightsManifest: { paths: string[] }[] };
    bytes[dtype] = json.weightsManifest.flatMap((g) => g.paths).reduce((a, p) => a + readFileSync(join(d, p)).length, 0);
  }
  return { f32: `/bench/.cache/models/seeded${o.depth}-float32/model.json`, f16: `/bench/.cache/models/seeded${o.depth}-float16/model.json`, bytes };
}
