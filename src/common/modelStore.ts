/**
 * Model files in Cache Storage, so a reload or an offline page loads a model without fetching its bytes again.
 *
 * Layout (all under one cache, keys are same-origin URLs under `/__pptsn__/` that are never requested):
 * - `models/<sha256>/model.json` and `models/<sha256>/<shard path>`: a model's files, keyed by content. For a model
 *   fetched from a URL the SHA-256 is that of its model.json, so new weights at the same URL get a new key and stale
 *   shards are never mixed with a fresh manifest; for a converted weight file it is the file's SHA-256.
 * - `urls/<encoded model.json URL>`: which content the URL served last (used offline, when the URL cannot be fetched).
 * - `names/<encoded name>`: a `CachedModel` record, so `PPTSN.load({ model: name })` finds a model by name.
 * Works on the main thread and in workers (Cache Storage exists in both).
 */
import { PPTSNError } from '../core/errors.js';
import type { CachedModel } from '../common/types.js';

const CACHE_NAME = 'pptsn-web-models-v1';

function base(): string {
  return `${globalThis.location.origin}/__pptsn__/`;
}

export class ModelStore {
  private constructor(private readonly cache: Cache) {}

  /** Opens the store, or returns null where Cache Storage is unavailable (insecure origin, some private modes). */
  static async open(): Promise<ModelStore | null> {
    if (typeof caches === 'undefined') return null;
    try {
      return new ModelStore(await caches.open(CACHE_NAME));
    } catch {
      return null;
    }
  }

  private modelKey(sha: string, path: string): string {
    return `${base()}models/${sha}/${path.split('/').map(encodeURIComponent).join('/')}`;
  }

  async getModelFile(sha: string, path: string): Promise<Uint8Array | undefined> {
    const r = await this.cache.match(this.modelKey(sha, path));
    return r ? new Uint8Array(await r.arrayBuffer()) : undefined;
  }

  async hasModelFile(sha: string, path: string): Promise<boolean> {
    return (await this.cache.match(this.modelKey(sha, path))) !== undefined;
  }

  async putModelFile(sha: string, path: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.cache.put(this.modelKey(sha, path), new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream' } }));
    } catch (e) {
      if ((e as { name?: string }).name === 'QuotaExceededError') throw await quotaError(path, bytes.byteLength, e);
      throw new PPTSNError('storage', `could not cache ${path} (${(e as Error).message}); the storage quota may be full — load with cache: false or free space`);
    }
  }

  /** Deletes every file of the content `sha` (stale versions of a URL, or a deleted name). */
  async deleteModel(sha: string): Promise<void> {
    const prefix = `${base()}models/${sha}/`;
    for (const req of await this.cache.keys()) if (req.url.startsWith(prefix)) await this.cache.delete(req);
  }

  async getUrlSha(url: string): Promise<string | undefined> {
    const r = await this.cache.match(`${base()}urls/${encodeURIComponent(url)}`);
    return r ? ((await r.json()) as { sha256: string }).sha256 : undefined;
  }

  async putUrlSha(url: string, sha: string): Promise<void> {
    await this.cache.put(`${base()}urls/${encodeURIComponent(url)}`, Response.json({ sha256: sha }));
  }

  async getName(name: string): Promise<CachedModel | undefined> {
    const r = await this.cache.match(`${base()}names/${encodeURIComponent(name)}`);
    return r ? ((await r.json()) as CachedModel) : undefined;
  }

  async putName(record: CachedModel): Promise<void> {
    await this.cache.put(`${base()}names/${encodeURIComponent(record.name)}`, Response.json(record));
  }

  async list(): Promise<CachedModel[]> {
    const out: CachedModel[] = [];
    const prefix = `${base()}names/`;
    for (const req of await this.cache.keys()) {
      if (!req.url.startsWith(prefix)) continue;
      const r = await this.cache.match(req);
      if (r) out.push((await r.json()) as CachedModel);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Removes a name and, when no other name or URL still points at its content, the content itself. */
  async deleteName(name: string): Promise<boolean> {
    const record = await this.getName(name);
    if (!record) return false;
    await this.cache.delete(`${base()}names/${encodeURIComponent(name)}`);
    const stillUsed = (await this.list()).some((m) => m.sha256 === record.sha256);
    if (!stillUsed) {
      if (record.url && (await this.getUrlSha(record.url)) === record.sha256) await this.cache.delete(`${base()}urls/${encodeURIComponent(record.url)}`);
      await this.deleteModel(record.sha256);
    }
    return true;
  }
}

/** A typed quota error that says how much room the file needed and what the origin has (storage.estimate()). */
async function quotaError(path: string, bytes: number, cause: unknown): Promise<PPTSNError> {
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
  let room = '';
  try {
    const e = await navigator.storage?.estimate?.();
    if (e?.quota !== undefined && e.usage !== undefined) room = `; this origin uses ${mb(e.usage)} of its ${mb(e.quota)} quota, ${mb(Math.max(0, e.quota - e.usage))} free`;
  } catch {
    // Without an estimate the message still names the size needed.
  }
  return new PPTSNError('quota-exceeded', `could not cache ${path}: it needs ${mb(bytes)} (${bytes} bytes) of storage${room}. Free space (PPTSN.deleteCachedModel) or load with cache: false`, { cause });
}
