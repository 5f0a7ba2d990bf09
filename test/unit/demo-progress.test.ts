/**
 * The demo's load-progress labels (demo/loadProgress.ts): a `cache` event carrying `error` is a failed cache WRITE
 * during a first download (full storage quota), not a read from the cache, so a fresh page never says its weights
 * came from the browser cache; a cached load still says so.
 *
 * Run: node --import tsx --test test/unit/demo-progress.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadedFromText, loadProgressView } from '../../demo/loadProgress.js';
import type { LoadProgress } from '../../src/index.js';

const quota = { code: 'quota-exceeded' as const, message: 'the storage quota is full', file: 'group1-shard2of3.bin', bytes: 4194304 };

test('a first load whose caching fails never claims the browser cache', () => {
  // The events src/worker/modelLoader.ts sends for a URL that is not cached, when a shard cannot be stored.
  const events: LoadProgress[] = [
    { phase: 'download', loaded: 0, total: 12e6, file: 'model.json' },
    { phase: 'download', loaded: 4194304, total: 12e6, file: 'group1-shard1of3.bin' },
    { phase: 'cache', loaded: 8388608, total: 12e6, file: 'group1-shard2of3.bin', error: quota },
    { phase: 'download', loaded: 12e6, total: 12e6, file: 'group1-shard3of3.bin' },
    { phase: 'upload', loaded: 1, total: 1 },
    { phase: 'warmup', loaded: 1, total: 1 },
    { phase: 'ready', loaded: 1, total: 1 },
  ];
  const labels = events.map((e) => loadProgressView(e).label);
  for (const l of labels) assert.doesNotMatch(l, /(reading|from) .*cache/i, `"${l}" claims a cache read on a first load`);
  const failed = loadProgressView(events[2]!);
  assert.match(failed.label, /not kept in the browser cache \(the browser storage is full\)/);
  assert.deepEqual([failed.loaded, failed.total, failed.bytes], [8388608, 12e6, true]);
  assert.match(loadProgressView({ ...events[2]!, error: { ...quota, code: 'storage' } }).label, /not kept in the browser cache \(the browser cache refused it\)/);
  assert.equal(loadedFromText('network', quota), 'from network (not kept in the browser cache: quota-exceeded)');
  assert.equal(loadedFromText('network', null), 'from network');
});

test('a cached load says so; the other phases keep their labels and bars', () => {
  assert.deepEqual(loadProgressView({ phase: 'cache', loaded: 5, total: 10, file: 'group1-shard1of1.bin' }), { label: 'Reading weights from the browser cache', loaded: 5, total: 10, bytes: true });
  assert.deepEqual(loadProgressView({ phase: 'download', loaded: 5, total: 10 }), { label: 'Downloading weights', loaded: 5, total: 10, bytes: true });
  assert.deepEqual(loadProgressView({ phase: 'convert', loaded: 0, total: 1, file: 'x.pdparams' }), { label: 'Converting the weight file', bytes: false });
  assert.deepEqual(loadProgressView({ phase: 'warmup', loaded: 0, total: 1 }), { label: 'Warming up (compiling shaders)', loaded: 0, total: 1, bytes: false });
  assert.equal(loadedFromText('cache', null), 'from cache');
});
