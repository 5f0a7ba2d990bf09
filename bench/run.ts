/**
 * `npm run bench`: pptsn-web's benchmark. Runs the library in headless Chromium (webgpu, webgl, wasm on a
 * cross-origin isolated page) and in Node (wasm, cpu), with onnxruntime-web (same page, same network) and native
 * PyTorch as comparison rows, and writes one JSON report (plus a table on stdout).
 *
 * Sections: network (images/s at 224 px per chunk size; wasm is interleaved rep by rep with onnxruntime-web and
 * PyTorch, because this machine is shared and load swings would otherwise favour whichever ran in a quiet
 * moment), profile (tf.profile per kernel group), e2e (PPTSN.load + classify example.mp4 per preset, cold start,
 * memory), node, fp16 (float16 weights: bytes and top-5 on the golden cases), train (fine-tuning step per
 * strategy, when src/core/train exists), decode (frame readers: ffmpeg.wasm on a 10 s AVI, WebCodecs; bench/decode.ts).
 * Medians over repetitions.
 *
 *   npm run bench -- --out bench/results/run.json
 *   npm run bench -- --quick                          (wasm + comparisons + node-wasm, 3 reps, small chunks)
 *   npm run bench -- --backends wasm --sections network,profile --reps 7 --chunks 1,4,8
 *
 * SwiftShader (the only GPU in headless Chromium here) runs WebGPU at ~0.4 and WebGL at ~0.9 GFLOP/s: GPU
 * backends get --gpu-chunks (default 1), --gpu-reps (default 1) and the fast preset with --gpu-segments (2) only.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Page } from 'playwright-core';
import * as tf from '@tensorflow/tfjs-core';
import { ROOT } from '../test/helpers/browser.js';
import { seededInput, seededStateDict } from '../test/helpers/seeded.js';
import { writeModelJson, readModelJson } from '../src/core/formats/modelJson.js';
import { Recognizer } from '../src/core/model/recognizer.js';
import { initNodeBackend } from '../src/node/backends.js';
import type { Depth } from '../src/core/model/arch.js';
import { startBenchBrowser } from './browser.js';
import { macsPerImage } from './flops.js';
import { summarizeProfile, type ProfileRow } from './profile.js';
import { decodeSection, type DecodeRow } from './decode.js';

// ---------------------------------------------------------------------------------------------------- options
const BROWSER_BACKENDS = ['wasm', 'webgl', 'webgpu'] as const;
const NODE_BACKENDS = ['node-wasm', 'node-cpu'] as const;
const SECTIONS = ['network', 'profile', 'e2e', 'node', 'fp16', 'train', 'decode'] as const;

function parseArgs(argv: string[]) {
  const get = (k: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (k: string, d: string) => (get(k) ?? d).split(',').map((s) => s.trim()).filter(Boolean);
  const quick = argv.includes('--quick');
  const o = {
    out: get('out') ?? join(ROOT, 'bench/results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    backends: list('backends', quick ? 'wasm,node-wasm' : 'wasm,webgl,webgpu,node-wasm,node-cpu'),
    sections: list('sections', SECTIONS.join(',')),
    compare: list('compare', 'ort,torch'),
    reps: Number(get('reps') ?? (quick ? 3 : 5)),
    chunks: list('chunks', quick ? '1,4' : '1,4,8').map(Number),
    gpuChunks: list('gpu-chunks', '1').map(Number),
    gpuReps: Number(get('gpu-reps') ?? 1),
    gpuSegments: Number(get('gpu-segments') ?? 2),
    e2eReps: Number(get('e2e-reps') ?? (quick ? 1 : 3)),
    presets: list('presets', 'fast,accurate'),
    nodeCpuChunks: list('node-cpu-chunks', '1').map(Number),
    depth: Number(get('depth') ?? 50) as Depth,
    classes: 400,
    size: 224,
    ortThreads: Number(get('ort-threads') ?? 2),
    torchThreads: Number(get('torch-threads') ?? 2),
    /** off: tfjs wasm single-threaded (the "before" of the threads fix). */
    wasmThreads: get('wasm-threads') !== 'off',
    trainSegments: Number(get('train-segments') ?? 2),
    trainEpochs: Number(get('train-epochs') ?? 3),
    trainBudgetS: Number(get('train-budget') ?? 120),
  };
  if (argv.includes('--help')) {
    console.log(readFileSync(new URL(import.meta.url)).toString().split('*/')[0]);
    process.exit(0);
  }
  return o;
}

