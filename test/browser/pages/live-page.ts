/**
 * Test page for live classification, worker restarts, odd videos and soak runs (test/browser/stream.test.ts,
 * reliability.test.ts, soak.test.ts): exposes `window.live` returning plain, serialisable results.
 */
import { toBase64 } from './base64.js';
import { outcome } from './outcome.js';
import { testWorker } from './testWorker.js';
import { PPTSN, isPPTSNError, type ClassifyOptions, type LoadOptions, type StreamOptions, type StreamResult } from '../../../src/index.js';
import type { FramePixels } from '../../../src/core/frames/pixels.js';
import { resolvePreprocessOptions } from '../../../src/core/preprocess/presets.js';

let model: PPTSN | null = null;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The engine behind the model (test-only reach past the public API). */
function engine(): Record<string, (...a: unknown[]) => Promise<unknown>> {
  return (model as unknown as { session: { engine: Record<string, (...a: unknown[]) => Promise<unknown>> } }).session.engine;
}

function summarizeStream(r: StreamResult) {
  return { frames: r.frames, frameNumbers: r.frameNumbers, timestamps: r.timestamps, logits: Array.from(r.logits), probabilities: Array.from(r.probabilities), top: r.top, timings: r.timings, backend: r.backend };
}

/** A frame whose content depends on `i` (moving bar on a changing background), RGBA. */
function synthFrame(i: number, width = 96, height = 72): FramePixels {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const bar = Math.abs(x - ((i * 13) % width)) < 8;
      data[o] = bar ? 250 : (i * 37 + x) % 256;
      data[o + 1] = bar ? 250 : (i * 11 + y * 2) % 256;
      data[o + 2] = (i * 71) % 256;
      data[o + 3] = 255;
    }
  }
  return { width, height, channels: 4, data };
}

function copy(f: FramePixels): FramePixels {
  return { ...f, data: f.data.slice() };
}

interface StreamRun {
  results: ReturnType<typeof summarizeStream>[];
  atStop: number;
  afterStop: number;
  before: { numTensors: number; numBytes: number };
  during: { numTensors: number; numBytes: number };
  after: { numTensors: number; numBytes: number };
  errors: string[];
  dropped: number;
  doneState: string;
  mediaTimes?: number[];
}

/** The `top` filter options a stream run may pass through to classifyStream. */
type TopOptions = Pick<StreamOptions, 'topK' | 'scoreThreshold' | 'classes'>;

/** A canvas.captureStream() with changing content, while `body` runs. */
async function withCanvasStream<T>(body: (stream: MediaStream) => Promise<T>): Promise<T> {
  const canvas = document.createElement('canvas');
  canvas.width = 160;
  canvas.height = 120;
  document.body.append(canvas);
  const ctx = canvas.getContext('2d')!;
  let k = 0;
  const draw = () => {
    k++;
    ctx.fillStyle = `hsl(${(k * 9) % 360} 80% 50%)`;
    ctx.fillRect(0, 0, 160, 120);
    ctx.fillStyle = '#fff';
    ctx.fillRect((k * 5) % 160, 30, 40, 60);
  };
  draw();
  const timer = setInterval(draw, 33);
  const stream = canvas.captureStream(30);
  try {
    return await body(stream);
  } finally {
    clearInterval(timer);
    for (const t of stream.getTracks()) t.stop();
    canvas.remove();
  }
}

