/**
 * The network section: images/s of one forward pass at 224 px per chunk size, tfjs in Chromium (wasm interleaved
 * rep by rep with onnxruntime-web and native PyTorch, so the shared machine's load swings hit all alike) and in
 * Node; the profile section rides along (tf.profile per kernel group).
 */
import type { Page } from 'playwright-core';
import * as tf from '@tensorflow/tfjs-core';
import { seededInput, seededStateDict } from '../test/helpers/seeded.js';
import { Recognizer } from '../src/core/model/recognizer.js';
import { initNodeBackend } from '../src/node/backends.js';
import { macsPerImage } from './flops.js';
import { BROWSER_BACKENDS, NODE_BACKENDS, type Options } from './options.js';
import { summarizeProfile, type ProfileRow } from './profile.js';
import { chunkRow, log, networkRow, round, type ChunkRow, type NetworkRow, type Report } from './report.js';
import { torchRuntime } from './torch.js';
import type { Timed } from './timed.js';

/** A runtime that can time one forward pass of n images: a bench worker in the page, or the PyTorch process. */
export type { Timed } from './timed.js';

function pageRuntime(page: Page, id: number, name: string): Timed {
  return {
    name,
    time: (n) => page.evaluate(([i, k]) => (window as never as { bench: { time(i: number, n: number): Promise<number> } }).bench.time(i, k), [id, n] as const),
    close: () => page.evaluate((i) => (window as never as { bench: { close(i: number): void } }).bench.close(i), id),
  };
}

/** Warm-up, then `reps` rounds; within a round every runtime runs once, in rotating order. */
export async function interleaved(runtimes: Timed[], chunkSizes: number[], reps: number): Promise<Map<string, Map<number, number[]>>> {
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

export type BenchWindow = { bench: Record<string, (...a: never[]) => Promise<unknown>> };

async function openInPage(page: Page, kind: 'tfjs' | 'ort', backend: string, o: Options, extra: Record<string, unknown> = {}) {
  return page.evaluate(([k, b, opts]) => (window as never as BenchWindow).bench.open!(k as never, b as never, opts as never), [kind, backend, { depth: o.depth, classes: o.classes, size: o.size, ...extra }] as const) as Promise<{ id: number; info: { runtime: string; description: string; threads: number; setupMs: number } }>;
}

export async function browserNetwork(page: Page, o: Options, report: Report): Promise<void> {
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
    if ((!gpu || o.gpu) && o.compare.includes('torch')) {
      const t = await torchRuntime(o, gpu ? ['--device', 'cuda'] : []);
      if ('error' in t) report.notes.push(`pytorch ${gpu ? 'cuda' : 'native'} skipped: ${t.error}`);
      else {
        runtimes.push(t.timed);
        infos.set(t.timed.name, { ...t.info, where: 'native' });
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

export async function nodeNetwork(o: Options, report: Report): Promise<void> {
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
