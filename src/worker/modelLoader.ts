/**
 * Gets a model's state dict into the worker, from a `model.json` URL, a PaddleVideo weight file, or a cached name,
 * with byte-level progress and Cache Storage (see modelStore.ts for the layout):
 *
 * - URL: model.json is fetched from the network (falling back to the cached copy when offline); its SHA-256 keys
 *   the shards, so a second load of unchanged files fetches no `.bin` bytes and changed weights are never mixed
 *   with stale shards.
 * - Weight file: read and checked by the formats readers in the worker (no CLI needed), then written as model.json
 *   + shards into the cache under a name, so later pages load it with `PPTSN.load({ model: name })`.
 * - Name: the cached model.json and shards.
 */
import { PPTSNError } from '../core/errors.js';
import { sha256Hex } from '../core/formats/sha256.js';
import { loadWeightFile } from '../core/formats/load.js';
import { readModelJson, writeModelJson, type LoadedModelJson, type ModelJson } from '../core/formats/modelJson.js';
import { defaultLabels } from '../core/labels.js';
import type { ModelInfo } from '../common/types.js';
import { fetchBytes, fetchText } from './download.js';
import { cacheFailureEvent, dropPartial } from './cacheFailure.js';
import { ModelStore } from '../common/modelStore.js';
import type { EngineInit, EngineProgress } from './protocol.js';

/** A model ready to be put on a backend: a model.json's weights and labels, with where they came from. */
export interface LoadedModel extends Pick<LoadedModelJson, 'stateDict' | 'depth' | 'numClasses' | 'labels'> {
  source: ModelInfo['source'];
  /** model.json's `pptsn.preset` (absent for a converted weight file, whose default is `accurate`). */
  preset?: string;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, float16: 2, int32: 4, uint8: 1, bool: 1 };

/** Bytes a tfjs weights manifest declares (0 when it cannot tell), for a progress total before any shard arrives. */
function manifestBytes(json: ModelJson): number {
  let total = 0;
  for (const group of json.weightsManifest ?? []) {
    for (const w of group.weights ?? []) {
      const n = (w.shape ?? []).reduce((a: number, b: number) => a * b, 1);
      const dtype = (w as { quantization?: { dtype?: string } }).quantization?.dtype ?? w.dtype;
      const size = DTYPE_BYTES[dtype ?? ''];
      if (size === undefined) return 0;
      total += n * size;
    }
  }
  return total;
}

/** Shard paths in manifest order. */
function shardPaths(json: ModelJson): string[] {
  return (json.weightsManifest ?? []).flatMap((g) => g.paths ?? []);
}

async function toBytes(data: Blob | ArrayBuffer): Promise<Uint8Array> {
  return new Uint8Array(data instanceof ArrayBuffer ? data : await data.arrayBuffer());
}

function parseJson(text: string, where: string): ModelJson {
  try {
    return JSON.parse(text) as ModelJson;
  } catch (e) {
    throw new PPTSNError('model-invalid', `${where} is not valid JSON (${(e as Error).message}); is the URL right?`);
  }
}

/** Turns model.json + a shard getter into a LoadedModel. */
async function fromModelJson(json: ModelJson, getShard: (path: string) => Promise<Uint8Array>, location: string, loadedFrom: ModelInfo['source']['loadedFrom']): Promise<LoadedModel> {
  const m = await readModelJson(json, getShard);
  const labels = m.labels && m.labels.length === m.numClasses ? m.labels : defaultLabels(m.numClasses);
  return {
    stateDict: m.stateDict,
    depth: m.depth,
    numClasses: m.numClasses,
    labels,
    source: { ...(m.source ?? {}), location, loadedFrom },
    preset: m.meta.preset,
  };
}

