/**
 * The Model panel: load a converted model (URL, weights/ folder, cache), convert a dropped weight file in the page,
 * list and delete cached models, switch backends. Holds the one loaded model the other panels use.
 */
import { parseLabels, PPTSN, type BackendChoice, type LoadOptions, type LoadProgress, type ModelSource } from '../src/index.js';
import kinetics400 from '../weights/labels/kinetics400.txt?raw';
import ucf101 from '../weights/labels/ucf101_classInd.txt?raw';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { $, el, formatBytes, isBusy, onBusyChange, runTask, showError, type Task } from './ui.js';
import { k400Button } from './k400.js';
import { loadedFromText, loadProgressView } from './loadProgress.js';

let model: PPTSN | null = null;
const modelListeners = new Set<(m: PPTSN | null) => void>();

export function currentModel(): PPTSN | null {
  return model;
}

/** Loads and conversions under way: a video or a training action given meanwhile waits for them (issue 26). */
const loading = new Set<Promise<unknown>>();

/** Tracks a load or conversion until it ends (adopted or failed). */
function tracked<T>(p: Promise<T>): Promise<T> {
  loading.add(p);
  const done = () => void loading.delete(p);
  p.then(done, done);
  return p;
}

/**
 * The page's model once every load or conversion started so far has ended: a video dropped while a `.pdparams` is
 * still converting is classified with the converted model instead of being refused with "load a model first".
 */
export async function modelWhenReady(): Promise<PPTSN | null> {
  while (loading.size > 0) await Promise.allSettled([...loading]);
  return model;
}

export function onModelChange(f: (m: PPTSN | null) => void): void {
  modelListeners.add(f);
}

/**
 * The tfjs WASM binaries as Vite assets: the library's default (files next to its compiled worker) only exists in
 * its dist/ build, while the demo bundles the TypeScript sources, so it says where Vite put them. The pthread glue
 * is served (dev) or emitted (build) at the demo's root by tools/wasmAssets.ts.
 */
const WASM_PATHS = {
  'tfjs-backend-wasm.wasm': new URL(wasmPlain, document.baseURI).href,
  'tfjs-backend-wasm-simd.wasm': new URL(wasmSimd, document.baseURI).href,
  'tfjs-backend-wasm-threaded-simd.wasm': new URL(wasmThreaded, document.baseURI).href,
  'tfjs-backend-wasm-threaded-simd.js': new URL('tfjs-backend-wasm-threaded-simd.js', document.baseURI).href,
};

const params = new URLSearchParams(location.search);
/** Multi-threaded WASM needs a cross-origin isolated page; `?threads=0` turns it off (e.g. to compare speeds). */
const WASM_THREADS = globalThis.crossOriginIsolated === true && params.get('threads') !== '0';

const LABEL_SETS: Record<string, () => string[]> = {
  kinetics400: () => parseLabels(kinetics400, 'kinetics400.txt'),
  ucf101: () => parseLabels(ucf101, 'ucf101_classInd.txt'),
};

function reportProgress(task: Task, p: LoadProgress): void {
  const v = loadProgressView(p);
  if (v.loaded === undefined) task.progress(v.label);
  else if (v.bytes) task.progress(v.label, v.loaded, v.total, (v.total ?? 0) > 0 ? `${formatBytes(v.loaded)} / ${formatBytes(v.total!)}` : formatBytes(v.loaded));
  else task.progress(v.label, v.loaded, v.total);
}

function backendChoice(): BackendChoice {
  return $<HTMLSelectElement>('backend').value as BackendChoice;
}

/** The page's load options: its backend choice, WASM files, progress and cancel wired to `task`. */
function loadOptions(source: ModelSource, task: Parameters<Parameters<typeof runTask>[1]>[0], extra: Partial<LoadOptions>): LoadOptions {
  return {
    model: source,
    backend: backendChoice(),
    wasmPaths: WASM_PATHS,
    wasmThreads: WASM_THREADS,
    signal: task.signal,
    onProgress: (p) => reportProgress(task, p),
    ...extra,
  };
}

/** Loads a model and makes it the page's model; the previous one is disposed only once the new one works. */
export function loadModel(source: ModelSource, extra: Partial<LoadOptions> = {}, title = 'Loading the model'): Promise<PPTSN | undefined> {
  return tracked(loadModelNow(source, extra, title));
}

async function loadModelNow(source: ModelSource, extra: Partial<LoadOptions>, title: string): Promise<PPTSN | undefined> {
  const loaded = await runTask(title, async (task) => {
    const m = await PPTSN.load(loadOptions(source, task, extra));
    return m;
  });
  if (!loaded) return undefined;
  adoptModel(loaded);
  return loaded;
}

