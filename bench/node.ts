/**
 * The `node` section's headline: the CLI's default path (src/node/runtime.ts `createNodeRunner(dir, 'auto')`:
 * onnxruntime-node when installed) against native PyTorch (oneDNN) and the old default (tfjs wasm, one thread),
 * interleaved rep by rep so all three see the same load on this shared machine. Each rep is one backbone call on
 * n NHWC images exactly as the CLI's clip runner makes it (transpose + copy to onnxruntime included); the head (a
 * mean and one small product) is left out, as in the other rows.
 *
 * Done when (issue 16): the CLI's default ≥ 0.9× native PyTorch at the best chunk size of each.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { ROOT } from '../test/helpers/browser.js';
import { seededInput, seededStateDict } from '../test/helpers/seeded.js';
import { writeModelJson } from '../src/core/formats/modelJson.js';
import type { Depth } from '../src/core/model/arch.js';
import { writeModelDir } from '../src/node/modelDir.js';
import { createNodeRunner, type NodeRunner } from '../src/node/runtime.js';

/** What run.ts lends this section (its helpers and the PyTorch process). */
export interface NodeSectionDeps {
  depth: Depth;
  classes: number;
  size: number;
  chunks: number[];
  reps: number;
  macs: number;
  /** onnxruntime-node's threads (default: every logical core, as the CLI); compare with --torch-threads. */
  nodeThreads?: number;
  torch(): Promise<{ timed: Timed; info: { description: string; threads: number; setupMs: number } } | { error: string }>;
  interleaved(runtimes: Timed[], chunkSizes: number[], reps: number): Promise<Map<string, Map<number, number[]>>>;
  log(s: string): void;
}

export interface Timed {
  name: string;
  time(n: number): Promise<number>;
  close(): Promise<void>;
}

export interface NodeSectionRow {
  runtime: string;
  description: string;
  /** Median seconds per call and images/s, by chunk size. */
  chunks: { chunkSize: number; medianSeconds: number; imagesPerSecond: number; gflops: number }[];
  best: { chunkSize: number; imagesPerSecond: number };
}

export interface NodeSectionReport {
  basis: string;
  rows: NodeSectionRow[];
  cliDefault?: string;
  ratioCliToPytorchNative?: number;
  ratioCliToTfjsWasm?: number;
  cliAtLeast0_9xNative?: boolean;
  notes: string[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The seeded model as a converted folder (as `pptsn-web convert` writes it), once per depth. */
export async function modelDir(depth: Depth, classes: number): Promise<string> {
  const dir = join(ROOT, `bench/.cache/node/seeded${depth}-${classes}`);
  if (!existsSync(join(dir, 'model.json'))) await writeModelDir(dir, writeModelJson(seededStateDict(depth, classes, 1234)));
  return dir;
}

function runnerTimed(name: string, runner: NodeRunner, size: number): Timed {
  const inputs = new Map<number, tf.Tensor4D>();
  return {
    name,
    async time(n) {
      if (!inputs.has(n)) inputs.set(n, tf.tensor4d(seededInput([n, size, size, 3], 3), [n, size, size, 3]));
      const t0 = performance.now();
      const y = await runner.network.features(inputs.get(n)!);
      await y.data();
      y.dispose();
      return (performance.now() - t0) / 1000;
    },
    async close() {
      tf.dispose([...inputs.values()]);
      await runner.dispose();
    },
  };
}

export async function nodeSection(d: NodeSectionDeps): Promise<NodeSectionReport> {
  const dir = await modelDir(d.depth, d.classes);
  const notes: string[] = [];
  const cli = await createNodeRunner(dir, 'auto', d.nodeThreads ? { threads: d.nodeThreads } : {});
  notes.push(...cli.notes);
  const runtimes: Timed[] = [runnerTimed(`cli-default-${cli.backend}`, cli, d.size)];
  const descriptions = new Map([[runtimes[0]!.name, cli.description]]);
  if (cli.backend !== 'wasm') {
    const wasm = await createNodeRunner(dir, 'wasm');
    runtimes.push(runnerTimed('tfjs-node-wasm', wasm, d.size));
    descriptions.set('tfjs-node-wasm', wasm.description);
  }
  const t = await d.torch();
  if ('error' in t) notes.push(`pytorch-native skipped: ${t.error}`);
  else {
    runtimes.push(t.timed);
    descriptions.set(t.timed.name, t.info.description);
  }
  d.log(`node: ${runtimes.map((r) => r.name).join(' vs ')}, chunks ${d.chunks.join(',')}, ${d.reps} reps`);
  const times = await d.interleaved(runtimes, d.chunks, d.reps);
  const rows: NodeSectionRow[] = runtimes.map((r) => {
    const chunks = d.chunks.map((c) => {
      const med = median(times.get(r.name)!.get(c)!);
      const ips = c / med;
      return { chunkSize: c, medianSeconds: +med.toFixed(4), imagesPerSecond: +ips.toFixed(3), gflops: +((ips * d.macs) / 1e9).toFixed(2) };
    });
    const best = chunks.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a));
    return { runtime: r.name, description: descriptions.get(r.name) ?? '', chunks, best: { chunkSize: best.chunkSize, imagesPerSecond: best.imagesPerSecond } };
  });
  for (const r of runtimes) await r.close();
  const ips = (name: string) => rows.find((r) => r.runtime === name)?.best.imagesPerSecond;
  const ours = ips(runtimes[0]!.name)!;
  const torch = ips('pytorch-native');
  const wasm = ips('tfjs-node-wasm');
  return {
    basis: `depth ${d.depth} at ${d.size} px, ${d.classes} classes; best chunk size of each; medians of ${d.reps} interleaved reps`,
    rows,
    cliDefault: runtimes[0]!.name,
    ...(torch ? { ratioCliToPytorchNative: +(ours / torch).toFixed(3), cliAtLeast0_9xNative: ours / torch >= 0.9 } : {}),
    ...(wasm ? { ratioCliToTfjsWasm: +(ours / wasm).toFixed(3) } : {}),
    notes,
  };
}

/** Lines for the printed table. */
export function nodeSectionLines(r: NodeSectionReport): string[] {
  const lines = ['', `node (the CLI's runners vs native PyTorch), ${r.basis}`];
  for (const row of r.rows) for (const c of row.chunks) lines.push(`  ${row.runtime.padEnd(22)} ${String(c.chunkSize).padStart(5)} ${c.imagesPerSecond.toFixed(2).padStart(8)} img/s ${c.gflops.toFixed(1).padStart(7)} GMAC/s`);
  lines.push(`  CLI default / PyTorch: ${r.ratioCliToPytorchNative ?? '-'}×; / tfjs wasm: ${r.ratioCliToTfjsWasm ?? '-'}×; ≥ 0.9× native: ${String(r.cliAtLeast0_9xNative ?? '-')}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines;
}