async function loadFromUrl(url: string, store: ModelStore | null, cacheName: string | undefined, onProgress?: EngineProgress): Promise<LoadedModel> {
  let text: string | undefined;
  let networkError: unknown;
  try {
    text = await fetchText(url);
  } catch (e) {
    networkError = e;
  }
  let sha: string;
  if (text === undefined) {
    // Offline (or the server is down): use the content this URL served last, if it is cached.
    const cachedSha = store ? await store.getUrlSha(url) : undefined;
    const cachedJson = cachedSha ? await store!.getModelFile(cachedSha, 'model.json') : undefined;
    if (!cachedSha || !cachedJson) throw networkError;
    text = new TextDecoder().decode(cachedJson);
    sha = cachedSha;
  } else {
    sha = await sha256Hex(new TextEncoder().encode(text));
  }
  const json = parseJson(text, url);
  const paths = shardPaths(json);
  const cached = store !== null && (await Promise.all(paths.map((p) => store.hasModelFile(sha, p)))).every(Boolean);
  if (cached) {
    let loaded = 0;
    const total = manifestBytes(json);
    try {
      const model = await fromModelJson(json, async (path) => {
        const bytes = await store!.getModelFile(sha, path);
        if (!bytes) throw new PPTSNError('storage', `cached shard ${path} disappeared while loading; reload the page`);
        loaded += bytes.byteLength;
        onProgress?.({ phase: 'cache', loaded, total: Math.max(total, loaded), file: path });
        return bytes;
      }, url, 'cache');
      // The files are cached already: a failure to record this URL (quota) is reported, not fatal.
      await recordUrl(store!, url, sha, text, cacheName).catch((e: unknown) => onProgress?.(cacheFailureEvent(e, 'model.json', new TextEncoder().encode(text).byteLength, loaded, Math.max(total, loaded))));
      return model;
    } catch (e) {
      // A cached shard that fails its SHA-256 (disk corruption, tampering): drop the cached copy, fetch again.
      if (!(e instanceof PPTSNError && e.code === 'integrity')) throw e;
      await store!.deleteModel(sha).catch(() => undefined);
    }
  }
  let loaded = 0;
  const total = manifestBytes(json);
  onProgress?.({ phase: 'download', loaded: 0, total, file: 'model.json' });
  // The first failed cache write (quota) is reported to the page and ends caching for this load.
  let cacheFailed = false;
  const cacheFailedOn = (e: unknown, file: string, bytes: number) => {
    cacheFailed = true;
    onProgress?.(cacheFailureEvent(e, file, bytes, loaded, total));
  };
  let model: LoadedModel;
  try {
    model = await fromModelJson(json, async (path) => {
      const shardUrl = new URL(path, url).href;
      const bytes = await fetchBytes(shardUrl, (n) => {
        loaded += n;
        onProgress?.({ phase: 'download', loaded, total: Math.max(total, loaded), file: path });
      });
      // Cache as the shards arrive; a failed put (quota) costs caching, not the load (and is reported).
      if (store && !cacheFailed) await store.putModelFile(sha, path, bytes).catch((e: unknown) => cacheFailedOn(e, path, bytes.byteLength));
      return bytes;
    }, url, 'network');
  } catch (e) {
    // Shards are cached as they arrive, before they are checked: never keep a set that failed (integrity, size…).
    await store?.deleteModel(sha).catch(() => undefined);
    throw e;
  }
  if (store && cacheFailed) {
    // Never keep a partial set: the next load would find it incomplete anyway.
    await dropPartial(store, sha);
  } else if (store) {
    const previous = await store.getUrlSha(url);
    await recordUrl(store, url, sha, text, cacheName).catch((e: unknown) => cacheFailedOn(e, 'model.json', new TextEncoder().encode(text).byteLength));
    // Weights at this URL changed: drop the stale content unless a name still points at it.
    if (previous && previous !== sha && !(await store.list()).some((m) => m.sha256 === previous)) await store.deleteModel(previous);
  }
  return model;
}

async function recordUrl(store: ModelStore, url: string, sha: string, text: string, cacheName: string | undefined): Promise<void> {
  await store.putModelFile(sha, 'model.json', new TextEncoder().encode(text));
  await store.putUrlSha(url, sha);
  const json = parseJson(text, url);
  await store.putName({ name: cacheName ?? url, url, sha256: sha, bytes: manifestBytes(json), storedAt: new Date().toISOString() });
}

