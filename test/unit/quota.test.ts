/**
 * A full storage quota while caching a model is a typed `quota-exceeded` error that names the file and says how
 * much space it needs and what the origin has (src/worker/modelStore.ts). Cache Storage and navigator.storage are
 * stubbed: Node has neither, and a real quota cannot be filled in a test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelStore } from '../../src/common/modelStore.js';
import { isPPTSNError } from '../../src/core/errors.js';

function stub(name: string, value: unknown): void {
  Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
}

test('a QuotaExceededError while caching becomes quota-exceeded with the bytes needed and the room left', async () => {
  stub('location', { origin: 'http://127.0.0.1:5173' });
  stub('caches', { open: async () => ({ put: async () => { throw new DOMException('the quota has been exceeded', 'QuotaExceededError'); } }) });
  stub('navigator', { storage: { estimate: async () => ({ usage: 95 * 1048576, quota: 100 * 1048576 }) } });
  const store = (await ModelStore.open())!;
  const shard = new Uint8Array(4 * 1048576);
  const e = await store.putModelFile('ab'.repeat(32), 'group1-shard3of9.bin', shard).then(() => null, (x: unknown) => x);
  assert.ok(isPPTSNError(e), 'a PPTSNError');
  assert.equal(e.code, 'quota-exceeded');
  assert.match(e.message, /group1-shard3of9\.bin/);
  assert.match(e.message, /needs 4\.0 MB \(4194304 bytes\)/);
  assert.match(e.message, /uses 95\.0 MB of its 100\.0 MB quota, 5\.0 MB free/);
  // Other failures stay `storage`.
  stub('caches', { open: async () => ({ put: async () => { throw new TypeError('network'); } }) });
  const other = await (await ModelStore.open())!.putModelFile('cd'.repeat(32), 'model.json', shard).then(() => null, (x: unknown) => x);
  assert.ok(isPPTSNError(other) && other.code === 'storage');
});