const live = {
  async load(opts: Omit<LoadOptions, 'onProgress' | 'signal'> & { modelFromUrlAsFile?: string }) {
    return outcome(async () => {
      const { modelFromUrlAsFile, ...rest } = opts;
      const m = modelFromUrlAsFile ? new File([await (await fetch(modelFromUrlAsFile)).blob()], modelFromUrlAsFile.split('/').pop()!) : rest.model;
      await model?.dispose();
      model = await PPTSN.load({ worker: testWorker, ...rest, model: m });
      return { backend: model.backend, labels: model.labels, info: model.info };
    });
  },
  async classify(src: { kind: 'url' | 'blob' | 'element'; url: string; changeSrcAfterMs?: number; newSrc?: string }, opts: ClassifyOptions = {}) {
    return outcome(async () => {
      let source: string | Blob | HTMLVideoElement = src.url;
      if (src.kind === 'blob') source = await (await fetch(src.url)).blob();
      if (src.kind === 'element') {
        const v = document.createElement('video');
        v.muted = true;
        v.crossOrigin = 'anonymous';
        v.preload = 'auto';
        v.src = src.url;
        document.body.append(v);
        await new Promise((r, j) => { v.onloadedmetadata = r; v.onerror = () => j(new Error('video element failed to load')); });
        if (src.changeSrcAfterMs !== undefined) setTimeout(() => { v.src = src.newSrc!; }, src.changeSrcAfterMs);
        source = v;
      }
      const r = await model!.classify(source, opts);
      return { ...r, logits: Array.from(r.logits), probabilities: Array.from(r.probabilities) };
    });
  },
  async preprocess(src: { url: string }, opts: ClassifyOptions = {}) {
    return outcome(async () => {
      const r = await model!.preprocess(src.url, opts);
      return { frameIndices: r.frameIndices, timestamps: r.timestamps, shape: r.tensor.shape, data: toBase64(r.tensor.data) };
    });
  },
  async memory() {
    return model!.memory();
  },
  async dispose() {
    await model?.dispose();
    model = null;
  },
  /** Ends the worker: 'terminate' from outside, 'crash' from inside (self.close()). */
  killWorker(how: 'terminate' | 'crash') {
    const session = (model as unknown as { session: { worker: Worker; engine: { crashForTesting(): Promise<void> } } }).session;
    if (how === 'terminate') session.worker.terminate();
    else void session.engine.crashForTesting().catch(() => undefined);
  },
  /**
   * The worker's ring buffer against classify: pushes n synthetic frames into a stream with a window of `window`
   * and, for each result, classifies the same window's frames as one clip. Returns the max logit difference.
   */
  async ringCheck(n: number, window: number) {
    // The engine takes call options as the page resolves them (src/api/config.ts).
    const eng = engine();
    const frames = Array.from({ length: n }, (_, i) => synthFrame(i));
    const base = (await model!.memory()).numTensors;
    await eng.streamOpen!(90001, { preprocess: resolvePreprocessOptions({ preset: 'fast', crops: 'center', segments: 1 }), topK: 3, windowFrames: window });
    const out: { frames: number; frameNumbers: number[]; maxDiff: number; scale: number; tensorsHeld: number }[] = [];
    for (let i = 0; i < n; i++) {
      const r = (await eng.streamPush!(90001, copy(frames[i]!), { index: i, timestamp: i / 10 })) as { frames: number; frameNumbers: number[]; logits: Float32Array };
      const held = (await model!.memory()).numTensors - base;
      const win = frames.slice(Math.max(0, i + 1 - window), i + 1).map(copy);
      const ref = (await eng.classify!(90100 + i, { kind: 'frames', frames: win, frameIndices: win.map((_, k) => k), timestamps: win.map((_, k) => k / 10) }, { preprocess: resolvePreprocessOptions({ preset: 'fast', segments: win.length }), topK: 3 })) as { logits: Float32Array };
      let maxDiff = 0;
      let scale = 0;
      for (let k = 0; k < ref.logits.length; k++) {
        maxDiff = Math.max(maxDiff, Math.abs(r.logits[k]! - ref.logits[k]!));
        scale = Math.max(scale, Math.abs(ref.logits[k]!));
      }
      out.push({ frames: r.frames, frameNumbers: r.frameNumbers, maxDiff, scale, tensorsHeld: held });
    }
    await eng.streamClose!(90001);
    const after = (await model!.memory()).numTensors - base;
    return { steps: out, tensorsAfterClose: after };
  },
  /** classifyStream on a canvas.captureStream() with changing content, for `runMs`, then stop(). */
  async canvasStream(o: { segments: number; windowSeconds: number; runMs: number; useSignal?: boolean } & TopOptions): Promise<StreamRun> {
    return withCanvasStream((stream) => runStream(stream, o));
  },
  /** classifyStream with each of `cases`' options: `ok` when the call returned (then stopped), else `code: message`. */
  async streamOptionErrors(cases: (TopOptions & { segments?: number; windowSeconds?: number })[]) {
    return withCanvasStream(async (stream) => {
      const out: string[] = [];
      for (const c of cases) {
        try {
          const h = model!.classifyStream(stream, { ...c, onResult: () => undefined });
          await h.stop();
          out.push('ok');
        } catch (e) {
          out.push(`${isPPTSNError(e) ? e.code : '?'}: ${(e as Error).message}`);
        }
      }
      return out;
    });
  },
  /** classifyStream on a playing (looping) <video>. */
  async videoStream(o: { url: string; segments: number; windowSeconds: number; runMs: number }): Promise<StreamRun> {
    const v = document.getElementById('v') as HTMLVideoElement;
    v.loop = true;
    v.src = o.url;
    await v.play();
    try {
      const run = await runStream(v, o);
      return run;
    } finally {
      v.pause();
    }
  },
  /** A stream whose worker dies mid-way: onError gets a typed error and `done` rejects; nothing hangs. */
  async streamWorkerDeath() {
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 48;
    const ctx = canvas.getContext('2d')!;
    let k = 0;
    const timer = setInterval(() => { ctx.fillStyle = `hsl(${(k++ * 20) % 360} 80% 50%)`; ctx.fillRect(0, 0, 64, 48); }, 33);
    const stream = canvas.captureStream(30);
    const errors: string[] = [];
    let results = 0;
    const h = model!.classifyStream(stream, { segments: 4, windowSeconds: 1, onResult: () => results++, onError: (e) => errors.push(`${isPPTSNError(e) ? e.code : '?'}: ${e.message}`) });
    const t0 = performance.now();
    while (results < 2 && performance.now() - t0 < 20000) await sleep(50);
    live.killWorker('terminate');
    const done = await Promise.race([h.done.then(() => 'resolved', (e) => `rejected: ${isPPTSNError(e) ? e.code : e}`), sleep(10000).then(() => 'hung')]);
    clearInterval(timer);
    for (const t of stream.getTracks()) t.stop();
    return { results, errors, done };
  },
  /** Soak: n classify calls, memory and JS heap sampled. */
  async soak(src: { url: string }, opts: ClassifyOptions, n: number) {
    const blob = await (await fetch(src.url)).blob();
    const heap = () => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;
    const gc = (globalThis as unknown as { gc?: () => void }).gc;
    // measureUserAgentSpecificMemory would cover the worker too, but in headless Chromium it never settles while a
    // module worker is alive (seen with tfjs-wasm workers): the page heap after GC it is, and the worker's tensors.
    const method = 'performance.memory';
    const sample = async () => {
      gc?.();
      await sleep(50);
      gc?.();
      return heap();
    };
    const first = await model!.classify(blob, opts);
    const base = await model!.memory();
    const heapStart = await sample();
    const heaps: number[] = [];
    let mismatches = 0;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const r = await model!.classify(i % 2 ? blob : src.url, opts);
      if (r.logits.some((v, k) => Math.abs(v - first.logits[k]!) > 1e-4)) mismatches++;
      if ((i + 1) % Math.max(1, Math.floor(n / 5)) === 0) heaps.push(await sample());
    }
    const ms = performance.now() - t0;
    const end = await model!.memory();
    const heapEnd = await sample();
    return { base, end, heapStart, heapEnd, heaps, mismatches, ms, gc: !!gc, method };
  },
};