async function loadFromName(name: string, store: ModelStore | null, onProgress?: EngineProgress): Promise<LoadedModel> {
  const record = store ? await store.getName(name) : undefined;
  if (!store || !record) {
    const known = store ? (await store.list()).map((m) => m.name) : [];
    throw new PPTSNError(
      'invalid-argument',
      `no cached model named "${name}"${store ? '' : ' (Cache Storage is not available here)'}; ` +
        (known.length ? `cached: ${known.join(', ')}` : 'nothing is cached yet: load it from a URL or a weight file first'),
    );
  }
  const jsonBytes = await store.getModelFile(record.sha256, 'model.json');
  if (!jsonBytes) throw new PPTSNError('storage', `the cached model "${name}" is incomplete (no model.json); load it again from its source`);
  const json = parseJson(new TextDecoder().decode(jsonBytes), `cached model "${name}"`);
  let loaded = 0;
  const total = manifestBytes(json);
  return fromModelJson(json, async (path) => {
    const bytes = await store.getModelFile(record.sha256, path);
    if (!bytes) throw new PPTSNError('storage', `the cached model "${name}" is incomplete (no ${path}); load it again from its source`);
    loaded += bytes.byteLength;
    onProgress?.({ phase: 'cache', loaded, total: Math.max(total, loaded), file: path });
    return bytes;
  }, name, 'cache');
}

async function loadFromFile(init: Extract<EngineInit['model'], { kind: 'bytes' }>, store: ModelStore | null, cacheName: string | undefined, onProgress?: EngineProgress): Promise<LoadedModel> {
  const bytes = await toBytes(init.data);
  const fileName = init.fileName ?? (init.data instanceof File ? init.data.name : undefined) ?? 'model.pdparams';
  onProgress?.({ phase: 'convert', loaded: 0, total: 1, file: fileName });
  const info = init.info ? await toBytes(init.info) : undefined;
  const w = await loadWeightFile(bytes, { fileName, ...(info ? { info } : {}) });
  onProgress?.({ phase: 'convert', loaded: 1, total: 1, file: fileName });
  if (init.labels && init.labels.length !== w.numClasses) {
    throw new PPTSNError('invalid-argument', `${init.labels.length} labels given for a model with ${w.numClasses} classes`);
  }
  const labels = init.labels ?? defaultLabels(w.numClasses);
  const name = cacheName ?? fileName;
  if (store) {
    // Stored as model.json + shards (the same files `pptsn-web convert` writes), keyed by the file's SHA-256.
    const sha = w.source.sha256;
    const written = writeModelJson(w.stateDict, { labels, source: w.source });
    const total = written.shards.reduce((a, s) => a + s.data.byteLength, 0);
    let file = 'model.json', bytes = 0, stored = 0;
    try {
      for (const shard of written.shards) {
        [file, bytes] = [shard.path, shard.data.byteLength];
        await store.putModelFile(sha, shard.path, shard.data);
        stored += bytes;
      }
      const jsonBytes = new TextEncoder().encode(JSON.stringify(written.modelJson));
      [file, bytes] = ['model.json', jsonBytes.byteLength];
      await store.putModelFile(sha, 'model.json', jsonBytes);
      await store.putName({ name, sha256: sha, bytes: total, storedAt: new Date().toISOString() });
    } catch (e) {
      // Caching is best effort: the converted model is in memory and works without it; the page hears why.
      onProgress?.(cacheFailureEvent(e, file, bytes, stored, total));
      await dropPartial(store, sha);
    }
  }
  return {
    stateDict: w.stateDict,
    depth: w.depth,
    numClasses: w.numClasses,
    labels,
    source: { ...w.source, location: name, loadedFrom: 'converted' },
  };
}

/** Loads the model `init.model` describes; see the file comment. */
export async function loadModel(init: EngineInit, onProgress?: EngineProgress): Promise<LoadedModel> {
  const store = init.cache ? await ModelStore.open() : null;
  switch (init.model.kind) {
    case 'url':
      return loadFromUrl(init.model.url, store, init.name, onProgress);
    case 'name':
      return loadFromName(init.model.name, store ?? (await ModelStore.open()), onProgress);
    case 'bytes':
      return loadFromFile(init.model, store, init.name, onProgress);
  }
}
