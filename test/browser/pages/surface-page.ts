/**
 * Test page for the public surface users filter and free models with (test/browser/surface.test.ts): classify
 * with `scoreThreshold` / `classes`, `close()` and `Symbol.asyncDispose`. Exposes `window.sf`.
 */
import { outcome } from './outcome.js';
import { PPTSN, PPTSNError, type ClassifyOptions, type LoadProgress } from '../../../src/index.js';
import { readFrames } from '../../../src/video/frames.js';

/** The same pixels as each kind of frame the API takes. */
async function framesAs(kind: string, images: ImageData[]): Promise<unknown[]> {
  const canvasOf = (d: ImageData) => {
    const c = document.createElement('canvas');
    c.width = d.width;
    c.height = d.height;
    c.getContext('2d')!.putImageData(d, 0, 0);
    return c;
  };
  switch (kind) {
    case 'ImageData': return images;
    case 'ImageBitmap': return Promise.all(images.map((d) => createImageBitmap(d)));
    case 'HTMLCanvasElement': return images.map(canvasOf);
    case 'OffscreenCanvas': return images.map((d) => {
      const c = new OffscreenCanvas(d.width, d.height);
      c.getContext('2d')!.putImageData(d, 0, 0);
      return c;
    });
    case 'VideoFrame': return images.map((d, i) => new VideoFrame(d.data, { format: 'RGBA', codedWidth: d.width, codedHeight: d.height, timestamp: i * 40_000 }));
    case 'HTMLImageElement': return Promise.all(images.map(async (d) => {
      const png = await new Promise<Blob>((r) => canvasOf(d).toBlob((b) => r(b!), 'image/png'));
      const img = new Image();
      img.src = URL.createObjectURL(png);
      await img.decode();
      return img;
    }));
    default: throw new Error(kind);
  }
}

let model: PPTSN | null = null;

const plain = (r: Awaited<ReturnType<PPTSN['classify']>>) => ({ top: r.top, logits: Array.from(r.logits), probabilities: Array.from(r.probabilities) });

