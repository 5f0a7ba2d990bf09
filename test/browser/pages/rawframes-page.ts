/**
 * Test page for rawframes sources, `model.evaluate` and training checkpoints in the page: exposes `window.rf` so
 * test/browser/rawframes.test.ts can drive them with plain data (URLs of frames and videos) and read back
 * serialisable results.
 */
import { diffAgainstNpy } from './npyDiff.js';
import { outcome } from './outcome.js';
import { PPTSN, type ClassifyOptions, type EvaluateItem, type VideoSource } from '../../../src/index.js';

let model: PPTSN | null = null;

/** How a test names a source: a folder's files (fetched into Files with their names), an OPFS directory, or a URL. */
type SourceSpec = { kind: 'files'; dir: string; names: string[] } | { kind: 'blobs'; dir: string; names: string[] } | { kind: 'opfs'; dir: string; names: string[] } | { kind: 'url'; url: string };

async function sourceOf(s: SourceSpec): Promise<VideoSource> {
  if (s.kind === 'url') return s.url;
  const blobs = await Promise.all(s.names.map(async (n) => (await fetch(`${s.dir}/${n}`)).blob()));
  if (s.kind === 'blobs') return blobs;
  if (s.kind === 'files') return blobs.map((b, i) => new File([b], s.names[i]!, { type: 'image/jpeg' }));
  // A FileSystemDirectoryHandle in the origin-private file system, filled with the frames (and a stray file).
  const root = await navigator.storage.getDirectory();
  const name = s.dir.split('/').pop()!;
  await root.removeEntry(name, { recursive: true }).catch(() => undefined);
  const dir = await root.getDirectoryHandle(name, { create: true });
  for (const [i, n] of [...s.names, 'notes.txt'].entries()) {
    const w = await (await dir.getFileHandle(n, { create: true })).createWritable();
    await w.write(i < blobs.length ? blobs[i]! : new Blob(['not a frame']));
    await w.close();
  }
  return dir;
}

const rf = {
  async load(modelUrl: string, wasmPaths: string) {
    return outcome(async () => {
      await model?.dispose();
      model = await PPTSN.load({ model: modelUrl, backend: 'wasm', wasmPaths });
      return { labels: [...model.labels] };
    });
  },
  /** Loads a weight file's bytes (converted in the worker); the error's code and message when it is refused. */
  async loadBytes(url: string, fileName: string, wasmPaths: string) {
    return outcome(async () => {
      await model?.dispose();
      model = null;
      const bytes = await (await fetch(url)).arrayBuffer();
      model = await PPTSN.load({ model: bytes, fileName, backend: 'wasm', wasmPaths, cache: false });
      return { labels: [...model.labels] };
    });
  },
  async preprocessVsNpy(src: SourceSpec, opts: ClassifyOptions, npyUrl: string) {
    return outcome(async () => {
      const ours = await model!.preprocess(await sourceOf(src), opts);
      return { frameIndices: ours.frameIndices, ...(await diffAgainstNpy(ours.tensor, npyUrl)) };
    });
  },
  async classify(src: SourceSpec, opts: ClassifyOptions) {
    return outcome(async () => {
      const r = await model!.classify(await sourceOf(src), opts);
      return { frameIndices: r.frameIndices, logits: Array.from(r.logits), top: r.top };
    });
  },
  /**
   * The JPEG decoder's wasm if the page fetched it: it should not, the worker decodes. (Chromium lists a module
   * worker's script imports in the page's timeline too, so only the wasm, fetched when a decoder starts, tells.)
   */
  jpegOnPage() {
    return performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /mozjpeg_dec\.wasm/.test(n));
  },
  /** A trainer's addClip with a rawframes source: the clip's pool, its origin. */
  async addClip(src: SourceSpec) {
    return outcome(async () => {
      const t = await model!.createTrainer({ classes: ['a', 'b'], persist: false, name: 'rawframes-test' });
      try {
        const info = await t.addClip(await sourceOf(src), 'b');
        return { frames: info.frames, label: info.label, origin: info.origin, clips: (await t.clips()).length };
      } finally {
        await t.dispose();
      }
    });
  },
  async evaluate(items: { source: SourceSpec; label: number | string; name?: string }[], opts: ClassifyOptions) {
    return outcome(async () => {
      const progress: number[] = [];
      const list: EvaluateItem[] = await Promise.all(items.map(async (it) => ({ source: await sourceOf(it.source), label: it.label, ...(it.name ? { name: it.name } : {}) })));
      const before = (await model!.memory()).numTensors;
      const summary = await model!.evaluate(list, { ...opts, onProgress: (p) => progress.push(p.done) });
      return { summary, progress, leaked: (await model!.memory()).numTensors - before };
    });
  },
};

(window as unknown as { rf: typeof rf }).rf = rf;