type Options = ReturnType<typeof parseArgs>;

// ---------------------------------------------------------------------------------------------------- helpers
function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const round = (x: number, d = 2) => (Number.isFinite(x) ? +x.toFixed(d) : x);

interface ChunkRow {
  chunkSize: number;
  seconds: number[];
  medianSeconds: number;
  imagesPerSecond: number;
  gflops: number;
}

interface NetworkRow {
  runtime: string;
  where: 'chromium' | 'node' | 'native';
  description: string;
  threads: number;
  setupMs: number;
  chunks: ChunkRow[];
  best: { chunkSize: number; imagesPerSecond: number; gflops: number };
  check?: number[];
  memory?: unknown;
  profile?: ProfileRow[];
}

function chunkRow(chunkSize: number, seconds: number[], macs: number): ChunkRow {
  const med = median(seconds);
  const ips = chunkSize / med;
  return { chunkSize, seconds: seconds.map((s) => round(s, 4)), medianSeconds: round(med, 4), imagesPerSecond: round(ips, 3), gflops: round((ips * macs) / 1e9, 2) };
}

function networkRow(base: Omit<NetworkRow, 'best' | 'chunks'>, chunks: ChunkRow[]): NetworkRow {
  const best = chunks.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a), chunks[0]!);
  return { ...base, chunks, best: { chunkSize: best.chunkSize, imagesPerSecond: best.imagesPerSecond, gflops: best.gflops } };
}

/** A runtime that can time one forward pass of n images: a bench worker in the page, or the PyTorch process. */
interface Timed {
  name: string;
  time(n: number): Promise<number>;
  close(): Promise<void>;
}

function pageRuntime(page: Page, id: number, name: string): Timed {
  return {
    name,
    time: (n) => page.evaluate(([i, k]) => (window as never as { bench: { time(i: number, n: number): Promise<number> } }).bench.time(i, k), [id, n] as const),
    close: () => page.evaluate((i) => (window as never as { bench: { close(i: number): void } }).bench.close(i), id),
  };
}

async function torchRuntime(o: Options): Promise<{ timed: Timed; info: { description: string; threads: number; setupMs: number } } | { error: string }> {
  if (!existsSync('/usr/bin/python3')) return { error: '/usr/bin/python3 not found' };
  let proc: ChildProcessWithoutNullStreams;
  try {
    proc = spawn('/usr/bin/python3', [join(ROOT, 'bench/torch_resnet.py'), '--threads', String(o.torchThreads), '--depth', String(o.depth), '--size', String(o.size)]);
  } catch (e) {
    return { error: String(e) };
  }
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += String(d)));
  const rl: Interface = createInterface({ input: proc.stdout });
  const lines: string[] = [];
  const waiters: { resolve: (s: string) => void; reject: (e: Error) => void }[] = [];
  rl.on('line', (l) => (waiters.length ? waiters.shift()!.resolve(l) : lines.push(l)));
  // One exit listener for the process's life (not one per request), failing whoever still waits.
  proc.once('exit', () => {
    for (const w of waiters.splice(0)) w.reject(new Error(`torch_resnet.py exited: ${stderr.slice(-500)}`));
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      if (lines.length) return resolve(lines.shift()!);
      if (proc.exitCode !== null) return reject(new Error(`torch_resnet.py exited: ${stderr.slice(-500)}`));
      waiters.push({ resolve, reject });
    });
  try {
    const info = JSON.parse(await next()) as { description: string; threads: number; setupMs: number };
    return {
      info,
      timed: {
        name: 'pytorch-native',
        async time(n) {
          proc.stdin.write(`${n}\n`);
          return (JSON.parse(await next()) as { seconds: number }).seconds;
        },
        async close() {
          proc.stdin.end();
          proc.kill();
        },
      },
    };
  } catch (e) {
    proc.kill();
    return { error: (e as Error).message };
  }
}