/** Converts a dropped .pdparams/.pdiparams (plus an optional .pdiparams.info) in the worker. */
export function convertFiles(files: File[]): Promise<void> {
  return tracked(convertFilesNow(files));
}

async function convertFilesNow(files: File[]): Promise<void> {
  const weights = files.find((f) => /\.(pdparams|pdiparams)$/i.test(f.name));
  if (!weights) {
    showError(new Error(`Expected a .pdparams or .pdiparams file, got ${files.map((f) => f.name).join(', ') || 'nothing'}.`));
    return;
  }
  const info = files.find((f) => /\.pdiparams\.info$/i.test(f.name));
  const choice = $<HTMLSelectElement>('weights-labels').value;
  const base: Partial<LoadOptions> = { fileName: weights.name, name: weights.name, ...(info ? { info } : {}) };
  if (choice === 'auto') {
    // Kinetics-400's names when the file has 400 classes; the class count is only known after parsing, so try
    // with them and fall back to numbered classes when the worker says the count differs.
    const first = await loadModelQuiet(weights, { ...base, labels: LABEL_SETS.kinetics400!() });
    if (first.ok || first.error === undefined) return; // loaded, or cancelled
    if (!/labels given for a model with/.test(first.message)) {
      showError(first.error);
      return;
    }
    await loadModelNow(weights, base, `Converting ${weights.name}`);
    return;
  }
  const labels = LABEL_SETS[choice]?.();
  await loadModelNow(weights, { ...base, ...(labels ? { labels } : {}) }, `Converting ${weights.name}`);
}

/** Like loadModel, but hands a failure back instead of showing it (for the label-count retry). */
async function loadModelQuiet(source: ModelSource, extra: Partial<LoadOptions>): Promise<{ ok: true } | { ok: false; message: string; error: unknown }> {
  let failure: unknown;
  const loaded = await runTask(`Converting ${(source as File).name ?? 'weights'}`, async (task) =>
    PPTSN.load(loadOptions(source, task, extra)).catch((e: unknown) => {
      failure = e;
      return undefined;
    }),
  );
  if (!loaded) return { ok: false, message: String((failure as Error | undefined)?.message ?? 'cancelled'), error: failure };
  adoptModel(loaded);
  return { ok: true };
}

/** Makes `m` the page's model (after a load, or the fine-tune panel's "use the new model"); disposes the old one. */
export function adoptModel(m: PPTSN, options: { keepOld?: boolean } = {}): void {
  const old = model;
  model = m;
  // keepOld: the fine-tune panel's trainer still runs in the old model's worker; the panel disposes it later.
  if (old && old !== m && !options.keepOld) void old.dispose();
  render();
  modelListeners.forEach((f) => f(model));
  void refreshCached();
}

function render(): void {
  $('model-name').textContent = model ? shortName(model.info.source.location) : 'none loaded';
  $('model-details').textContent = model
    ? `ResNet${model.info.depth}-vd · ${model.info.classes} classes · ${(model.info.parameters / 1e6).toFixed(1)} M parameters · ${loadedFromText(model.info.source.loadedFrom, model.cacheError)}`
    : '';
  $('backend-in-use').textContent = model ? model.backend : '—';
  const report = $('backend-report');
  report.replaceChildren(...(model?.backendReport ?? []).map((r) => el('li', {}, el('strong', {}, r.backend), ` ${r.status}: ${r.reason}`)));
  if (model) $('no-weights').hidden = true;
}

/** Called after a classify: the engine may have moved to another backend (a lost GPU device). */
export function refreshBackend(): void {
  render();
}

function shortName(location: string): string {
  try {
    const u = new URL(location);
    return u.pathname.replace(/\/model\.json$/, '').split('/').filter(Boolean).slice(-2).join('/') || location;
  } catch {
    return location;
  }
}

async function refreshCached(): Promise<number> {
  const list = $('cached-list');
  let cached: Awaited<ReturnType<typeof PPTSN.cachedModels>> = [];
  try {
    cached = await PPTSN.cachedModels();
  } catch (e) {
    list.replaceChildren(el('li', { class: 'muted' }, `Cache Storage is not available here (${(e as Error).message}).`));
    return 0;
  }
  if (cached.length === 0) {
    list.replaceChildren(el('li', { class: 'muted' }, 'None yet.'));
    return 0;
  }
  list.replaceChildren(
    ...cached.map((c) => {
      const load = el('button', { type: 'button', className: 'secondary act' }, 'Load');
      load.setAttribute('aria-label', `Load cached model ${c.name}`);
      load.addEventListener('click', () => void loadModel(c.name, {}, `Loading ${c.name} from the cache`));
      const del = el('button', { type: 'button', className: 'danger act' }, 'Delete');
      del.setAttribute('aria-label', `Delete cached model ${c.name}`);
      del.addEventListener('click', async () => {
        try {
          await PPTSN.deleteCachedModel(c.name);
        } catch (e) {
          showError(e);
        }
        await refreshCached();
      });
      return el('li', {}, el('span', { class: 'name' }, c.name), el('span', { class: 'muted small' }, `${formatBytes(c.bytes)} · ${new Date(c.storedAt).toLocaleString()}`), load, del);
    }),
  );
  setActionsDisabled(isBusy());
  return cached.length;
}

