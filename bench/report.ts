/**
 * The bench's report: the JSON it writes (`Report`), the row types and statistics the sections share, the machine
 * description, the tfjs-vs-onnxruntime-vs-PyTorch comparison and the table printed on stdout.
 */
import { evalLine } from './eval.js';
import { nodeSectionLines, type NodeSectionReport } from './node.js';
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import type { Options } from './options.js';
import type { ProfileRow } from './profile.js';
import type { DecodeRow } from './decode.js';

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const log = (s: string) => process.stderr.write(`${s}\n`);
export const round = (x: number, d = 2) => (Number.isFinite(x) ? +x.toFixed(d) : x);

export interface ChunkRow {
  chunkSize: number;
  seconds: number[];
  medianSeconds: number;
  imagesPerSecond: number;
  gflops: number;
}

export interface NetworkRow {
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

export function chunkRow(chunkSize: number, seconds: number[], macs: number): ChunkRow {
  const med = median(seconds);
  const ips = chunkSize / med;
  return { chunkSize, seconds: seconds.map((s) => round(s, 4)), medianSeconds: round(med, 4), imagesPerSecond: round(ips, 3), gflops: round((ips * macs) / 1e9, 2) };
}

export function networkRow(base: Omit<NetworkRow, 'best' | 'chunks'>, chunks: ChunkRow[]): NetworkRow {
  const best = chunks.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a), chunks[0]!);
  return { ...base, chunks, best: { chunkSize: best.chunkSize, imagesPerSecond: best.imagesPerSecond, gflops: best.gflops } };
}

export interface Report {
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
  node?: NodeSectionReport;
  eval?: Record<string, unknown>;
  /** Frame readers (bench/decode.ts). */
  decode?: DecodeRow[];
  /** Teacher and students side by side (bench/distill.ts). */
  distill?: Record<string, unknown>;
}

export function machine(): Record<string, unknown> {
  let chromium = '';
  try {
    chromium = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    chromium = 'unknown';
  }
  const c = cpus();
  return { cpuModel: c[0]?.model ?? 'unknown', logicalCores: c.length, memoryBytes: totalmem(), node: process.version, chromium, loadAverageAtStart: loadavg().map((x) => round(x, 2)) };
}

export function compare(report: Report): void {
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

export function printTable(report: Report): void {
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
      lines.push(`  ${''.padEnd(20)} first running top-5 ${p['firstTopFromInferenceMs']} ms after inference started (${p['firstTopFromCallMs']} ms after the call), within 2 s: ${String(p['firstTopWithin2s'])}; last progress top = result: ${String(p['lastProgressTopIsResult'])}`);
    }
    if (e['measureUserAgentSpecificMemoryBytes']) lines.push(`  measureUserAgentSpecificMemory (page + workers): ${((e['measureUserAgentSpecificMemoryBytes'] as number) / 2 ** 20).toFixed(0)} MiB`);
  }
  if (report.fp16) lines.push('', `fp16: top-5 identical on all golden cases: ${String(report.fp16['allTop5Identical'])}; bytes ratio ${String(report.fp16['byteRatioGolden'])} (golden), ${JSON.stringify(report.fp16['depth50Model'])}`);
  if (report.train) {
    const { rows, notes, trainer, error, native } = report.train as { rows?: Record<string, unknown>[]; notes?: string[]; trainer?: unknown; error?: string; native?: string };
    lines.push('', `train (one step; ratio = ${native ?? 'native'} s/image ÷ ours)${error ? `: error ${error.slice(0, 200)}` : ''}`);
    for (const r of rows ?? []) lines.push(`  ${String(r['strategy']).padEnd(11)} ${String(r['runtime']).padEnd(15)} ×${String(r['images']).padEnd(3)} ${Number(r['secondsPerImage']).toFixed(3).padStart(8)} s/image ${Number(r['gmacs']).toFixed(2).padStart(7)} GMAC/s  ratio ${String(r['ratioToNative'] ?? '-')}`);
    for (const n of notes ?? []) lines.push(`  note: ${n.split('\n')[0]}`);
    if (trainer) lines.push(`  public Trainer: ${JSON.stringify(trainer)}`);
  }
  if (report.node) lines.push(...nodeSectionLines(report.node));
  if (report.eval) lines.push('', evalLine(report.eval));
  for (const n of report.notes) lines.push(`note: ${n}`);
  console.log(lines.join('\n'));
}
