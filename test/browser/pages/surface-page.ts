/**
 * Test page for the public surface users filter and free models with (test/browser/surface.test.ts): classify
 * with `scoreThreshold` / `classes`, `close()` and `Symbol.asyncDispose`. Exposes `window.sf`.
 */
import { outcome } from './outcome.js';
import { PPTSN, type ClassifyOptions } from '../../../src/index.js';

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
