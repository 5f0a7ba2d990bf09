/**
 * End to end through the public API, as an app sees it: cold start (PPTSN.load from the network, then again from
 * Cache Storage, with the time of each load phase), the first call, then repeated classify calls per preset on
 * example.mp4 with the library's own timings (decode, preprocess, inference, total), and memory: the worker's
 * tf.memory() / WASM heap after each call, and performance.measureUserAgentSpecificMemory() for the page and its
 * workers when the page is cross-origin isolated.
 */
import { PPTSN, type BackendName, type ClassifyOptions, type LoadProgress, type Timings } from '../../src/index.js';
import { uaMemory } from './uaMemory.js';

export interface E2EOptions {
  backend: BackendName;
  model: string;
  video: string;
  presets: { name: string; options: ClassifyOptions }[];
  reps: number;
  chunkSize?: number;
  wasmThreads?: boolean;
  wasmPaths?: string;
}

interface LoadRun {
  ms: number;
  loadedFrom: string;
  /** Milliseconds from the first progress event of each phase to the next phase. */
  phases: Record<string, number>;
}

async function timedLoad(o: E2EOptions, cacheName: string): Promise<{ model: PPTSN; run: LoadRun }> {
  const events: { phase: LoadProgress['phase']; t: number }[] = [];
  const t0 = performance.now();
  const model = await PPTSN.load({
    model: o.model,
    backend: o.backend,
    name: cacheName,
    ...(o.chunkSize !== undefined ? { chunkSize: o.chunkSize } : {}),
    ...(o.wasmThreads !== undefined ? { wasmThreads: o.wasmThreads } : {}),
    ...(o.wasmPaths !== undefined ? { wasmPaths: o.wasmPaths } : {}),
    onProgress: (p) => {
      if (events.at(-1)?.phase !== p.phase) events.push({ phase: p.phase, t: performance.now() });
    },
  });
  const end = performance.now();
  const phases: Record<string, number> = {};
  events.forEach((e, i) => {
    phases[e.phase] = (phases[e.phase] ?? 0) + ((events[i + 1]?.t ?? end) - e.t);
  });
  return { model, run: { ms: end - t0, loadedFrom: model.info.source.loadedFrom, phases } };
}

export async function e2e(o: E2EOptions) {
  const cacheName = `bench-${o.backend}-${Date.now()}`;
  // Cold: nothing cached for this URL yet (each run uses its own cache name and deletes it afterwards).
  const first = await timedLoad(o, cacheName);
  const backendReport = first.model.backendReport;
  await first.model.dispose();
  const second = await timedLoad(o, cacheName);
  const model = second.model;
  try {
    const video = await (await fetch(o.video)).blob();
    const t0 = performance.now();
    const firstResult = await model.classify(video, o.presets[0]!.options);
    const firstCallMs = performance.now() - t0;
    const presets: Record<string, { runs: Timings[]; images: number; memory: unknown[]; top: unknown; firstTop: { fromCallMs: number; fromInferenceMs: number; lastTopIsResult: boolean }[] }> = {};
    for (const p of o.presets) {
      const runs: Timings[] = [];
      const memory: unknown[] = [];
      let top: unknown = null;
      const firstTop: { fromCallMs: number; fromInferenceMs: number; lastTopIsResult: boolean }[] = [];
      for (let r = 0; r < o.reps; r++) {
        // Issue 16: the first running top-5 (onProgress after the first chunk) within 2 s of the start of inference.
        let firstAt = -1;
        let lastTop: number[] = [];
        const tc = performance.now();
        const res = await model.classify(video, {
          ...p.options,
          onProgress: (e) => {
            if (e.top.length === 0) return;
            if (firstAt < 0) firstAt = performance.now() - tc;
            lastTop = e.top.map((t) => t.index);
          },
        });
        // Inference starts when decoding ends (the worker decodes first, then runs the chunks).
        firstTop.push({ fromCallMs: firstAt, fromInferenceMs: firstAt - res.timings.decodeMs, lastTopIsResult: lastTop.join() === res.top.map((t) => t.index).join() });
        runs.push(res.timings);
        memory.push(await model.memory());
        top = res.top.slice(0, 5).map((t) => t.index);
      }
      const pre = await model.preprocess(video, p.options);
      presets[p.name] = { runs, images: pre.tensor.shape[1]!, memory, top, firstTop };
    }
    const pageAndWorkersBytes = await uaMemory();
    return {
      backend: model.backend,
      backendReport,
      coldStart: { network: first.run, cache: second.run, firstCallMs, firstCallPreset: o.presets[0]!.name, firstCallTimings: firstResult.timings },
      presets,
      measureUserAgentSpecificMemoryBytes: pageAndWorkersBytes,
      memoryAfter: await model.memory(),
    };
  } finally {
    await model.dispose();
    await PPTSN.deleteCachedModel(cacheName).catch(() => false);
  }
}

export interface TrainBenchOptions {
  backend: BackendName;
  model: string;
  video: string;
  strategies: ('head' | 'last-stage' | 'full')[];
  segments: number;
  epochs: number;
  /** Abort a strategy's fit after this long (the 'full' strategy at depth 50 is minutes per step on a CPU). */
  budgetMs: number;
  wasmPaths?: string;
}

/** Fine-tuning through the public Trainer: time to add a clip (feature caching) and per-step time, per strategy. */
export async function trainBench(o: TrainBenchOptions) {
  const model = await PPTSN.load({ model: o.model, backend: o.backend, cache: false, ...(o.wasmPaths ? { wasmPaths: o.wasmPaths } : {}) });
  const out: Record<string, unknown> = {};
  try {
    const video = await (await fetch(o.video)).blob();
    for (const strategy of o.strategies) {
      const steps: number[] = [];
      let last = 0;
      const ctrl = new AbortController();
      try {
        const trainer = await model.createTrainer({
          classes: ['a', 'b'], strategy, epochs: o.epochs, batchSize: 2, segments: o.segments, persist: false, preciseBN: false, views: 1, validationSplit: 0,
          name: `bench-${strategy}-${Date.now()}`,
          onStep: () => {
            const t = performance.now();
            steps.push(t - last);
            last = t;
          },
        });
        const t0 = performance.now();
        await trainer.addClip(video, 'a');
        await trainer.addClip(video, 'b');
        const addClipsMs = performance.now() - t0;
        const timer = setTimeout(() => ctrl.abort(), o.budgetMs);
        last = performance.now();
        let stopped = false;
        try {
          await trainer.fit({ signal: ctrl.signal });
        } catch (e) {
          if (!ctrl.signal.aborted) throw e;
          stopped = true;
        } finally {
          clearTimeout(timer);
        }
        const sorted = [...steps].sort((a, b) => a - b);
        out[strategy] = { clips: 2, segments: o.segments, batchSize: 2, addTwoClipsMs: Math.round(addClipsMs), steps: steps.length, stepMs: steps.map(Math.round), medianStepMs: sorted.length ? Math.round(sorted[sorted.length >> 1]!) : null, ...(stopped ? { stoppedAfterBudgetMs: o.budgetMs } : {}) };
        await (trainer as unknown as { dispose?: () => Promise<void> }).dispose?.();
      } catch (e) {
        out[strategy] = { error: String((e as Error)?.message ?? e).slice(0, 500), steps: steps.length };
      }
    }
  } finally {
    await model.dispose();
  }
  return out;
}
