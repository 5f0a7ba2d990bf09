/**
 * Keeping cached models: once a model is in Cache Storage the page asks `navigator.storage.persist()` (once per
 * page), so a 100 MB model is not evicted silently under storage pressure; `cacheInfo()` reports the origin's
 * usage and quota (`navigator.storage.estimate()`) next to the cached models.
 */
import type { CachedModel } from '../common/types.js';

/** Cached models with the origin's storage figures (absent where the Storage API is not available). */
export interface CacheInfo {
  models: CachedModel[];
  /** Bytes this origin uses, and may use, per `navigator.storage.estimate()`. */
  usage?: number;
  quota?: number;
  /** Whether the browser granted persistent storage (models are then evicted only by the user). */
  persisted?: boolean;
}

let asked: Promise<boolean> | null = null;

function storageManager(): StorageManager | undefined {
  return typeof navigator !== 'undefined' ? navigator.storage : undefined;
}

/** Asks for persistent storage once per page; resolves to whether it is granted (false when not supported). */
export function requestPersistence(): Promise<boolean> {
  if (!asked) {
    const s = storageManager();
    asked = typeof s?.persist === 'function' ? s.persist().catch(() => false) : Promise.resolve(false);
  }
  return asked;
}

export async function cacheInfo(models: CachedModel[]): Promise<CacheInfo> {
  const s = storageManager();
  const info: CacheInfo = { models };
  try {
    const e = typeof s?.estimate === 'function' ? await s.estimate() : undefined;
    if (e?.usage !== undefined) info.usage = e.usage;
    if (e?.quota !== undefined) info.quota = e.quota;
    if (typeof s?.persisted === 'function') info.persisted = await s.persisted();
  } catch {
    // The figures are informative: a browser that refuses them still lists the models.
  }
  return info;
}
