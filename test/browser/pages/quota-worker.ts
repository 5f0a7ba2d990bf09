/**
 * The engine worker with a full storage quota (test/browser/surface.test.ts): every `Cache.put` fails with the
 * browser's `QuotaExceededError`, as Chromium's Cache Storage does when the origin is out of room.
 */
import '../../../src/worker/worker.js';

Cache.prototype.put = async function put(): Promise<void> {
  throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
};
