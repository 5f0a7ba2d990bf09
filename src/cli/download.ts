/**
 * `pptsn-web download pptsn-k400 [--distilled] -o <dir> [--url U]`: fetches PaddleVideo's released PP-TSN
 * weights with progress on stderr, records their SHA-256, and converts them with the Kinetics-400 labels.
 */
import { createHash } from 'node:crypto';
import { rm, mkdir, open, rename } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { PPTSNError } from '../core/errors.js';
import { trackTemporary } from '../node/cleanup.js';
import { str, usage, type Command } from './command.js';
import { convert } from './convert.js';
import { bytesUnit, progressMeter } from './progress.js';

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
  // Registered before it exists: an interrupt between open and the first write still removes it.
  const release = trackTemporary(tmp);
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
  } finally {
    release();
  }
  return { path, sha256: hash.digest('hex'), bytes: loaded };
}

/** A one-line byte-count meter on stderr (see progress.ts). */
export function progressPrinter(label: string): (loaded: number, total: number | undefined) => void {
  return progressMeter(label, bytesUnit);
}

export const downloadCommand: Command = {
  name: 'download',
  summary: "fetch PaddleVideo's released PP-TSN K400 weights (SHA-256 recorded) and convert them",
  usage: ['download pptsn-k400 [--distilled] -o <dir> [--url <url>] [--dtype float32|float16] [--progress]'],
  details: `Fetches ${RELEASES['pptsn-k400']} (or the 8-segment distilled file) into <dir> through a
temporary .part name (removed on failure or Ctrl-C), then converts it with the Kinetics-400 labels.`,
  options: {
    out: { type: 'string', short: 'o' },
    distilled: { type: 'boolean' },
    url: { type: 'string' },
    dtype: { type: 'string' },
  },
  progress: true,
  async run({ values, positionals }, { log, progress }) {
    if (positionals.length !== 1 || positionals[0] !== 'pptsn-k400') usage('download knows one model: pptsn-k400 (add --distilled for the 8-segment distilled one)');
    const out = str(values.out) ?? usage('download needs -o <dir>');
    const dtype = values.dtype === undefined ? undefined : values.dtype === 'float32' || values.dtype === 'float16' ? values.dtype : usage(`--dtype must be one of float32, float16, got "${String(values.dtype)}"`);
    const url = str(values.url) ?? (values.distilled ? RELEASES['pptsn-k400-distilled'] : RELEASES['pptsn-k400']);
    const file = await downloadFile(url, out, progress ? progressPrinter(`downloading ${url}`) : undefined);
    log(`downloaded ${file.path} (${file.bytes} bytes, sha256 ${file.sha256})`);
    await convert({ input: file.path, outDir: out, labels: 'kinetics400', ...(dtype ? { dtype } : {}), log, progress });
  },
};
