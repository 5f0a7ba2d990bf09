/** The e2e section: PPTSN.load + classify example.mp4 per preset in Chromium, cold start and memory. */
import type { Page } from 'playwright-core';
import { ensureModels } from './models.js';
import type { BenchWindow } from './network.js';
import { BROWSER_BACKENDS, type Options } from './options.js';
import { median, log, round, type Report } from './report.js';

export async function e2eSection(page: Page, o: Options, report: Report): Promise<void> {
  const models = ensureModels(o);
  for (const backend of o.backends.filter((b) => (BROWSER_BACKENDS as readonly string[]).includes(b))) {
    // SwiftShader limits (one preset, few segments) unless --gpu found a real one.
    const gpu = backend !== 'wasm' && !o.gpu;
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
          // Issue 16: the first running top-5 within 2 s of the start of inference, and the last one = the result's.
          firstTopFromInferenceMs: round(median(p.firstTop.map((f) => f.fromInferenceMs)), 1),
          firstTopFromCallMs: round(median(p.firstTop.map((f) => f.fromCallMs)), 1),
          firstTopWithin2s: p.firstTop.every((f) => f.fromInferenceMs >= 0 && f.fromInferenceMs <= 2000),
          lastProgressTopIsResult: p.firstTop.every((f) => f.lastTopIsResult),
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
  presets: Record<string, { runs: Timings[]; images: number; memory: unknown[]; top: unknown; firstTop: { fromCallMs: number; fromInferenceMs: number; lastTopIsResult: boolean }[] }>;
  measureUserAgentSpecificMemoryBytes: number | null;
  memoryAfter: unknown;
}
