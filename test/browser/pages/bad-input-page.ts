/**
 * Test page for the awkward inputs users give the public API (test/browser/bad-input.test.ts): each call
 * builds its source in the page (a File fetched from the fixtures, a `<video>`, a Blob array), runs it through
 * `classify`/`preprocess`, and reports the outcome with the worker's tensor count before and after. Exposes `window.nc`.
 */
import { outcome } from './outcome.js';
import { PPTSN, type VideoSource } from '../../../src/index.js';
import { TrainerStore } from '../../../src/common/trainerStore.js';

let model: PPTSN | null = null;

/** How a test names a source: a fixture as a File (with a name), a URL, a `<video>` (with or without src), or image Blobs/Files. */
export type SourceSpec =
  | { kind: 'file'; url: string; name: string }
  | { kind: 'url'; url: string }
  | { kind: 'element'; url?: string; asDataUrl?: boolean }
  | { kind: 'data-url'; url: string }
  | { kind: 'blobs'; urls: string[] }
  | { kind: 'files'; urls: string[]; names: string[] }
  | { kind: 'folder'; urls: string[]; names: string[] };

function dataUrl(b: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result as string);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(b);
  });
}

async function sourceOf(s: SourceSpec): Promise<VideoSource> {
  const blob = async (u: string) => (await fetch(u)).blob();
  switch (s.kind) {
    case 'file': return new File([await blob(s.url)], s.name);
    case 'url': return s.url;
    case 'element': {
      const v = document.createElement('video');
      v.muted = true;
      if (s.url) v.src = s.asDataUrl ? await dataUrl(await blob(s.url)) : s.url;
      return v;
    }
    case 'data-url': return dataUrl(await blob(s.url));
    case 'blobs': return Promise.all(s.urls.map(blob));
    case 'files': return Promise.all(s.urls.map(async (u, i) => new File([await blob(u)], s.names[i]!, { type: 'image/jpeg' })));
    case 'folder': {
      // A FileSystemDirectoryHandle (origin-private file system) holding the files.
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(`bad-input-${Date.now()}`, { create: true });
      for (const [i, u] of s.urls.entries()) {
        const w = await (await dir.getFileHandle(s.names[i]!, { create: true })).createWritable();
        await w.write(await blob(u));
        await w.close();
      }
      return dir;
    }
  }
}

