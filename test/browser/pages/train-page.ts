/**
 * Test page for fine-tuning (test/browser/train.test.ts): exposes `window.tr` with plain, serialisable calls.
 */
import { toBase64 } from './base64.js';
import { outcome } from './outcome.js';
import { PPTSN, type Trainer, type TrainerOptions, type TrainingProgress } from '../../../src/index.js';

let model: PPTSN | null = null;
let trainer: Trainer<PPTSN> | null = null;
const steps: unknown[] = [];
const epochs: unknown[] = [];
/** Progress events with the page's time of arrival (ms since create). */
const progress: (TrainingProgress & { at: number })[] = [];
let created = 0;
/** Stop (signal) when a progress event matches, once. */
let stopOn: { phase: string; done: number } | null = null;
let stopAfter = 0;
let ctrl = new AbortController();



(window as unknown as { tr: unknown }).tr = {
  steps,
  epochs,
  progress,
  createdAt: () => created,
  stopOn: (when: { phase: string; done: number } | null) => void (stopOn = when),
  load: (url: string, backend: 'wasm' | 'webgl' | 'webgpu' = 'wasm') => outcome(async () => {
    await model?.dispose();
    model = await PPTSN.load({ model: url, backend, wasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/', cache: false });
    return model.backend;
  }),
  create: (opts: TrainerOptions, stopAfterSteps = 0) => outcome(async () => {
    stopAfter = stopAfterSteps;
    steps.length = 0;
    epochs.length = 0;
    progress.length = 0;
    stopOn = null;
    created = performance.now();
    ctrl = new AbortController();
    trainer = await model!.createTrainer({
      ...opts,
      signal: ctrl.signal,
      onProgress: (p) => void progress.push({ ...p, at: performance.now() - created }),
      onStep: (s) => {
        steps.push(s);
        if (stopAfter > 0 && steps.length >= stopAfter) ctrl.abort();
      },
      onEpoch: (e) => void epochs.push(e),
    });
    return trainer.info();
  }),
  addClip: (url: string, label: string) => outcome(async () => trainer!.addClip(await (await fetch(url)).blob(), label)),
  addClipUrl: (url: string, label: string) => outcome(async () => trainer!.addClip(url, label)),
  /** A PaddleVideo-style list: even items as fetched Blobs, odd ones as URLs; returns the clips and the decoding events. */
  addClips: (list: { url: string; label: string }[]) => outcome(async () => {
    const items = await Promise.all(list.map(async (c, i) => ({ source: i % 2 === 0 ? await (await fetch(c.url)).blob() : c.url, label: c.label })));
    const events: TrainingProgress[] = [];
    const added = await trainer!.addClips(items, { onProgress: (p) => void events.push(p) });
    return { added, events };
  }),
  clips: () => outcome(() => trainer!.clips()),
  fit: (epochs?: number) => outcome(() => trainer!.fit(epochs === undefined ? {} : { epochs })),
  /** fit with a signal of its own, aborted when a progress event matches `stopOn` (the events are recorded by create's callback). */
  fitStopping: () => outcome(async () => {
    const c = new AbortController();
    return trainer!.fit({ signal: c.signal, onProgress: (p) => {
      if (stopOn && p.phase === stopOn.phase && p.done >= stopOn.done) {
        stopOn = null;
        c.abort();
      }
    } });
  }),
  runs: () => outcome(() => PPTSN.trainingRuns()),
  zip: () => outcome(async () => toBase64(new Uint8Array(await (await trainer!.export('zip')).arrayBuffer()))),
  evaluate: () => outcome(() => trainer!.evaluate()),
  info: () => outcome(() => trainer!.info()),
  memory: () => outcome(async () => ({ model: (await model!.memory()).numTensors })),
  pdparams: () => outcome(async () => toBase64(new Uint8Array(await (await trainer!.export('pdparams')).arrayBuffer()))),
  exportModel: () => outcome(async () => (await trainer!.export('model')).files.map((f) => f.name)),
  modelFiles: () => outcome(async () => (await trainer!.export('model')).files.map((f) => ({ name: f.name, data: toBase64(f.data) }))),
  classifyWithNew: (url: string) => outcome(async () => {
    const m = await trainer!.toModel();
    try {
      const r = await m.classify(url, { preset: 'fast', segments: 3 });
      const pre = await m.preprocess(url, { preset: 'fast', segments: 3 });
      const bytes = new Uint8Array(pre.tensor.data.buffer, pre.tensor.data.byteOffset, pre.tensor.data.byteLength);
      return { labels: m.labels, top: r.top[0], logits: Array.from(r.logits), input: { shape: pre.tensor.shape, data: toBase64(bytes) } };
    } finally {
      await m.dispose();
    }
  }),
  /**
   * Distillation: the current trainer's fine-tuned model (toModel) teaches a student loaded from `studentUrl` on the
   * clips, given to createTrainer as a list without labels; returns the fit's history, evaluate(), the clips' labels as listed, and how many
   * clips the student's own model classifies as their true class (`label`, never given to the trainer).
   */
  distil: (studentUrl: string, clips: { url: string; label: string }[], opts: TrainerOptions) => outcome(async () => {
    const teacher = await trainer!.toModel();
    const student = await PPTSN.load({ model: studentUrl, backend: 'wasm', wasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/', cache: false });
    try {
      // The clips as createTrainer's list, each without its label: unlabelled, the teacher's to label.
      const list = await Promise.all(clips.map(async (c) => ({ source: await (await fetch(c.url)).blob() })));
      const t = await student.createTrainer({ ...opts, teacher, clips: list });
      const listed = (await t.clips()).map((c) => c.label);
      const fit = await t.fit();
      const ev = await t.evaluate();
      const m = await t.toModel();
      let correct = 0;
      for (const c of clips) if ((await m.classify(c.url, { preset: 'fast', segments: 2 })).top[0]!.label === c.label) correct++;
      await m.dispose();
      await t.dispose();
      return { history: fit.history, ev, listed, correct };
    } finally {
      await student.dispose();
      await teacher.dispose();
    }
  }),
  /** The page's model teaches `studentUrl`'s on clips with and without labels (`label` absent): the fit's history. */
  distilMixed: (studentUrl: string, clips: { url: string; label?: string }[], opts: TrainerOptions) => outcome(async () => {
    const student = await PPTSN.load({ model: studentUrl, backend: 'wasm', wasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/', cache: false });
    try {
      const list = await Promise.all(clips.map(async (c) => ({ source: await (await fetch(c.url)).blob(), ...(c.label ? { label: c.label } : {}) })));
      const t = await student.createTrainer({ ...opts, teacher: model!, clips: list });
      try {
        return (await t.fit()).history;
      } finally {
        await t.dispose();
      }
    } finally {
      await student.dispose();
    }
  }),
  dispose: () => outcome(async () => {
    await trainer?.dispose();
    trainer = null;
    return (await model!.memory()).numTensors;
  }),
};
document.title = 'ready';
