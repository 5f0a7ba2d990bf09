/** The fp16 section: float16 model.json weights, bytes on the wire and top-5 against float32 on the golden cases. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ROOT } from '../test/helpers/browser.js';
import { seededInput, seededStateDict } from '../test/helpers/seeded.js';
import { readModelJson, writeModelJson } from '../src/core/formats/modelJson.js';
import { Recognizer } from '../src/core/model/recognizer.js';
import { initNodeBackend } from '../src/node/backends.js';
import type { Depth } from '../src/core/model/arch.js';
import { ensureModels } from './models.js';
import type { Options } from './options.js';
import { log, round, type Report } from './report.js';

/** Float16 weights: bytes on the wire vs float32, and top-5 on the golden cases through the real reader. */
export async function fp16Section(o: Options, report: Report): Promise<void> {
  log('fp16: golden cases, node wasm');
  await initNodeBackend('wasm');
  const golden = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/golden/seeded_cases.json'), 'utf8')) as { depth: Depth; num_classes: number; weight_seed: number; input_shape: number[]; input_seed: number; logits: number[][] }[];
  const cases = [];
  let b32 = 0;
  let b16 = 0;
  for (const c of golden) {
    const sd = seededStateDict(c.depth, c.num_classes, c.weight_seed);
    const logitsOf = async (dtype: 'float32' | 'float16') => {
      const { modelJson, shards } = writeModelJson(sd, { dtype });
      const bytes = shards.reduce((a, s) => a + s.data.length, 0);
      const byPath = new Map(shards.map((s) => [s.path, s.data]));
      const m = await readModelJson(modelJson, async (p) => byPath.get(p)!);
      const rec = Recognizer.fromStateDict(m.stateDict);
      const x = tf.tensor(seededInput(c.input_shape, c.input_seed), c.input_shape);
      const y = rec.predict(x);
      const v = Array.from(await y.data());
      tf.dispose([x, y]);
      rec.dispose();
      return { bytes, v };
    };
    const f32 = await logitsOf('float32');
    const f16 = await logitsOf('float16');
    b32 += f32.bytes;
    b16 += f16.bytes;
    const top5 = (v: number[]) => v.map((x, i) => [x, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 5).map((p) => p[1]);
    const maxDiff = Math.max(...f32.v.map((x, i) => Math.abs(x - f16.v[i]!)));
    cases.push({ depth: c.depth, classes: c.num_classes, bytesFloat32: f32.bytes, bytesFloat16: f16.bytes, top5Float32: top5(f32.v), top5Float16: top5(f16.v), top5Identical: JSON.stringify(top5(f32.v)) === JSON.stringify(top5(f16.v)), maxLogitDiff: round(maxDiff, 6) });
  }
  const models = ensureModels(o);
  report.fp16 = { cases, allTop5Identical: cases.every((c) => c.top5Identical), byteRatioGolden: round(b32 / b16, 3), depth50Model: { ...models.bytes, ratio: round(models.bytes.float32 / models.bytes.float16, 3) } };
}