/** Warm-up, then `reps` rounds; within a round every runtime runs once, in rotating order. */
async function interleaved(runtimes: Timed[], chunkSizes: number[], reps: number): Promise<Map<string, Map<number, number[]>>> {
  const out = new Map(runtimes.map((r) => [r.name, new Map<number, number[]>()]));
  for (const c of chunkSizes) {
    for (const r of runtimes) {
      log(`  warm-up ${r.name} ×${c}`);
      await r.time(c);
      out.get(r.name)!.set(c, []);
    }
    for (let i = 0; i < reps; i++) {
      for (let j = 0; j < runtimes.length; j++) {
        const r = runtimes[(i + j) % runtimes.length]!;
        const s = await r.time(c);
        out.get(r.name)!.get(c)!.push(s);
        log(`  ${r.name} ×${c} rep ${i + 1}/${reps}: ${s.toFixed(3)} s (${(c / s).toFixed(2)} img/s)`);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------- sections
type BenchWindow = { bench: Record<string, (...a: never[]) => Promise<unknown>> };

async function openInPage(page: Page, kind: 'tfjs' | 'ort', backend: string, o: Options, extra: Record<string, unknown> = {}) {
  return page.evaluate(([k, b, opts]) => (window as never as BenchWindow).bench.open!(k as never, b as never, opts as never), [kind, backend, { depth: o.depth, classes: o.classes, size: o.size, ...extra }] as const) as Promise<{ id: number; info: { runtime: string; description: string; threads: number; setupMs: number } }>;
}

async function browserNetwork(page: Page, o: Options, report: Report): Promise<void> {
  const macs = macsPerImage(o.depth, o.size, o.classes);
  for (const backend of o.backends.filter((b): b is (typeof BROWSER_BACKENDS)[number] => (BROWSER_BACKENDS as readonly string[]).includes(b))) {
    const gpu = backend !== 'wasm';
    log(`network: chromium ${backend}`);
    let tfjs;
    try {
      tfjs = await openInPage(page, 'tfjs', backend, o, o.wasmThreads ? {} : { threads: false });
    } catch (e) {
      report.network.push({ runtime: `tfjs-${backend}`, where: 'chromium', error: (e as Error).message } as never);
      continue;
    }
    const runtimes: Timed[] = [pageRuntime(page, tfjs.id, tfjs.info.runtime)];
    const infos = new Map<string, { description: string; threads: number; setupMs: number; where: NetworkRow['where']; id?: number }>([[tfjs.info.runtime, { ...tfjs.info, where: 'chromium', id: tfjs.id }]]);
    if (!gpu && o.compare.includes('ort')) {
      const ort = await openInPage(page, 'ort', 'wasm', o, { numThreads: o.ortThreads });
      runtimes.push(pageRuntime(page, ort.id, ort.info.runtime));
      infos.set(ort.info.runtime, { ...ort.info, where: 'chromium', id: ort.id });
    }
    if (!gpu && o.compare.includes('torch')) {
      const t = await torchRuntime(o);
      if ('error' in t) report.notes.push(`pytorch-native skipped: ${t.error}`);
      else {
        runtimes.push(t.timed);
        infos.set('pytorch-native', { ...t.info, where: 'native' });
      }
    }
    const chunks = gpu ? o.gpuChunks : o.chunks;
    const times = await interleaved(runtimes, chunks, gpu ? o.gpuReps : o.reps);
    for (const r of runtimes) {
      const info = infos.get(r.name)!;
      const rows = chunks.map((c) => chunkRow(c, times.get(r.name)!.get(c)!, macs));
      const extra: Partial<NetworkRow> = {};
      if (info.id !== undefined) {
        extra.check = (await page.evaluate((i) => (window as never as BenchWindow).bench.check!(i as never), info.id)) as number[];
        const mem = await page.evaluate((i) => (window as never as BenchWindow).bench.memory!(i as never), info.id);
        if (mem) extra.memory = mem;
        if (r.name.startsWith('tfjs') && o.sections.includes('profile')) {
          log(`profile: ${r.name} ×${chunks[0]}`);
          const p = (await page.evaluate(([i, n]) => (window as never as BenchWindow).bench.profile!(i as never, n as never), [info.id, chunks[0]!] as const)) as ProfileRow[] | null;
          if (p) extra.profile = p;
        }
      }
      report.network.push(networkRow({ runtime: r.name, where: info.where, description: info.description, threads: info.threads, setupMs: round(info.setupMs, 0), ...extra }, rows));
      await r.close();
    }
  }
}

async function nodeNetwork(o: Options, report: Report): Promise<void> {
  const macs = macsPerImage(o.depth, o.size, o.classes);
  const sd = seededStateDict(o.depth, o.classes, 1234);
  for (const b of o.backends.filter((x) => (NODE_BACKENDS as readonly string[]).includes(x))) {
    const name = b.slice(5) as 'wasm' | 'cpu';
    log(`network: node ${name}`);
    await initNodeBackend(name);
    const rec = Recognizer.fromStateDict(sd);
    const fcW = tf.tensor2d(sd.get('head.fc.weight')!.data, [rec.arch.featureDim, o.classes]);
    const fcB = tf.tensor1d(sd.get('head.fc.bias')!.data);
    const chunks = name === 'cpu' ? o.nodeCpuChunks : o.chunks;
    const reps = name === 'cpu' ? Math.min(o.reps, 2) : o.reps;
    const rows: ChunkRow[] = [];
    let profile: ProfileRow[] | undefined;
    for (const c of chunks) {
      const x = tf.tensor4d(seededInput([c, o.size, o.size, 3], 3), [c, o.size, o.size, 3]);
      const run = async () => {
        const t0 = performance.now();
        const y = tf.tidy(() => tf.add(tf.matMul(rec.features(x), fcW), fcB));
        await y.data();
        y.dispose();
        return (performance.now() - t0) / 1000;
      };
      await run();
      const secs: number[] = [];
      for (let i = 0; i < reps; i++) {
        secs.push(await run());
        log(`  node-${name} ×${c} rep ${i + 1}/${reps}: ${secs.at(-1)!.toFixed(3)} s`);
      }
      rows.push(chunkRow(c, secs, macs));
      if (!profile && name === 'wasm' && o.sections.includes('profile')) {
        const info = await tf.profile(() => tf.tidy(() => tf.add(tf.matMul(rec.features(x), fcW), fcB)));
        profile = await summarizeProfile(info.kernels as never);
        tf.dispose(info.result as tf.Tensor);
      }
      x.dispose();
    }
    const m = tf.memory();
    report.network.push(networkRow({ runtime: `tfjs-node-${name}`, where: 'node', description: `Node ${process.version}, tfjs ${name} backend (no threads in Node)`, threads: 1, setupMs: 0, memory: { numTensors: m.numTensors, numBytes: m.numBytes }, ...(profile ? { profile } : {}) }, rows));
    rec.dispose();
    tf.dispose([fcW, fcB]);
  }
}

/** The seeded depth-50 model as model.json (float32 and float16), written once into bench/.cache/. */
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

async function e2eSection(page: Page, o: Options, report: Report): Promise<void> {
  const models = ensureModels(o);
  for (const backend of o.backends.filter((b) => (BROWSER_BACKENDS as readonly string[]).includes(b))) {
    const gpu = backend !== 'wasm';
    const presets = gpu
      ? [{ name: `fast (segments ${o.gpuSegments})`, options: { preset: 'fast', segments: o.gpuSegments } }]
      : o.presets.map((p) => ({ name: p, options: { preset: p } }));
    if (gpu) report.notes.push(`e2e ${backend}: SwiftShader is ~10-40× slower than wasm here, so only the fast preset with ${o.gpuSegments} segments runs`);
    log(`e2e: chromium ${backend} (${presets.map((p) => p.name).join(', ')})`);
    try {
      const r = (await page.evaluate(
        (opts) => (window as never as BenchWindow).bench.e2e!(opts as never),
        { backend, model: models.f32, video: '/test/fixtures/media/example.mp4', presets, reps: gpu ? 1 : o.e2eReps, wasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/' },
      )) as E2EPageResult;
      const summary: Record<string, unknown> = {};
      for (const [name, p] of Object.entries(r.presets)) {
        const med = (k: keyof Timings) => round(median(p.runs.map((t) => t[k])), 1);
        const t = { decodeMs: med('decodeMs'), preprocessMs: med('preprocessMs'), inferenceMs: med('inferenceMs'), totalMs: med('totalMs') };
        summary[name] = {
          images: p.images,
          ...t,
          decodePlusPreprocessShare: round((t.decodeMs + t.preprocessMs) / t.totalMs, 4),
          preprocessShare: round(t.preprocessMs / t.totalMs, 4),
          imagesPerSecond: round(p.images / (t.totalMs / 1000), 3),
          runs: p.runs,
          peakWasmHeapBytes: Math.max(0, ...p.memory.map((m) => (m as { wasmHeapBytes?: number }).wasmHeapBytes ?? 0)) || null,
          tfMemoryAfter: p.memory.at(-1),
          top5: p.top,
        };
      }
      report.e2e.push({ backend: r.backend, backendReport: r.backendReport, coldStart: r.coldStart, presets: summary, measureUserAgentSpecificMemoryBytes: r.measureUserAgentSpecificMemoryBytes, memoryAfter: r.memoryAfter, modelBytes: models.bytes.float32 });
    } catch (e) {
      report.e2e.push({ backend, error: (e as Error).message.slice(0, 2000) });
    }
  }
}

interface Timings {
  decodeMs: number;
  preprocessMs: number;
  inferenceMs: number;
  totalMs: number;
}
interface E2EPageResult {
  backend: string;
  backendReport: unknown;
  coldStart: unknown;
  presets: Record<string, { runs: Timings[]; images: number; memory: unknown[]; top: unknown }>;
  measureUserAgentSpecificMemoryBytes: number | null;
  memoryAfter: unknown;
}

/** Float16 weights: bytes on the wire vs float32, and top-5 on the golden cases through the real reader. */
async function fp16Section(o: Options, report: Report): Promise<void> {
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

/** Fine-tuning step time per strategy through the public Trainer (model.createTrainer), on wasm in Chromium. */
async function trainSection(page: Page, o: Options, report: Report): Promise<void> {
  const hasTrainer = await page.evaluate(async () => {
    const { PPTSN } = await import('/src/index.ts' as string);
    return typeof (PPTSN as { prototype: Record<string, unknown> }).prototype['createTrainer'] === 'function';
  }).catch(() => false);
  if (!hasTrainer) {
    report.train = { skipped: 'no trainer API (PPTSN.prototype.createTrainer) in this build' };
    return;
  }
  const models = ensureModels(o);
  log('train: wasm, strategies head, last-stage, full');
  try {
    report.train = {
      basis: `2 clips of example.mp4, ${o.trainSegments} segments, batch 2, ${o.trainEpochs} epochs, mixup/label smoothing defaults, no precise BN; each strategy stopped after ${o.trainBudgetS} s`,
      strategies: await page.evaluate((opts) => (window as never as BenchWindow).bench.train!(opts as never), {
        backend: 'wasm', model: models.f32, video: '/test/fixtures/media/example.mp4', strategies: ['head', 'last-stage', 'full'], segments: o.trainSegments, epochs: o.trainEpochs, budgetMs: o.trainBudgetS * 1000, wasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/',
      }),
    };
  } catch (e) {
    report.train = { error: (e as Error).message.slice(0, 1000) };
  }
}

// ---------------------------------------------------------------------------------------------------- report
interface Report {
  generatedAt: string;
  command: string;
  machine: Record<string, unknown>;
  options: Options;
  notes: string[];
  network: NetworkRow[];
  comparison?: Record<string, unknown>;
  e2e: Record<string, unknown>[];
  fp16?: Record<string, unknown>;
  train?: Record<string, unknown>;
  decode?: DecodeRow[];
  doneWhen?: Record<string, unknown>;
}

function machine(): Record<string, unknown> {
  let chromium = '';
  try {
    chromium = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    chromium = 'unknown';
  }
  const c = cpus();
  return { cpuModel: c[0]?.model ?? 'unknown', logicalCores: c.length, memoryBytes: totalmem(), node: process.version, chromium, loadAverageAtStart: loadavg().map((x) => round(x, 2)) };
}

function compare(report: Report): void {
  const best = (name: string) => report.network.find((r) => r.runtime === name)?.best;
  const ours = best('tfjs-wasm');
  const ort = best('onnxruntime-web-wasm');
  const torch = best('pytorch-native');
  if (!ours) return;
  report.comparison = {
    basis: 'best chunk size of each runtime, medians of interleaved repetitions, depth 50 at 224 px, same Chromium page',
    tfjsWasmImagesPerSecond: ours.imagesPerSecond,
    ...(ort ? { onnxruntimeWebImagesPerSecond: ort.imagesPerSecond, ratioToOnnxruntimeWeb: round(ours.imagesPerSecond / ort.imagesPerSecond, 3) } : {}),
    ...(torch ? { pytorchNativeImagesPerSecond: torch.imagesPerSecond, ratioToPytorchNative: round(ours.imagesPerSecond / torch.imagesPerSecond, 3) } : {}),
    perChunkSize: Object.fromEntries(
      (report.network.find((r) => r.runtime === 'tfjs-wasm')?.chunks ?? []).map((c) => {
        const o = report.network.find((r) => r.runtime === 'onnxruntime-web-wasm')?.chunks.find((x) => x.chunkSize === c.chunkSize);
        return [c.chunkSize, { tfjsWasm: c.imagesPerSecond, onnxruntimeWeb: o?.imagesPerSecond ?? null, ratio: o ? round(c.imagesPerSecond / o.imagesPerSecond, 3) : null }];
      }),
    ),
  };
}

function doneWhen(report: Report): void {
  const wasm = report.e2e.find((e) => e['backend'] === 'wasm') as { presets?: Record<string, { decodePlusPreprocessShare: number; peakWasmHeapBytes: number | null }> } | undefined;
  const cmp = report.comparison as { ratioToOnnxruntimeWeb?: number; ratioToPytorchNative?: number } | undefined;
  report.doneWhen = {
    wasmFasterThanOnnxruntimeWeb: cmp?.ratioToOnnxruntimeWeb !== undefined ? cmp.ratioToOnnxruntimeWeb > 1 : null,
    ratioToPytorchNativeReported: cmp?.ratioToPytorchNative ?? null,
    fastDecodePreprocessShareAtMost10pct: wasm?.presets?.['fast'] ? wasm.presets['fast'].decodePlusPreprocessShare <= 0.1 : null,
    accurateDecodePreprocessShareAtMost5pct: wasm?.presets?.['accurate'] ? wasm.presets['accurate'].decodePlusPreprocessShare <= 0.05 : null,
    accuratePeakWasmHeapUnder1GB: wasm?.presets?.['accurate']?.peakWasmHeapBytes ? wasm.presets['accurate'].peakWasmHeapBytes < 1e9 : null,
    fp16Top5IdenticalAndAtLeast1_8xFewerBytes: report.fp16 ? (report.fp16['allTop5Identical'] as boolean) && (report.fp16['byteRatioGolden'] as number) >= 1.8 : null,
  };
}

function printTable(report: Report): void {
  const lines: string[] = [];
  lines.push(`pptsn-web bench — ${String(report.machine['cpuModel'])}, ${String(report.machine['logicalCores'])} cores, ${String(report.machine['chromium'])}, load ${JSON.stringify(report.machine['loadAverageAtStart'])}`);
  lines.push('');
  lines.push(`network, depth ${report.options.depth} at ${report.options.size} px (median s per pass → images/s, GMAC/s)`);
  lines.push(`${'runtime'.padEnd(24)}${'threads'.padStart(8)}  ${'chunk'.padStart(5)}${'img/s'.padStart(9)}${'GMAC/s'.padStart(9)}`);
  for (const r of report.network) {
    if (!r.chunks) {
      lines.push(`${r.runtime.padEnd(24)}  error: ${String((r as never as { error: string }).error).slice(0, 80)}`);
      continue;
    }
    for (const c of r.chunks) lines.push(`${r.runtime.padEnd(24)}${String(r.threads).padStart(8)}  ${String(c.chunkSize).padStart(5)}${c.imagesPerSecond.toFixed(2).padStart(9)}${c.gflops.toFixed(1).padStart(9)}`);
  }
  if (report.comparison) lines.push('', `comparison: ${JSON.stringify({ ...report.comparison, perChunkSize: undefined, basis: undefined })}`);
  const prof = report.network.find((r) => r.runtime === 'tfjs-wasm')?.profile;
  if (prof) {
    lines.push('', 'tfjs wasm profile (one pass, per kernel group): group, calls, ms, share, GMAC/s');
    for (const p of prof.slice(0, 12)) lines.push(`  ${p.group.padEnd(26)}${String(p.calls).padStart(4)}${p.ms.toFixed(1).padStart(9)}${(p.share * 100).toFixed(1).padStart(7)}%${p.gmacs !== undefined ? p.gmacs.toFixed(1).padStart(8) : ''}`);
  }
  for (const e of report.e2e) {
    lines.push('', `e2e ${String(e['backend'])}: ${e['error'] ? `error ${String(e['error']).slice(0, 200)}` : ''}`);
    if (e['coldStart']) {
      const cs = e['coldStart'] as { network: { ms: number; phases: unknown }; cache: { ms: number; phases: unknown }; firstCallMs: number };
      lines.push(`  cold start: load from network ${cs.network.ms.toFixed(0)} ms ${JSON.stringify(cs.network.phases, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}; from cache ${cs.cache.ms.toFixed(0)} ms ${JSON.stringify(cs.cache.phases, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}; first call ${cs.firstCallMs.toFixed(0)} ms`);
    }
    for (const [name, p] of Object.entries((e['presets'] ?? {}) as Record<string, Record<string, number>>)) {
      lines.push(`  ${name.padEnd(20)} ${String(p['images']).padStart(4)} img  decode ${p['decodeMs']} ms  preprocess ${p['preprocessMs']} ms  inference ${p['inferenceMs']} ms  total ${p['totalMs']} ms  (decode+pre ${(p['decodePlusPreprocessShare']! * 100).toFixed(1)} %)  peak wasm heap ${p['peakWasmHeapBytes'] ? (p['peakWasmHeapBytes'] / 2 ** 20).toFixed(0) + ' MiB' : '-'}`);
    }
    if (e['measureUserAgentSpecificMemoryBytes']) lines.push(`  measureUserAgentSpecificMemory (page + workers): ${((e['measureUserAgentSpecificMemoryBytes'] as number) / 2 ** 20).toFixed(0)} MiB`);
  }
  if (report.fp16) lines.push('', `fp16: top-5 identical on all golden cases: ${String(report.fp16['allTop5Identical'])}; bytes ratio ${String(report.fp16['byteRatioGolden'])} (golden), ${JSON.stringify(report.fp16['depth50Model'])}`);
  if (report.train) lines.push('', `train: ${JSON.stringify(report.train)}`);
  if (report.doneWhen) lines.push('', `done-when: ${JSON.stringify(report.doneWhen)}`);
  for (const n of report.notes) lines.push(`note: ${n}`);
  console.log(lines.join('\n'));
}

// ---------------------------------------------------------------------------------------------------- main
async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const report: Report = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machine(),
    options: o,
    notes: [
      'gflops = 10^9 multiply-accumulates per second (ResNet50-vd at 224 px = 4.33 G per image), the convention of "ResNet-50: 4.1 GFLOPs"',
      'this machine is shared with other engineers: load average is recorded; runtimes are interleaved rep by rep so they see the same load',
    ],
    network: [],
    e2e: [],
  };
  const needBrowser = (o.backends.some((b) => (BROWSER_BACKENDS as readonly string[]).includes(b)) && (o.sections.includes('network') || o.sections.includes('e2e'))) || o.sections.includes('train');
  if (needBrowser) {
    const b = await startBenchBrowser(log);
    try {
      const page = await b.page();
      report.machine['browser'] = { version: b.browser.version(), ...((await page.evaluate(() => (window as never as BenchWindow).bench.environment!())) as object) };
      if (o.sections.includes('network')) await browserNetwork(page, o, report);
      if (o.sections.includes('e2e')) await e2eSection(page, o, report);
      if (o.sections.includes('train')) await trainSection(page, o, report);
    } finally {
      await b.close();
    }
  }
  if (o.sections.includes('network') || o.sections.includes('node')) await nodeNetwork(o, report);
  if (o.sections.includes('fp16')) await fp16Section(o, report);
  // Frame readers: ffmpeg.wasm (10 s AVI) and WebCodecs, fast and accurate (bench/decode.ts).
  if (o.sections.includes('decode')) report.decode = await decodeSection(log, o.e2eReps + 2);
  report.machine['loadAverageAtEnd'] = loadavg().map((x) => round(x, 2));
  compare(report);
  doneWhen(report);
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify(report, null, 2));
  printTable(report);
  log(`\nwrote ${o.out}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
