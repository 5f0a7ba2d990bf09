/**
 * What the progress bar says for each `PPTSN.load` progress event. Kept apart from the DOM (and unit-tested) because
 * one phase means two things: a `cache` event is the load reading a cached shard, unless it carries `error`, in
 * which case it reports a failed cache WRITE during a first download or conversion (a full storage quota): the
 * weights came from the network or the file, and will not be kept. Reading both as "from the cache" made a fresh
 * page claim a cache it never had.
 */
import type { LoadProgress } from '../src/index.js';

/** One progress-bar state: the label, and the bar's position (bytes when `bytes`), or none for an indeterminate bar. */
export interface LoadProgressView {
  label: string;
  loaded?: number;
  total?: number;
  /** loaded/total count bytes (shown as "12.0 MB / 43.0 MB"). */
  bytes: boolean;
}

const PHASES: Record<LoadProgress['phase'], string> = {
  download: 'Downloading weights',
  cache: 'Reading weights from the browser cache',
  convert: 'Converting the weight file',
  upload: 'Uploading weights to the backend',
  warmup: 'Warming up (compiling shaders)',
  ready: 'Ready',
};

export function loadProgressView(p: LoadProgress): LoadProgressView {
  if (p.phase === 'cache' && p.error) {
    // A failed cache write: the load goes on from memory; say so, in place of the phase's label.
    const why = p.error.code === 'quota-exceeded' ? 'the browser storage is full' : 'the browser cache refused it';
    return { label: `Weights not kept in the browser cache (${why}): they work now, and the next visit fetches them again`, loaded: p.loaded, total: p.total, bytes: true };
  }
  const label = PHASES[p.phase] ?? p.phase;
  if (p.phase === 'download' || p.phase === 'cache') return { label, loaded: p.loaded, total: p.total, bytes: true };
  // One step before and one after parsing: an indeterminate bar says more than a jump from 0 to 100 %.
  if (p.phase === 'convert') return { label, bytes: false };
  return { label, loaded: p.loaded, total: p.total, bytes: false };
}

/** Where the loaded model came from (`info.source.loadedFrom`), and whether caching it failed (`model.cacheError`). */
export function loadedFromText(loadedFrom: string, cacheError: { code: string } | null): string {
  return `from ${loadedFrom}${cacheError ? ` (not kept in the browser cache: ${cacheError.code})` : ''}`;
}
