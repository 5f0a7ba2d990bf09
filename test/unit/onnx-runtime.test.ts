/**
 * The CLI's runners (src/node/runtime.ts) and the ONNX writer (src/node/onnx/): onnxruntime-node's logits against
 * the independent float64 NumPy reference (test/helpers/reference.py) at depths 18/34/50 on odd sizes, within
 * max(1e-4, 2× the float32 rounding of an independent float32 implementation: tfjs wasm, direct convolutions); a
 * clip through core/classify on onnx = on wasm; the graph cached next to the model and rebuilt when the model
 * changes; the wasm fallback and its message; no tensor left behind.
 *
 *   node --import tsx --test test/unit/onnx-runtime.test.ts
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { Depth } from '../../src/core/model/arch.js';
import { writeModelJson } from '../../src/core/formats/modelJson.js';
import { isPPTSNError } from '../../src/core/errors.js';
import type { FramePixels } from '../../src/core/frames/pixels.js';
import { Recognizer } from '../../src/core/model/recognizer.js';
import { resolvePreprocessOptions } from '../../src/core/preprocess/presets.js';
import { initNodeBackend } from '../../src/node/backends.js';
import { writeModelDir } from '../../src/node/modelDir.js';
import { ONNX_FILE } from '../../src/node/onnx/cache.js';
import { createNodeRunner } from '../../src/node/runtime.js';
import { relErr } from '../helpers/numerics.js';
import { seededInput, seededStateDict } from '../helpers/seeded.js';

const REFERENCE_PY = fileURLToPath(new URL('../helpers/reference.py', import.meta.url));
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-onnx-'));
  await initNodeBackend('wasm');
});
after(() => {
  chmodSync(dir, 0o755);
  rmSync(dir, { recursive: true, force: true });
});

async function modelDir(name: string, depth: Depth, classes: number, seed: number): Promise<string> {
  const d = join(dir, name);
  if (!existsSync(join(d, 'model.json'))) await writeModelDir(d, writeModelJson(seededStateDict(depth, classes, seed)));
  return d;
}

/** Logits [N, classes] of a runner on the seeded PaddleVideo input. */
async function logitsOf(d: string, backend: 'onnx' | 'wasm', shape: number[], seed: number, opts = {}): Promise<number[]> {
  const runner = await createNodeRunner(d, backend, opts);
  const x = tf.tensor(seededInput(shape, seed), shape);
  try {
    const y = await runner.predict(x);
    const v = Array.from(await y.data());
    y.dispose();
    return v;
  } finally {
    x.dispose();
    await runner.dispose();
  }
}

const CASES: { depth: Depth; classes: number; seed: number; shape: number[]; iseed: number }[] = [
  { depth: 18, classes: 4, seed: 11, shape: [2, 3, 3, 33, 45], iseed: 1 },
  { depth: 34, classes: 3, seed: 12, shape: [1, 2, 3, 37, 37], iseed: 2 },
  { depth: 50, classes: 6, seed: 13, shape: [2, 2, 3, 35, 32], iseed: 3 },
];

