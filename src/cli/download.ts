/**
 * `pptsn-web download pptsn-k400 [--distilled] -o <dir> [--url U]`: fetches PaddleVideo's released PP-TSN
 * weights with progress on stderr, records their SHA-256, and converts them with the Kinetics-400 labels.
 */
import { createHash } from 'node:crypto';
import { rm, mkdir, open, rename } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { PPTSNError } from '../core/errors.js';

/** PaddleVideo model zoo, docs/en/model_zoo/recognition/pp-tsn.md (docs/contract.md §3). */
export const RELEASES = {
  'pptsn-k400': 'https://videotag.bj.bcebos.com/PaddleVideo-release2.2/ppTSN_k400.pdparams',
  'pptsn-k400-distilled': 'https://videotag.bj.bcebos.com/PaddleVideo-release2.2/ppTSN_k400_8.pdparams',
} as const;

export interface Downloaded {
  path: string;
  sha256: string;
  bytes: number;
}

/** Streams `url` into `dir`/<name> (through a temporary name), hashing as it goes. */
export async function downloadFile(url: string, dir: string, onProgress?: (loaded: number, total: number | undefined) => void): Promise<Downloaded> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    throw new PPTSNError('network', `${url}: download failed (${cause}); check the network, or download the file elsewhere and run 'pptsn-web convert'`);
  }
  if (!response.ok || !response.body) throw new PPTSNError('network', `${url}: the server answered HTTP ${response.status}`);
  const totalHeader = Number(response.headers.get('content-length'));
  const total = Number.isFinite(totalHeader) && totalHeader > 0 ? totalHeader : undefined;
  const name = basename(new URL(url).pathname) || 'weights.pdparams';
  await mkdir(resolve(dir), { recursive: true });
  const path = join(resolve(dir), name);
  const tmp = `${path}.${process.pid}.part`;
  const hash = createHash('sha256');
  const file = await open(tmp, 'w');
  let loaded = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      await file.write(chunk);
      loaded += chunk.byteLength;
      onProgress?.(loaded, total);
    }
    await file.close();
    if (total !== undefined && loaded !== total) {
      throw new PPTSNError('network', `${url}: the download stopped after ${loaded} of ${total} bytes; try again`);
    }
    await rename(tmp, path);
  } catch (e) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    if (e instanceof PPTSNError) throw e;
    throw new PPTSNError('network', `${url}: download failed after ${loaded} bytes (${(e as Error).message})`);
  }
  return { path, sha256: hash.digest('hex'), bytes: loaded };
}

/** A one-line progress meter on stderr (only when stderr is a terminal or PPTSN_PROGRESS is set). */
export function progressPrinter(label: string): (loaded: number, total: number | undefined) => void {
  let last = 0;
  return (loaded, total) => {
    const now = Date.now();
    if (now - last < 200 && loaded !== total) return;
    last = now;
    const mb = (n: number) => (n / 1048576).toFixed(1);
    const pct = total ? ` ${((100 * loaded) / total).toFixed(0)}%` : '';
    process.stderr.write(`\r${label}: ${mb(loaded)}${total ? `/${mb(total)}` : ''} MB${pct}${loaded === total ? '\n' : ''}`);
  };
}