/**
 * Converted models (and raw weight files) in weights/, from the manifest the dev server answers and `vite build`
 * writes (demo/vite.config.ts), so the page never probes for files that may not exist (no 404s in the console).
 * `download` is the dev server's proxy route to PaddleVideo's K400 weights (absent in a static build).
 */
async function weightsFolder(): Promise<{ models: string[]; weightFiles: string[]; download?: string }> {
  try {
    const r = await fetch('weights/index.json', { cache: 'no-store' });
    if (r.ok && /json/.test(r.headers.get('content-type') ?? '')) {
      const j = (await r.json()) as { models?: string[]; weightFiles?: string[]; download?: string };
      return { models: j.models ?? [], weightFiles: j.weightFiles ?? [], ...(j.download ? { download: j.download } : {}) };
    }
  } catch {
    // Served from somewhere without the manifest: nothing to offer.
  }
  return { models: [], weightFiles: [] };
}

/** Fetches a weight file from weights/ and converts it like a dropped one (a .pdiparams brings its .info if any). */
async function convertFromFolder(url: string): Promise<void> {
  const files = await runTask(`Fetching ${url}`, async (task) => {
    const get = async (u: string) => {
      const r = await fetch(u, { signal: task.signal });
      if (!r.ok) throw new Error(`${u}: HTTP ${r.status}`);
      return new File([await r.blob()], u.split('/').pop()!);
    };
    const out = [await get(url)];
    if (/\.pdiparams$/i.test(url)) out.push(...(await get(`${url}.info`).then((f) => [f]).catch(() => [])));
    return out;
  });
  if (files) await convertFiles(files);
}

function setActionsDisabled(disabled: boolean): void {
  for (const b of document.querySelectorAll<HTMLButtonElement | HTMLInputElement | HTMLSelectElement>('#models .act, #models button[type=submit], #weights-file, #backend')) b.disabled = disabled;
}

export async function initModels(): Promise<void> {
  onBusyChange(setActionsDisabled);
  $('url-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const url = $<HTMLInputElement>('model-url').value.trim();
    if (!url) {
      showError(new Error('Enter the URL of a model.json (for example weights/pptsn-k400/model.json).'));
      return;
    }
    // A bare name would be taken for a cached model's name; a typed path is meant as a URL.
    void loadModel(/[/:.]/.test(url) ? url : `./${url}`, {}, `Loading ${url}`);
  });
  $<HTMLInputElement>('weights-file').addEventListener('change', (ev) => {
    const input = ev.target as HTMLInputElement;
    const files = [...(input.files ?? [])];
    input.value = '';
    if (files.length) void convertFiles(files);
  });
  $('backend').addEventListener('change', () => {
    // Reload the same model on the chosen backend: by URL, or by its cache name for a converted file.
    if (model) void loadModel(model.info.source.location, {}, `Switching to ${backendChoice()}`);
  });

  const [folder, cachedCount] = await Promise.all([weightsFolder(), refreshCached()]);
  const found = folder.models;
  const chips = $('weights-folder');
  chips.replaceChildren(
    ...found.map((url) => {
      const b = el('button', { type: 'button', className: 'secondary act' }, `Load ${url}`);
      b.addEventListener('click', () => void loadModel(url, {}, `Loading ${url}`));
      return b;
    }),
    ...folder.weightFiles.map((url) => {
      const b = el('button', { type: 'button', className: 'secondary act' }, `Convert ${url}`);
      b.addEventListener('click', () => void convertFromFolder(url));
      return b;
    }),
    ...(folder.download && found.length === 0 ? [k400Button(folder.download, (file) => convertFiles([file]))] : []),
  );
  setActionsDisabled(isBusy());
  if (found[0]) $<HTMLInputElement>('model-url').value = found[0];
  if (found.length === 0 && folder.weightFiles.length === 0 && cachedCount === 0 && !model) $('no-weights').hidden = false;

  // Show what the library does right away: load the first model found, unless a test or the user says not to.
  if (params.get('autoload') !== '0' && !model) {
    if (found[0]) await loadModel(found[0], {}, `Loading ${found[0]}`);
    else if (cachedCount > 0) {
      const first = (await PPTSN.cachedModels())[0];
      if (first) await loadModel(first.name, {}, `Loading ${first.name} from the cache`);
    }
  }
}
