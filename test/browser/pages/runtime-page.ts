/**
 * Test page for the runtime (src/api + src/worker): exposes `window.rt` so test/browser/runtime.test.ts can load a
 * model, run calls (with aborts, concurrency, <video> sources) and read back plain, serialisable results. A
 * long-task observer records every main-thread task over 50 ms.
 */
import { diffAgainstNpy } from './npyDiff.js';
import { toBase64 } from './base64.js';
import { outcome } from './outcome.js';
import { testWorker } from './testWorker.js';
import { PPTSN, type ClassifyOptions, type LoadOptions, type LoadProgress, type TrainerOptions } from '../../../src/index.js';

const longTasks: number[] = [];
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push(e.duration);
  }).observe({ type: 'longtask', buffered: true });
} catch {
  // No long-task API: the test sees an empty list and reports it.
}

let model: PPTSN | null = null;
const progress: LoadProgress[] = [];

interface SourceSpec {
  kind: 'url' | 'blob' | 'element';
  url: string;
}

async function sourceOf(s: SourceSpec): Promise<string | Blob | HTMLVideoElement> {
  if (s.kind === 'url') return s.url;
  if (s.kind === 'blob') return (await fetch(s.url)).blob();
  const v = document.getElementById('v') as HTMLVideoElement;
  if (!v.src.endsWith(s.url)) {
    v.src = s.url;
    await new Promise((r) => v.addEventListener('loadedmetadata', r, { once: true }));
  }
  return v;
}

function summarize(r: Awaited<ReturnType<PPTSN['classify']>>) {
  return { ...r, logits: Array.from(r.logits), probabilities: Array.from(r.probabilities) };
}

const rt = {
  longTasks,
  /**
   * `model.preprocess(src)` against a reference .npy served at `npyUrl` (PaddleVideo's own pipeline), compared in
   * the page so 150 MB of TenCrop input never crosses into the test: mean and 99th percentile of |Δ|.
   */
  async preprocessVsNpy(src: SourceSpec, opts: ClassifyOptions, npyUrl: string) {
    return outcome(async () => {
      const ours = await model!.preprocess(await sourceOf(src), opts);
      return { shape: ours.tensor.shape, frameIndices: ours.frameIndices, ...(await diffAgainstNpy(ours.tensor, npyUrl)) };
    });
  },
  current() {
    return model?.backend ?? null;
  },
  resetLongTasks() {
    longTasks.length = 0;
  },
  progress,
  async load(opts: Omit<LoadOptions, 'onProgress' | 'signal'> & { abortAfterMs?: number; modelFromUrlAsBlob?: string }) {
    progress.length = 0;
    return outcome(async () => {
      const ctrl = new AbortController();
      if (opts.abortAfterMs !== undefined) setTimeout(() => ctrl.abort(), opts.abortAfterMs);
      const { abortAfterMs: _a, modelFromUrlAsBlob, ...rest } = opts;
      const model_ = modelFromUrlAsBlob ? new File([await (await fetch(modelFromUrlAsBlob)).blob()], modelFromUrlAsBlob.split('/').pop()!) : rest.model;
      await model?.dispose();
      model = await PPTSN.load({ worker: testWorker, ...rest, model: model_, signal: ctrl.signal, onProgress: (p) => progress.push(p) });
      return { backend: model.backend, backendReport: model.backendReport, labels: model.labels, info: model.info };
    });
  },
  async classify(src: SourceSpec, opts: Omit<ClassifyOptions, 'signal'> & { abortAfterMs?: number } = {}) {
    return outcome(async () => {
      const ctrl = new AbortController();
      if (opts.abortAfterMs !== undefined) setTimeout(() => ctrl.abort(), opts.abortAfterMs);
      const { abortAfterMs: _a, ...rest } = opts;
      return summarize(await model!.classify(await sourceOf(src), { ...rest, signal: ctrl.signal }));
    });
  },
  /** classify with onProgress: the result and every progress report, with the ms since the call started. */
  async classifyWithProgress(src: SourceSpec, opts: Omit<ClassifyOptions, 'signal' | 'onProgress'> & { throwInCallback?: boolean } = {}) {
    return outcome(async () => {
      const { throwInCallback, ...rest } = opts;
      const reports: { done: number; total: number; top: { index: number; label: string; score: number }[]; ms: number; settled: boolean }[] = [];
      let settled = false;
      const t0 = performance.now();
      const r = await model!.classify(await sourceOf(src), {
        ...rest,
        onProgress: (p) => {
          reports.push({ ...p, ms: performance.now() - t0, settled });
          if (throwInCallback) throw new Error('a callback that throws');
        },
      });
      settled = true;
      return { result: summarize(r), reports };
    });
  },
  /** n calls at once; returns each outcome. */
  async concurrent(src: SourceSpec, opts: ClassifyOptions, n: number) {
    const source = await sourceOf(src);
    return Promise.all(Array.from({ length: n }, () => outcome(async () => summarize(await model!.classify(source, opts)))));
  },
  async preprocess(src: SourceSpec, opts: ClassifyOptions = {}) {
    return outcome(async () => {
      const r = await model!.preprocess(await sourceOf(src), opts);
      return { frameIndices: r.frameIndices, timestamps: r.timestamps, shape: r.tensor.shape, data: toBase64(r.tensor.data) };
    });
  },
  async memory() {
    return model!.memory();
  },
  /**
   * A short fine-tune on the loaded model (the trainer runs in its worker, on its backend): creates a trainer, adds
   * each clip (fetched as a Blob), fits, disposes the trainer. Returns the epoch losses and the worker's tensor count
   * before the trainer and after its dispose.
   */
  async fineTune(clips: { url: string; label: string }[], opts: TrainerOptions) {
    return outcome(async () => {
      const before = (await model!.memory()).numTensors;
      const losses: number[] = [];
      const trainer = await model!.createTrainer({ ...opts, onEpoch: (e) => void losses.push(e.loss) });
      try {
        for (const c of clips) await trainer.addClip(await (await fetch(c.url)).blob(), c.label);
        await trainer.fit();
      } finally {
        await trainer.dispose();
      }
      return { losses, before, after: (await model!.memory()).numTensors };
    });
  },
  async loseDevice() {
    // Test-only reach into the engine (not public API).
    return (model as unknown as { session: { engine: { loseDeviceForTesting(): Promise<boolean> } } }).session.engine.loseDeviceForTesting();
  },
  async dispose() {
    await model?.dispose();
    model = null;
  },
  cachedModels: () => PPTSN.cachedModels(),
  deleteCachedModel: (name: string) => PPTSN.deleteCachedModel(name),
};

(window as unknown as { rt: typeof rt }).rt = rt;
document.title = 'ready';
