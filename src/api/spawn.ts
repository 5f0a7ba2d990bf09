/**
 * Starts the engine's module worker. The `new Worker(new URL('../worker/worker.js', import.meta.url), …)` expression
 * must stay literal and in one piece: it is the pattern Vite, webpack 5 and Rollup recognise to bundle the worker
 * (with its own copy of tfjs) as a separate chunk. In dist/ the URL is dist/worker/worker.js, next to dist/index.js.
 */
export function spawnEngineWorker(): Worker {
  return new Worker(new URL('../worker/worker.js', import.meta.url), { type: 'module', name: 'pptsn-web' });
}
