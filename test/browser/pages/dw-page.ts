/** Test page: `window.dw.run(request)` runs dw-worker.ts in a module worker and returns its answer. */
import type { DwRequest } from './dw-worker.js';

(window as unknown as { dw: unknown }).dw = {
  run(request: DwRequest): Promise<unknown> {
    const worker = new Worker(new URL('./dw-worker.ts', import.meta.url), { type: 'module' });
    return new Promise((resolve) => {
      worker.onmessage = (e) => {
        worker.terminate();
        resolve(e.data);
      };
      worker.onerror = (e) => resolve({ ok: false, message: e.message });
      worker.postMessage(request);
    });
  },
};