const nc = {
  async load(url: string, wasmPaths: string) {
    return outcome(async () => {
      model = await PPTSN.load({ model: url, backend: 'wasm', wasmPaths, cache: false });
      return { labels: model.labels.length };
    });
  },
  /** `method(source, opts)`; the worker's tensor count before and after. */
  async call(method: 'classify' | 'preprocess', spec: SourceSpec, opts: Record<string, unknown>) {
    const before = (await model!.memory()).numTensors;
    // Called right after the source is made, as an app does (a new <video> has not fired 'loadstart' yet).
    const source = await sourceOf(spec);
    const result = await outcome(async () => {
      const r = method === 'classify' ? await model!.classify(source, opts) : await model!.preprocess(source, opts);
      return { frameIndices: r.frameIndices };
    });
    return { result, before, after: (await model!.memory()).numTensors };
  },
  /** A fresh trainer's `fit({ epochs })`: the epochs trained; then a shortening of the started run. */
  async fitEpochs(url: string, other: string, epochs: number, shorter: number) {
    return outcome(async () => {
      const t = await model!.createTrainer({ classes: ['a', 'b'], persist: false, name: 'bad-input-fit' });
      try {
        await t.addClip(url, 'a');
        await t.addClip(other, 'b');
        const r = await t.fit({ epochs });
        const again = await outcome(() => t.fit({ epochs: shorter }));
        return { trained: r.history.length, shorter: again.ok ? 'accepted' : `${again.code}: ${again.message}` };
      } finally {
        await t.dispose();
      }
    });
  },
  /** `model.evaluate` over `items`: the failures' names and codes, and the tensor count before and after. */
  async evaluate(items: { spec: SourceSpec; label: number }[]) {
    return outcome(async () => {
      const list = await Promise.all(items.map(async (it) => ({ source: await sourceOf(it.spec), label: it.label })));
      const before = (await model!.memory()).numTensors;
      const s = await model!.evaluate(list, { preset: 'fast', segments: 2 });
      return { count: s.count, failures: s.failures.map((f) => ({ path: f.path, message: f.message })), leaked: (await model!.memory()).numTensors - before };
    });
  },
  /** `fit` with a class that has no clip: the error; and addClip of an empty File. */
  async fitMissingClass(url: string, other: string) {
    const t = await model!.createTrainer({ classes: ['a', 'b', 'c'], persist: false, name: 'bad-input-missing' });
    try {
      await t.addClip(url, 'a');
      await t.addClip(other, 'c');
      return {
        fit: await outcome(() => t.fit({ epochs: 1 })),
        empty: await outcome(() => t.addClip(new File([], 'empty-clip.mp4'), 'b')),
        again: await outcome(() => t.addClip(url, 'b')),
        // The same video by another URL (as from another origin or port): the same clip, by its decoded frames.
        aliased: await outcome(() => t.addClip(`${url}${url.includes('?') ? '&' : '?'}alias=1`, 'b')),
        // The same video as a File (its id would be of its bytes): the same clip, by its frames.
        asFile: await outcome(async () => t.addClip(new File([await (await fetch(url)).blob()], 'same-video.mp4'), 'b')),
        labels: (await t.clips()).map((c) => c.label).sort(),
      };
    } finally {
      await t.dispose();
    }
  },
  /**
   * A stored run whose URL clip has an id of the old kind (its URL's hash, before ids hashed the decoded frames):
   * the clip is added and stored, its record rewritten under such an id, the run restored; then the same URL is
   * added again to its class and to another one.
   */
  async storedUrlClip(url: string) {
    const name = 'bad-input-stored-url-clip';
    await PPTSN.deleteTrainingRun(name);
    const opts = { classes: ['a', 'b'], name };
    let t = await model!.createTrainer(opts);
    const fresh = (await t.addClip(url, 'a')).id;
    await t.dispose();
    const store = await TrainerStore.open();
    const oldId = 'url0123456789abc';
    try {
      const [clip] = await store.clips(name);
      await store.deleteClip(name, clip!.id);
      await store.putClip({ ...clip!, key: TrainerStore.clipKey(name, oldId), id: oldId });
    } finally {
      store.close();
    }
    t = await model!.createTrainer(opts);
    try {
      const restored = (await t.clips()).map((c) => c.id);
      const again = await outcome(() => t.addClip(url, 'a'));
      const other = await outcome(() => t.addClip(url, 'b'));
      return { fresh, oldId, restored, again, other, after: (await t.clips()).map((c) => `${c.id}:${c.label}`) };
    } finally {
      await t.dispose();
      await PPTSN.deleteTrainingRun(name);
    }
  },
  /** classifyStream on a `<video>`: how it ends within `ms` (threw at the call, done resolved/rejected, or still running). */
  async stream(spec: SourceSpec, ms: number) {
    const video = (await sourceOf(spec)) as HTMLVideoElement;
    const t0 = performance.now();
    let handle;
    try {
      handle = model!.classifyStream(video, { onResult: () => undefined });
    } catch (e) {
      return { how: 'threw', code: (e as { code?: string }).code, message: (e as Error).message, ms: performance.now() - t0 };
    }
    const how = await Promise.race([
      handle.done.then(() => ({ how: 'done' }), (e: { code?: string; message: string }) => ({ how: 'rejected', code: e.code, message: e.message })),
      new Promise<{ how: string }>((r) => setTimeout(() => r({ how: 'running' }), ms)),
    ]);
    await handle.stop();
    return { ...how, ms: performance.now() - t0 };
  },
  /** classify / preprocess / embed with options that are not an object. */
  async badOptions(url: string) {
    const calls: (() => Promise<unknown>)[] = [
      () => model!.classify(url, 'fast' as never),
      () => model!.classify(url, null as never),
      () => model!.preprocess(url, 'fast' as never),
      () => model!.embed(url, 8 as never),
    ];
    const out = [];
    for (const c of calls) out.push(await outcome(c));
    return out.map((r) => (r.ok ? 'accepted' : `${r.code}: ${r.message}`));
  },
  /** Closes the model, then calls classify on it. */
  async closeThenClassify(url: string) {
    const m = model!;
    await m.close();
    model = null;
    return outcome(() => m.classify(url, { preset: 'fast', segments: 1 }));
  },
};

(window as unknown as { nc: typeof nc }).nc = nc;
document.title = 'ready';