async function runStream(source: HTMLVideoElement | MediaStream, o: { segments: number; windowSeconds: number; runMs: number; useSignal?: boolean } & TopOptions): Promise<StreamRun> {
  const results: StreamRun['results'] = [];
  const errors: string[] = [];
  const before = await model!.memory();
  const ctrl = new AbortController();
  const h = model!.classifyStream(source, {
    segments: o.segments,
    windowSeconds: o.windowSeconds,
    ...(o.topK !== undefined ? { topK: o.topK } : {}),
    ...(o.scoreThreshold !== undefined ? { scoreThreshold: o.scoreThreshold } : {}),
    ...(o.classes !== undefined ? { classes: o.classes } : {}),
    ...(o.useSignal ? { signal: ctrl.signal } : {}),
    onResult: (r) => results.push(summarizeStream(r)),
    onError: (e) => errors.push(`${isPPTSNError(e) ? e.code : '?'}: ${e.message}`),
  });
  const t0 = performance.now();
  // Wait for the run time (at least until the window has filled, so the test sees full windows).
  while (performance.now() - t0 < o.runMs || (results.length < o.segments + 2 && performance.now() - t0 < o.runMs * 4)) await sleep(100);
  const during = await model!.memory();
  let doneState = 'pending';
  void h.done.then(() => (doneState = 'resolved'), (e) => (doneState = `rejected: ${String(e)}`));
  if (o.useSignal) {
    ctrl.abort();
    await h.done;
  } else await h.stop();
  const atStop = results.length;
  await sleep(1000);
  const after = await model!.memory();
  return { results, atStop, afterStop: results.length, before, during, after, errors, dropped: h.dropped, doneState };
}

(window as unknown as { live: typeof live }).live = live;
document.title = 'ready';
