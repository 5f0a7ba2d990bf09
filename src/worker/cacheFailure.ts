/**
 * Caching during a load is best effort (the model works from memory without it), but the app must hear of a
 * failure: a full quota means the next visit downloads or converts 100 MB again. `cacheFailureEvent` turns the
 * error of a failed cache write (ModelStore's `quota-exceeded`/`storage` PPTSNError) into the `cache` progress
 * event that carries it to the page (src/api/cacheError.ts makes it a PPTSNError again there).
 */
import type { CacheFailure, LoadProgress } from '../common/types.js';
import { isPPTSNError, messageOf } from '../core/errors.js';
import type { ModelStore } from '../common/modelStore.js';

export function cacheFailure(e: unknown, file: string, bytes: number): CacheFailure {
  return isPPTSNError(e)
    ? { code: e.code, message: e.message, file, bytes }
    : { code: 'storage', message: `could not cache ${file} (${messageOf(e)}); the model is loaded but not cached`, file, bytes };
}

/** The `cache` event reporting a failed write of `file` (`bytes` long); `loaded`/`total` as the load's other events. */
export function cacheFailureEvent(e: unknown, file: string, bytes: number, loaded: number, total: number): LoadProgress {
  return { phase: 'cache', loaded, total, file, error: cacheFailure(e, file, bytes) };
}

/** Removes what a failed caching left of `sha`, unless a cached name still points at it (an earlier complete copy). */
export async function dropPartial(store: ModelStore, sha: string): Promise<void> {
  try {
    if (!(await store.list()).some((m) => m.sha256 === sha)) await store.deleteModel(sha);
  } catch {
    // Cleaning up is best effort too: an incomplete set is refetched by the next load anyway.
  }
}
