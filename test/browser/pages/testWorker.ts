/** Spawns test-worker.ts (the engine with test-only calls) the way src/api/spawn.ts spawns the real one. */
export function testWorker(): Worker {
  return new Worker(new URL('./test-worker.ts', import.meta.url), { type: 'module', name: 'pptsn-web' });
}