const sf = {
  async load(url: string, wasmPaths: string) {
    return outcome(async () => {
      model = await PPTSN.load({ model: url, backend: 'wasm', wasmPaths, cache: false });
      return { labels: [...model.labels] };
    });
  },
  /** classify(video, opts) for each opts, on one blob; tensors in the worker before and after each call. */
  async classifyEach(videoUrl: string, each: ClassifyOptions[]) {
    return outcome(async () => {
      const blob = await (await fetch(videoUrl)).blob();
      const out = [];
      for (const opts of each) {
        const before = (await model!.memory()).numTensors;
        const r = await outcome(async () => plain(await model!.classify(blob, opts)));
        out.push({ result: r, before, after: (await model!.memory()).numTensors });
      }
      return out;
    });
  },
  /** embed and classify of one blob with the same preprocessing; tensors in the worker around the embed call. */
  async embedAndClassify(videoUrl: string, opts: ClassifyOptions & { perFrame?: boolean }) {
    return outcome(async () => {
      const blob = await (await fetch(videoUrl)).blob();
      const before = (await model!.memory()).numTensors;
      const e = await model!.embed(blob, opts);
      const after = (await model!.memory()).numTensors;
      const c = await model!.classify(blob, opts);
      return { embedding: Array.from(e.embedding), frames: e.frames?.map((f) => Array.from(f)), frameIndices: e.frameIndices, classifyFrameIndices: c.frameIndices, logits: Array.from(c.logits), before, after };
    });
  },
  /**
   * Each input kind against the File path: the frames the worker decodes for `opts` (read here by the same
   * WebCodecs reader) given as each frame type, and `preprocess`'s tensor given as a tensor input.
   */
  async inputsVsFile(videoUrl: string, opts: ClassifyOptions, kinds: string[]) {
    return outcome(async () => {
      const blob = await (await fetch(videoUrl)).blob();
      const file = await model!.classify(blob, opts);
      const read = await readFrames(blob, { indices: file.frameIndices, path: 'webcodecs' });
      const images = read.frames.map((f) => new ImageData(new Uint8ClampedArray(f.data), f.width, f.height));
      const out: Record<string, { logits: number[]; frameIndices: number[]; before: number; after: number } | { error: string }> = {};
      const { segments: _s, ...noSegments } = opts;
      for (const kind of kinds) {
        const before = (await model!.memory()).numTensors;
        const source = kind === 'tensor' ? (await model!.preprocess(blob, opts)).tensor : await framesAs(kind, images);
        const r = await outcome(() => model!.classify(source as Parameters<PPTSN['classify']>[0], kind === 'tensor' ? opts : noSegments));
        out[kind] = r.ok ? { logits: Array.from(r.value.logits), frameIndices: r.value.frameIndices, before, after: (await model!.memory()).numTensors } : { error: `${r.code}: ${r.message}` };
        if (kind === 'VideoFrame') for (const f of source as VideoFrame[]) f.close();
      }
      const tensor = (await model!.preprocess(blob, opts)).tensor;
      const e = await model!.embed(blob, opts);
      const et = await model!.embed(tensor, opts);
      const mismatch = await outcome(() => model!.classify(images, { ...noSegments, segments: images.length + 1 }));
      return { file: Array.from(file.logits), out, embed: Array.from(e.embedding), embedTensor: Array.from(et.embedding), detached: tensor.data.length === 0, mismatch };
    });
  },
  /** Loads `url` twice with caching (network, then cache), counting persist() requests; reports the events. */
  async loadTwice(url: string, wasmPaths: string) {
    return outcome(async () => {
      let persistCalls = 0;
      const storage = navigator.storage;
      const original = storage.persist.bind(storage);
      storage.persist = () => { persistCalls++; return original(); };
      const runs: LoadProgress[][] = [];
      for (let i = 0; i < 2; i++) {
        const events: LoadProgress[] = [];
        const m = await PPTSN.load({ model: url, backend: 'wasm', wasmPaths, warmup: false, onProgress: (p) => events.push(p) });
        await m.dispose();
        runs.push(events);
      }
      await new Promise((r) => setTimeout(r, 50));
      return { runs, persistCalls, info: await PPTSN.cacheInfo() };
    });
  },
  /** Loads `url` on an empty cache with a worker whose Cache.put throws QuotaExceededError; reports what the app sees. */
  async loadQuotaFull(url: string, wasmPaths: string) {
    return outcome(async () => {
      for (const k of await caches.keys()) await caches.delete(k);
      const events: LoadProgress[] = [];
      const worker = () => new Worker(new URL('./quota-worker.ts', import.meta.url), { type: 'module', name: 'pptsn-web' });
      const m = await PPTSN.load({ model: url, backend: 'wasm', wasmPaths, warmup: false, worker, onProgress: (p) => events.push(p) });
      const failed = events.filter((e) => e.error);
      const e = m.cacheError;
      const result = {
        failures: failed.map((f) => ({ phase: f.phase, file: f.file, isPPTSNError: f.error instanceof PPTSNError, code: f.error!.code, message: f.error!.message, errorFile: f.error!.file, bytes: f.error!.bytes })),
        cacheError: e ? { isPPTSNError: e instanceof PPTSNError, same: e === failed[0]?.error, code: e.code, file: e.file, bytes: e.bytes } : null,
        labels: m.labels.length,
        cached: (await PPTSN.cachedModels()).map((c) => c.name),
      };
      await m.dispose();
      return result;
    });
  },
  /** Frees a model through `how` and reports whether later calls are refused. */
  async free(how: 'close' | 'asyncDispose', videoUrl: string) {
    return outcome(async () => {
      const m = model!;
      const hasSymbol = typeof (m as unknown as Record<symbol, unknown>)[Symbol.asyncDispose] === 'function';
      if (how === 'close') await m.close();
      else await m[Symbol.asyncDispose]();
      model = null;
      const after = await outcome(() => m.classify(videoUrl, { preset: 'fast', segments: 1 }));
      return { hasSymbol, laterCall: after.ok ? 'accepted' : after.message };
    });
  },
};

(window as unknown as { sf: typeof sf }).sf = sf;
document.title = 'ready';
