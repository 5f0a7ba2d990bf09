/**
 * The `eval` section of `npm run bench`: `pptsn-web eval`'s pipeline in Node (tfjs wasm, the CLI's backend) on
 * a list of AVI clips made with ffmpeg, fast preset. Reports items/s of the evaluation (decode overlapped with
 * inference by the prefetch queue), the same without prefetch, the network-only rate (the same clips already
 * decoded: preprocessing + backbone + head), and the share of decoding (its wall time, and the part the
 * classifier actually waited for). Issue 14's target: eval ≥ 90 % of the network-only rate.
 *   npm run bench -- --sections eval --eval-items 6 [--depth 50]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { clipLogits } from '../src/core/classify/clip.js';
import { parseList } from '../src/core/dataset/lists.js';
import { defaultLabels } from '../src/core/labels.js';
import type { Depth } from '../src/core/model/arch.js';
import { Recognizer } from '../src/core/model/recognizer.js';
import { resolvePreprocessOptions } from '../src/core/preprocess/presets.js';
import { initNodeBackend } from '../src/node/backends.js';
import { evaluateJobs, type ItemTiming } from '../src/node/evaluate.js';
import { readClip } from '../src/node/ffmpeg.js';
import { ROOT } from '../test/helpers/browser.js';
import { seededStateDict } from '../test/helpers/seeded.js';

const SOURCES = ['testsrc2', 'smptebars', 'mandelbrot', 'rgbtestsrc', 'testsrc', 'cellauto'];

/** N UCF101-like clips (AVI, MPEG-4 Part 2, 320×240, 25 fps, 150 frames) and their list, made once. */
function makeClips(n: number): { list: string; root: string } {
  const root = join(ROOT, 'bench/.cache/eval');
  mkdirSync(root, { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `clip${i}.avi`;
    const src = SOURCES[i % SOURCES.length]!;
    if (!existsSync(join(root, name))) {
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `${src}=size=320x240:rate=25`, '-frames:v', '150', '-c:v', 'mpeg4', '-q:v', '4', join(root, name)]);
    }
    lines.push(`${name} ${i % 10}`);
  }
  return { list: lines.join('\n'), root };
}

export async function evalSection(o: { depth: Depth; evalItems: number }, log: (s: string) => void): Promise<Record<string, unknown>> {
  const { list, root } = makeClips(o.evalItems);
  const parsed = parseList(list, { root, format: 'videos' });
  const jobs = parsed.entries.map((entry, position) => ({ position, entry }));
  const classes = 400;
  const labels = defaultLabels(classes);
  const config = resolvePreprocessOptions('fast');
  await initNodeBackend('wasm');
  const model = Recognizer.fromStateDict(seededStateDict(o.depth, classes, 1234), { depth: o.depth, numClasses: classes });
  const chunkSize = 10;
  try {
    // Warm-up: kernels compiled, buffers allocated.
    const warm = await readClip(jobs[0]!.entry.item!.path, config);
    await clipLogits(model, warm.frames, config, { chunkSize });

    // Network only: the clips decoded beforehand.
    const decoded = [];
    const td = performance.now();
    for (const j of jobs) decoded.push((await readClip(j.entry.item!.path, config)).frames);
    const decodeSerialS = (performance.now() - td) / 1000;
    const tn = performance.now();
    for (const frames of decoded) await clipLogits(model, frames, config, { chunkSize });
    const networkS = (performance.now() - tn) / 1000;
    decoded.length = 0;

    const runEval = async (prefetch: number) => {
      const timings: ItemTiming[] = [];
      const t0 = performance.now();
      const records = await evaluateJobs(model, jobs, 'videos', { config, labels, chunkSize, prefetch, onRecord: (_r, t) => { timings.push(t); } });
      const s = (performance.now() - t0) / 1000;
      if (records.some((r) => r.error)) throw new Error(`eval bench: ${records.find((r) => r.error)!.error!.message}`);
      const sum = (k: keyof ItemTiming) => timings.reduce((a, t) => a + t[k], 0) / 1000;
      return { seconds: s, itemsPerSecond: jobs.length / s, decodeShareOfWall: sum('decodeMs') / s, waitShareOfWall: sum('waitMs') / s };
    };
    const withPrefetch = await runEval(2);
    log(`  eval (prefetch 2): ${withPrefetch.itemsPerSecond.toFixed(3)} items/s`);
    const noPrefetch = await runEval(0);
    log(`  eval (no prefetch): ${noPrefetch.itemsPerSecond.toFixed(3)} items/s`);
    const networkRate = jobs.length / networkS;
    const r3 = (x: number) => +x.toFixed(3);
    return {
      where: 'node, tfjs wasm (the CLI)',
      depth: o.depth,
      preset: 'fast',
      segments: config.segments,
      items: jobs.length,
      clip: 'AVI MPEG-4 Part 2, 320×240, 150 frames',
      networkOnlyItemsPerSecond: r3(networkRate),
      networkOnlyImagesPerSecond: r3(networkRate * config.segments),
      decodeItemsPerSecondSerial: r3(jobs.length / decodeSerialS),
      evalItemsPerSecond: r3(withPrefetch.itemsPerSecond),
      evalNoPrefetchItemsPerSecond: r3(noPrefetch.itemsPerSecond),
      evalVsNetworkOnly: r3(withPrefetch.itemsPerSecond / networkRate),
      noPrefetchVsNetworkOnly: r3(noPrefetch.itemsPerSecond / networkRate),
      decodeShareOfWall: r3(withPrefetch.decodeShareOfWall),
      decodeWaitShareOfWall: r3(withPrefetch.waitShareOfWall),
      noPrefetchDecodeWaitShareOfWall: r3(noPrefetch.waitShareOfWall),
      target: 'evalVsNetworkOnly ≥ 0.9',
    };
  } finally {
    model.dispose();
  }
}

/** One line for the bench table. */
export function evalLine(e: Record<string, unknown>): string {
  return `eval (${String(e['where'])}, depth ${String(e['depth'])}, fast T=${String(e['segments'])}, ${String(e['items'])} items): ${String(e['evalItemsPerSecond'])} items/s with prefetch, ${String(e['evalNoPrefetchItemsPerSecond'])} without; network only ${String(e['networkOnlyItemsPerSecond'])} items/s → ${(Number(e['evalVsNetworkOnly']) * 100).toFixed(1)} % of it; decode ${(Number(e['decodeShareOfWall']) * 100).toFixed(1)} % of wall (waited for: ${(Number(e['decodeWaitShareOfWall']) * 100).toFixed(1)} %)`;
}
