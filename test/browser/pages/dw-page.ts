/**
 * Test page: `window.dw.run(request)` runs dw-worker.ts in a module worker and returns its answer;
 * `window.dw.step(request)` the same with bench/pages/dw-step-worker.ts (bench/kernels/dw-step-ab-browser.ts).
 */
import type { DwRequest } from './dw-worker.js';

function answer(worker: Worker, request: unknown): Promise<unknown> {
  return new Promise((resolve) => {
    worker.onmessage = (e) => {
      worker.terminate();
      resolve(e.data);
    };
    worker.onerror = (e) => resolve({ ok: false, message: e.message });
    worker.postMessage(request);
  });
}

(window as unknown as { dw: unknown }).dw = {
  run(request: DwRequest): Promise<unknown> {
    return answer(new Worker(new URL('./dw-worker.ts', import.meta.url), { type: 'module' }), request);
  },
  step(request: unknown): Promise<unknown> {
    return answer(new Worker(new URL('../../../bench/pages/dw-step-worker.ts', import.meta.url), { type: 'module' }), request);
  },
};
