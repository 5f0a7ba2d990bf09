/**
 * Starts a Node worker thread whose entry is a TypeScript module of src/node (the one way this package starts one:
 * no worker source is kept in strings). `entry` is the compiled file's URL beside the caller,
 * `new URL('./x.js', import.meta.url)`: from dist/ that file runs as is; from source (tsx: the tests, `npx tsx`)
 * the `.ts` beside it runs through tsx's loader, which Node 20 does not pass on to a worker thread from the
 * parent's `--import`, so a one-line bootstrap registers it in the thread first.
 *
 * `execArgv: []`: no flag of the parent's (`--input-type`, a loader, a test runner's) that a worker refuses or
 * does not need.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorkerThread(entry: URL, options: Omit<WorkerOptions, 'eval' | 'execArgv'> = {}): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(entry, { ...options, execArgv: [] });
  const source = new URL(entry.href.replace(/\.js$/, '.ts'));
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source.href)}); });`, { ...options, eval: true, execArgv: [] });
}
