/**
 * The page side of a cache failure during `PPTSN.load` (src/worker/cacheFailure.ts sends it as plain data in a
 * `cache` progress event): the event's `error` becomes a `PPTSNError` (code `quota-exceeded` when the storage
 * quota is full, else `storage`) with the `file` it could not store and the `bytes` that file needed, and the
 * first one is kept for `model.cacheError`. The load itself is not failed: the model works from memory.
 */
import type { CacheFailure, LoadProgress } from '../common/types.js';
import { PPTSNError } from '../core/errors.js';

/** A failed cache write: a PPTSNError that also names the file and the space it needed. */
export type CacheError = PPTSNError & CacheFailure;

export function cacheErrorOf(f: CacheFailure): CacheError {
  return Object.assign(new PPTSNError(f.code, f.message), { file: f.file, bytes: f.bytes });
}

/**
 * Wraps the app's `onProgress`: events pass through (with `error` as a PPTSNError), and `error()` is the first
 * cache failure of the load, or null.
 */
export function cacheErrorRelay(onProgress?: (p: LoadProgress) => void): { onProgress: (p: LoadProgress) => void; error: () => CacheError | null } {
  let first: CacheError | null = null;
  return {
    onProgress(p) {
      if (!p.error) return onProgress?.(p);
      const error = cacheErrorOf(p.error);
      first ??= error;
      onProgress?.({ ...p, error });
    },
    error: () => first,
  };
}
