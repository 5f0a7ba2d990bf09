/**
 * "Get PP-TSN K400 weights": fetches PaddleVideo's released ppTSN_k400.pdparams through the dev server's proxy
 * route (PaddleVideo's host sends no CORS headers, so the page cannot fetch it directly), with progress, then
 * hands it to the model panel, which converts it in the worker and caches it like a dropped file. The dev server's weights/index.json names the route
 * (`download`); a static build's manifest has none, and the button is not shown.
 */
import { el, formatBytes, runTask } from './ui.js';

async function fetchWithProgress(url: string, signal: AbortSignal, progress: (loaded: number, total: number) => void): Promise<Blob> {
  const r = await fetch(url, { signal });
  if (!r.ok || !r.body) throw new Error(`${url}: HTTP ${r.status} (the dev server could not reach PaddleVideo's host; offline?)`);
  const total = Number(r.headers.get('content-length')) || 0;
  const parts: Uint8Array[] = [];
  let loaded = 0;
  const reader = r.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    loaded += value.byteLength;
    progress(loaded, total);
  }
  if (total && loaded !== total) throw new Error(`${url}: the download stopped after ${loaded} of ${total} bytes; try again`);
  return new Blob(parts as BlobPart[]);
}

/**
 * The button for `route` (a same-origin path to ppTSN_k400.pdparams); the downloaded file goes to `convert` (the model
 * panel's, passed in so this module does not import it back).
 */
export function k400Button(route: string, convert: (file: File) => Promise<void>): HTMLButtonElement {
  const b = el('button', { type: 'button', id: 'get-k400', className: 'act' }, 'Get PP-TSN K400 weights');
  b.addEventListener('click', async () => {
    const name = route.split('/').pop() || 'ppTSN_k400.pdparams';
    const blob = await runTask(`Downloading ${name}`, (task) =>
      fetchWithProgress(route, task.signal, (loaded, total) => task.progress(`Downloading ${name}`, loaded, total, `${formatBytes(loaded)}${total ? ` of ${formatBytes(total)}` : ''}`)),
    );
    if (blob) await convert(new File([blob], name));
  });
  return b;
}
