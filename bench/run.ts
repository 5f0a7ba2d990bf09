/**
 * `npm run bench`: pptsn-web's benchmark. Runs the library in headless Chromium (webgpu, webgl, wasm on a
 * cross-origin isolated page) and in Node (wasm, cpu), with onnxruntime-web (same page, same network) and native
 * PyTorch as comparison rows, and writes one JSON report (plus a table on stdout).
 *
 * Sections: network (images/s at 224 px per chunk size; wasm is interleaved rep by rep with onnxruntime-web and
 * PyTorch, because this machine is shared and load swings would otherwise favour whichever ran in a quiet
 * moment), profile (tf.profile per kernel group), e2e (PPTSN.load + classify example.mp4 per preset, cold start,
 * memory), node, fp16 (float16 weights: bytes and top-5 on the golden cases), train (fine-tuning step per
 * strategy), eval (`pptsn-web eval`'s pipeline in Node: items/s with and without the prefetch queue vs the
 * network-only rate, share of decode; bench/eval.ts, --eval-items N), decode (frame readers: ffmpeg.wasm on a 10 s AVI
 * and WebCodecs, bench/decode.ts), distill (a teacher and ResNet18/34 students side by side in Node, bench/distill.ts). Medians over repetitions. One file per section (network.ts, e2e.ts, fp16.ts, train.ts); options.ts
 * parses the command line, report.ts writes and prints the report.
 *
 *   npm run bench -- --out bench/results/run.json
 *   npm run bench -- --quick                          (wasm + comparisons + node-wasm, 3 reps, small chunks)
 *   npm run bench -- --backends wasm --sections network,profile --reps 7 --chunks 1,4,8
 *   npm run bench -- --gpu                            (a real GPU: webgpu vs PyTorch CUDA, network,e2e,train; gpu.ts)
 *   npm run bench -- --gpu --gpu-dry-run              (the same plumbing on SwiftShader: depth 18, 64 px, tiny)
 *   OUT=dir bash bench/gpu-session.sh                 (a GPU session: preflight, network and train runs, JSON in dir)
 *
 * --depth (50) and --size (224 px) set the network of the network, node and train sections.
 *
 * SwiftShader (the only GPU in headless Chromium here) runs WebGPU at ~0.4 and WebGL at ~0.9 GFLOP/s: GPU
 * backends get --gpu-chunks (default 1), --gpu-reps (default 1) and the fast preset with --gpu-segments (2) only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { startBenchBrowser } from './browser.js';
import { e2eSection } from './e2e.js';
import { fp16Section } from './fp16.js';
import { evalSection } from './eval.js';
import { macsPerImage } from './flops.js';
import { GPU_CHROMIUM_FLAGS, gpuComparison, requireHardwareGpu } from './gpu.js';
import { browserNetwork, interleaved, nodeNetwork, type BenchWindow } from './network.js';
import { nodeSection } from './node.js';
import { BROWSER_BACKENDS, parseBenchArgs } from './options.js';
import { compare, log, machine, printTable, round, type Report } from './report.js';
import { torchRuntime } from './torch.js';
import { trainDefaultsSection, trainSection } from './train.js';
import { decodeSection } from './decode.js';
import { distillSection } from './distill.js';

async function main(): Promise<void> {
  const o = parseBenchArgs(process.argv.slice(2));
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
  const needBrowser = (o.backends.some((b) => (BROWSER_BACKENDS as readonly string[]).includes(b)) && (o.sections.includes('network') || o.sections.includes('e2e'))) || o.sections.includes('train') || o.sections.includes('train-defaults');
  if (needBrowser) {
    const b = await startBenchBrowser(log, o.gpu && !o.gpuDryRun ? GPU_CHROMIUM_FLAGS : undefined);
    try {
      const page = await b.page();
      if (o.gpu) report.machine['gpuAdapter'] = await requireHardwareGpu(page, o.gpuDryRun);
      report.machine['browser'] = { version: b.browser.version(), ...((await page.evaluate(() => (window as never as BenchWindow).bench.environment!())) as object) };
      if (o.sections.includes('network')) await browserNetwork(page, o, report);
      if (o.sections.includes('e2e')) await e2eSection(page, o, report);
      if (o.sections.includes('train')) await trainSection(page, o, report);
      // train-defaults is the demo's wasm trainer: with --gpu only when asked for by name.
      if ((o.sections.includes('train') && !o.gpu) || o.sections.includes('train-defaults')) await trainDefaultsSection(page, o, report);
    } finally {
      await b.close();
    }
  }
  if (o.sections.includes('network') || o.sections.includes('node')) await nodeNetwork(o, report);
  if (o.sections.includes('node')) report.node = await nodeSection({ ...o, chunks: o.nodeChunks, macs: macsPerImage(o.depth, o.size, o.classes), torch: () => torchRuntime(o), interleaved, log });
  if (o.sections.includes('fp16')) await fp16Section(o, report);
  if (o.sections.includes('eval')) report.eval = await evalSection(o, log);
  if (o.sections.includes('decode')) report.decode = await decodeSection(log, o.e2eReps + 2);
  if (o.sections.includes('distill')) report.distill = await distillSection(o) as unknown as Record<string, unknown>;
  report.machine['loadAverageAtEnd'] = loadavg().map((x) => round(x, 2));
  compare(report);
  if (o.gpu) report.comparison = { ...report.comparison, gpu: gpuComparison(report.network) };
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
