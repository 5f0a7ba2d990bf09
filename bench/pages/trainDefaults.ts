/**
 * `full` at the demo's defaults, as a person lives it (issue 26): a model, 2 classes × 2 clips, `createTrainer` with
 * only what the demo's panel sets (strategy, epochs; segments and micro-batch left at their defaults), then
 * - the first step: ms from `fit` to the first `onStep`, with the longest gap between the worker's own progress
 *   events and the phases seen before it;
 * - a stop right after the first step, and one at `stopAtMs` into a resumed `fit` (inside a micro-batch): ms from
 *   the abort to `fit` rejecting;
 * - memory: the worker's WASM heap (it only grows: its high-water mark) and tf.memory() after each phase, and
 *   performance.measureUserAgentSpecificMemory() (page + workers) at the end. The renderer's resident size is
 *   sampled from outside by bench/train.ts.
 */
import { PPTSN, type TrainingProgress } from '../../src/index.js';
import { uaMemory } from './uaMemory.js';

export interface TrainDefaultsOptions {
  model: string;
  /** 2 classes × 2 clips, each a URL of a distinct video. */
  clips: { url: string; label: string }[];
  /** Where the second stop lands, ms after the resumed fit starts. */
  stopAtMs: number;
  wasmPaths?: string;
}

/** Longest gap (ms) between consecutive times. */
function longestGap(at: number[]): number {
  return at.slice(1).reduce((m, t, i) => Math.max(m, t - at[i]!), 0);
}

export async function trainDefaultsBench(o: TrainDefaultsOptions) {
  const model = await PPTSN.load({ model: o.model, backend: 'wasm', cache: false, ...(o.wasmPaths ? { wasmPaths: o.wasmPaths } : {}) });
  const memory: Record<string, unknown> = { afterLoad: await model.memory() };
  const events: (TrainingProgress & { at: number })[] = [];
  let t0 = performance.now();
  const name = `bench-defaults-${Date.now()}`;
  let firstStep: number | null = null;
  const ctrl = new AbortController();
  try {
    const tCreate = performance.now();
    const trainer = await model.createTrainer({
      name,
      classes: ['a', 'b'],
      strategy: 'full',
      epochs: 20,
      onProgress: (p) => void events.push({ ...p, at: performance.now() - t0 }),
      onStep: () => {
        if (firstStep === null) {
          firstStep = performance.now() - t0;
          ctrl.abort();
        }
      },
    });
    const tAdd = performance.now();
    for (const c of o.clips) await trainer.addClip(await (await fetch(c.url)).blob(), c.label);
    const decodeMs = performance.now() - tAdd;
    const createToFitMs = performance.now() - tCreate;
    memory['afterClips'] = await model.memory();
    const settings = (await trainer.info()).settings;
    // 1. From `fit` to the first step (stopped right after it).
    events.length = 0;
    t0 = performance.now();
    let stop1: number | null = null;
    ctrl.signal.addEventListener('abort', () => void (stop1 = performance.now()));
    const r1 = await trainer.fit({ signal: ctrl.signal }).then(() => 'finished', (e: Error) => (e as { code?: string }).code ?? e.message);
    const stop1Ms = stop1 === null ? null : performance.now() - stop1;
    const first = firstStep ?? performance.now() - t0;
    const beforeFirst = events.filter((e) => e.at <= first);
    memory['afterFirstStep'] = await model.memory();
    // 2. Resumed, stopped at stopAtMs (inside a micro-batch of the second step).
    const c2 = new AbortController();
    events.length = 0;
    t0 = performance.now();
    let stop2 = 0;
    const timer = setTimeout(() => {
      stop2 = performance.now();
      c2.abort();
    }, o.stopAtMs);
    const r2 = await trainer.fit({ signal: c2.signal }).then(() => 'finished', (e: Error) => (e as { code?: string }).code ?? e.message);
    clearTimeout(timer);
    const stop2Ms = stop2 ? performance.now() - stop2 : null;
    memory['afterSecondFit'] = await model.memory();
    memory['measureUserAgentSpecificMemoryBytes'] = await uaMemory();
    const info = await trainer.info();
    await trainer.dispose();
    return {
      basis: `ResNet${o.model.match(/seeded(\d+)/)?.[1] ?? '?'} (seeded), classes a/b × 2 clips, strategy full, epochs 20, everything else the defaults (persisted to IndexedDB as the demo)`,
      settings: { segments: settings.segments, batchSize: settings.batchSize, microBatchSize: settings.microBatchSize, validationSplit: settings.validationSplit, views: settings.views },
      decodeFourClipsMs: Math.round(decodeMs),
      createToFitMs: Math.round(createToFitMs),
      firstStepMs: Math.round(first),
      firstStepEnded: r1,
      eventsBeforeFirstStep: beforeFirst.map((e) => `${e.phase}:${e.done}/${e.total}@${Math.round(e.at)}`),
      longestGapBeforeFirstStepMs: Math.round(longestGap([0, ...beforeFirst.map((e) => e.at), first])),
      stopAfterFirstStepMs: stop1Ms === null ? null : Math.round(stop1Ms),
      stopInsideMicroBatch: { atMs: o.stopAtMs, returnedAfterMs: stop2Ms === null ? null : Math.round(stop2Ms), ended: r2, iterationAfter: info.iteration },
      memory,
    };
  } finally {
    await model.dispose();
    await PPTSN.deleteTrainingRun(name).catch(() => false);
  }
}
