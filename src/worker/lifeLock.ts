/**
 * The worker's life as the page sees it: a Web Lock held until the worker ends (the page's death notice), and the
 * memory figures the page's leak checks read.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Holds the Web Lock `name` until this worker ends (terminated, crashed, closed). The page queues a request for
 * the same lock, which the browser grants only then: an event-driven death notice, with no heartbeat or timeout
 * that a long inference chunk could trip. Resolves once the lock is held; false where Web Locks are missing.
 */
export async function holdLifeLock(name: string): Promise<boolean> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return false;
  await new Promise<void>((held, failed) => {
    locks.request(name, () => {
      held();
      return new Promise<never>(() => undefined);
    }).catch(failed);
  });
  return true;
}

/** tfjs tensors and bytes held by this worker, and the wasm heap's size on the wasm backend. */
export function memoryInfo(): { numTensors: number; numBytes: number; wasmHeapBytes?: number } {
  const m = tf.memory();
  // WebAssembly memory only grows, so the wasm heap's size is the high-water mark of the backend's memory.
  const heap = (tf.getBackend() === 'wasm' ? (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer.byteLength : undefined);
  return { numTensors: m.numTensors, numBytes: m.numBytes, ...(heap !== undefined ? { wasmHeapBytes: heap } : {}) };
}
