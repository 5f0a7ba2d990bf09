/**
 * Fetching model bytes with byte-level progress and abort. Reads the response body as a stream so progress is
 * reported as bytes arrive (not only when a shard completes), and turns every failure into a typed error that
 * says what to check (status code, CORS, network).
 */
import { PPTSNError } from '../core/errors.js';

/** Fetches `url` into one buffer; `onBytes(n)` is called with each chunk's size as it arrives. */
export async function fetchBytes(url: string, onBytes: (n: number) => void, signal?: AbortSignal): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, { signal: signal ?? null, credentials: 'same-origin' });
  } catch (e) {
    if (signal?.aborted) throw new PPTSNError('aborted', `download of ${url} aborted`);
    throw new PPTSNError('network', `${url}: the request failed (${(e as Error).message}); check the URL, the network and, for another origin, its CORS headers`);
  }
  if (!response.ok) throw new PPTSNError('network', `${url}: the server answered HTTP ${response.status} ${response.statusText}`);
  const declared = Number(response.headers.get('content-length'));
  if (!response.body) {
    const buf = new Uint8Array(await response.arrayBuffer());
    onBytes(buf.byteLength);
    return buf;
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      total += value.byteLength;
      onBytes(value.byteLength);
    }
  } catch (e) {
    if (signal?.aborted) throw new PPTSNError('aborted', `download of ${url} aborted`);
    throw new PPTSNError('network', `${url}: the download broke off after ${total} bytes (${(e as Error).message}); try again`);
  }
  // Content-Length is the encoded size; only compare when the body was not compressed in transit.
  if (Number.isFinite(declared) && declared > 0 && !response.headers.get('content-encoding') && total !== declared) {
    throw new PPTSNError('network', `${url}: received ${total} of ${declared} bytes; try again`);
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.byteLength; }
  return out;
}

/** Fetches a small text/JSON resource (model.json); throws `network` with the reason. */
export async function fetchText(url: string, signal?: AbortSignal): Promise<string> {
  const bytes = await fetchBytes(url, () => undefined, signal);
  return new TextDecoder().decode(bytes);
}
