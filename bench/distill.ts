/**
 * The distill section: what a distilled student buys. The teacher (`--depth`, PP-TSN's ResNet50 by default) and a
 * ResNet18 and ResNet34 student run the same fast-preset input in Node on the CLI's runtime (onnxruntime-node when
 * installed, else tfjs wasm), interleaved rep by rep so both see the same load; images/s, the speed-up over the
 * teacher, and the bytes of each model's weights (float32).
 */
import { mkdirSync, existsSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ROOT } from '../test/helpers/browser.js';
import { seededStateDict } from '../test/helpers/seeded.js';
import { writeModelJson } from '../src/core/formats/modelJson.js';
import type { Depth } from '../src/core/model/arch.js';
import { createNodeRunner, type NodeRunner } from '../src/node/runtime.js';
import type { Options } from './options.js';
import { log, round } from './report.js';

export interface DistillRow {
  role: 'teacher' | 'student';
  depth: number;
  runtime: string;
  imagesPerSecond: number;
  /** Teacher's seconds per image over this model's. */
  speedupOverTeacher: number;
  weightBytes: number;
}

function modelDir(depth: Depth, classes: number): { dir: string; bytes: number } {
  const dir = join(ROOT, `bench/.cache/models/distill${depth}`);
  if (!existsSync(join(dir, 'model.json'))) {
    log(`writing ${dir}/model.json`);
    mkdirSync(dir, { recursive: true });
    const { modelJson, shards } = writeModelJson(seededStateDict(depth, classes, 1234 + depth));
    writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
    for (const s of shards) writeFileSync(join(dir, s.path), s.data);
  }
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
  return { dir, bytes: json.weightsManifest.flatMap((g) => g.paths).reduce((a, p) => a + readFileSync(join(dir, p)).length, 0) };
}

export async function distillSection(o: Options): Promise<{ basis: string; rows: DistillRow[] }> {
  const depths: Depth[] = [o.depth, 34, 18].filter((d, i, all) => all.indexOf(d) === i) as Depth[];
  const images = 8;
  const runners: { depth: Depth; runner: NodeRunner; bytes: number; times: number[] }[] = [];
  try {
    for (const depth of depths) {
      const m = modelDir(depth, o.classes);
      runners.push({ depth, runner: await createNodeRunner(m.dir, 'auto'), bytes: m.bytes, times: [] });
    }
    const x = tf.randomUniform([images, o.size, o.size, 3], -2, 2, 'float32', 7) as tf.Tensor4D;
    try {
      for (let rep = 0; rep <= o.reps; rep++) {
        for (const r of runners) {
          const t0 = performance.now();
          const f = await r.runner.network.features(x);
          await f.data();
          f.dispose();
          // The first rep warms each runtime up (graph build, caches) and is not counted.
          if (rep > 0) r.times.push((performance.now() - t0) / 1000);
        }
      }
    } finally {
      x.dispose();
    }
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
    const teacherS = median(runners[0]!.times) / images;
    const rows = runners.map((r, i): DistillRow => {
      const s = median(r.times) / images;
      return { role: i === 0 ? 'teacher' : 'student', depth: r.depth, runtime: r.runner.backend, imagesPerSecond: round(1 / s, 2), speedupOverTeacher: round(teacherS / s, 2), weightBytes: r.bytes };
    });
    for (const r of rows) log(`distill: ResNet${r.depth} (${r.role}) ${r.imagesPerSecond} images/s on ${r.runtime}, ${r.speedupOverTeacher}× the teacher, ${(r.weightBytes / 1048576).toFixed(1)} MB`);
    return { basis: `${images} images of ${o.size} px a call, median of ${o.reps} interleaved reps after one warm-up, seeded weights, ${o.classes} classes`, rows };
  } finally {
    for (const r of runners) await r.runner.dispose();
  }
}