for (const c of CASES) {
  test(`onnx: depth ${c.depth}, input [${c.shape.join(', ')}] against the float64 reference`, async (t) => {
    const r = spawnSync('python3', [REFERENCE_PY], { input: JSON.stringify({ depth: c.depth, num_classes: c.classes, weight_seed: c.seed, input_shape: c.shape, input_seed: c.iseed }), encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, `reference.py failed: ${r.stderr}`);
    const ref = (JSON.parse(r.stdout) as { logits: number[][] }).logits.flat();
    const d = await modelDir(`r${c.depth}`, c.depth, c.classes, c.seed);
    const before = tf.memory().numTensors;
    const onnx = await logitsOf(d, 'onnx', c.shape, c.iseed);
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind by the onnx runner');
    const f32 = await logitsOf(d, 'wasm', c.shape, c.iseed, { winograd: false, chunkSize: 3 });
    // The wasm runner's chunked predict is Recognizer.predict's arithmetic, bit for bit.
    const rec = Recognizer.fromStateDict(seededStateDict(c.depth, c.classes, c.seed), { winograd: false });
    const x = tf.tensor(seededInput(c.shape, c.iseed), c.shape);
    const y = rec.predict(x, { batchSize: 3 });
    assert.deepEqual(f32, Array.from(await y.data()), 'wasm runner = Recognizer.predict');
    tf.dispose([x, y]);
    rec.dispose();
    const rounding = relErr(f32, ref);
    const bar = Math.max(1e-4, 2 * rounding);
    const err = relErr(onnx, ref);
    t.diagnostic(`depth ${c.depth}: onnx ${err.toExponential(2)}, tfjs wasm direct (float32) ${rounding.toExponential(2)}, bar ${bar.toExponential(2)}`);
    assert.ok(err <= bar, `onnx logits off by ${err} (bar ${bar})`);
  });
}

/** Deterministic RGBA frames (a gradient with a per-frame shift): enough to exercise crops and chunking. */
function frames(n: number, w: number, h: number): FramePixels[] {
  return Array.from({ length: n }, (_, f) => {
    const data = new Uint8ClampedArray(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      data[i * 4] = (i * 7 + f * 31) & 255;
      data[i * 4 + 1] = ((i % w) * 3 + f * 11) & 255;
      data[i * 4 + 2] = (((i / w) | 0) * 5) & 255;
      data[i * 4 + 3] = 255;
    }
    return { width: w, height: h, channels: 4 as const, data };
  });
}

test('a clip through core/classify: onnx = wasm within the bar, one onChunk per chunk with running logits; no leak', async () => {
  const d = await modelDir('r18', 18, 4, 11);
  const config = resolvePreprocessOptions({ preset: 'fast', segments: 3, crops: 'three', shortSize: 64, cropSize: 56 } as never);
  const clip = frames(3, 96, 72);
  const results: Record<string, Float32Array> = {};
  for (const backend of ['onnx', 'wasm'] as const) {
    const runner = await createNodeRunner(d, backend, { chunkSize: 4, winograd: false });
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    const run = await runner.clipLogits(clip, config, { runningLogits: true, onChunk: (p) => seen.push(p.done) });
    assert.equal(tf.memory().numTensors, before, `${backend}: no tensor left by clipLogits`);
    assert.deepEqual(seen, [3, 6, 9], `${backend}: a chunk per frame group (3 crops, chunks of 4 → one frame each)`);
    results[backend] = run.logits;
    await runner.dispose();
  }
  const err = relErr(results['onnx']!, results['wasm']!);
  assert.ok(err <= 1e-4, `onnx vs wasm clip logits ${err}`);
});

test("onnx runs the backbone off the main thread: timers fire while it computes (eval's decoding goes on)", async () => {
  // onnxruntime-node's own run() holds the calling thread (src/node/onnx/session.ts); the runner's must not.
  const d = await modelDir('r18', 18, 4, 11);
  const runner = await createNodeRunner(d, 'onnx', { threads: 1 });
  assert.match(runner.description, /in a worker thread/);
  const x = tf.randomUniform([8, 160, 160, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  try {
    (await runner.network.features(x)).dispose(); // warm-up
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    const t0 = performance.now();
    const feats = await runner.network.features(x);
    const ms = performance.now() - t0;
    clearInterval(timer);
    feats.dispose();
    assert.ok(ticks >= 3, `only ${ticks} timer callbacks ran during a ${ms.toFixed(0)} ms backbone call: the main thread was blocked`);
  } finally {
    x.dispose();
    await runner.dispose();
  }
});

test('the ONNX graph is cached next to the model, reused, and rebuilt when the model changes', async () => {
  const d = await modelDir('cache18', 18, 3, 21);
  const describe = async () => {
    const r = await createNodeRunner(d, 'onnx');
    const s = r.description;
    await r.dispose();
    return s;
  };
  assert.match(await describe(), /graph written to/);
  const path = join(d, ONNX_FILE);
  assert.ok(statSync(path).size > 1e6, 'pptsn.onnx holds the weights');
  const key = readFileSync(`${path}.key`, 'utf8');
  assert.match(await describe(), /graph from/);
  // A shard rewritten (new mtime) → a new key → rebuilt.
  const shard = join(d, 'group1-shard1of1.bin');
  const shardPath = existsSync(shard) ? shard : join(d, JSON.parse(readFileSync(join(d, 'model.json'), 'utf8')).weightsManifest[0].paths[0]);
  utimesSync(shardPath, new Date(), new Date(Date.now() + 5000));
  assert.match(await describe(), /graph written to/);
  assert.notEqual(readFileSync(`${path}.key`, 'utf8'), key);
  // A folder we cannot write to: the graph is built in memory.
  rmSync(path);
  chmodSync(d, 0o555);
  try {
    if (process.getuid?.() !== 0) assert.match(await describe(), /in memory/);
  } finally {
    chmodSync(d, 0o755);
  }
});

test('without onnxruntime-node: auto falls back to wasm with a note; --backend onnx says what to install', async () => {
  const d = await modelDir('r18', 18, 4, 11);
  process.env['PPTSN_NO_ONNX'] = '1';
  try {
    const r = await createNodeRunner(d, 'auto');
    assert.equal(r.backend, 'wasm');
    assert.match(r.notes.join(' '), /using tfjs wasm/);
    await r.dispose();
    await assert.rejects(createNodeRunner(d, 'onnx'), (e: unknown) => isPPTSNError(e) && e.code === 'backend-unavailable' && /--backend wasm/.test(e.message));
  } finally {
    delete process.env['PPTSN_NO_ONNX'];
  }
  const auto = await createNodeRunner(d, 'auto');
  assert.equal(auto.backend, 'onnx', 'auto takes onnxruntime-node when it is installed');
  await auto.dispose();
  await assert.rejects(createNodeRunner(d, 'gpu' as never), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument');
});
