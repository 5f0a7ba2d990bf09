/**
 * `pptsn-web download pptsn-k400 [--distilled] -o <dir> [--url U]`: fetches PaddleVideo's released PP-TSN
 * weights with progress on stderr, records their SHA-256, and converts them with the Kinetics-400 labels.
 * `pptsn-web download resnet50-vd-ssld -o <dir>`: fetches the ImageNet backbone PP-TSN's training starts from (the
 * file PaddleVideo's configs name), checks it is one, and leaves it for `train --pretrained`.
 */
import { createHash } from 'node:crypto';
import { rm, mkdir, open, readFile, rename } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { PPTSNError } from '../core/errors.js';
import { readPdparamsRaw } from '../core/formats/pdparams.js';
import { readPretrainedBackbone } from '../core/formats/pretrained.js';
import { trackTemporary } from '../node/cleanup.js';
import { str, usage, type Command } from './command.js';
import { convert } from './convert.js';
import { bytesUnit, progressMeter } from './progress.js';

/** PaddleVideo model zoo, docs/en/model_zoo/recognition/pp-tsn.md (docs/contract.md §3). */
export const RELEASES = {
  'pptsn-k400': 'https://videotag.bj.bcebos.com/PaddleVideo-release2.2/ppTSN_k400.pdparams',
  'pptsn-k400-distilled': 'https://videotag.bj.bcebos.com/PaddleVideo-release2.2/ppTSN_k400_8.pdparams',
  /** PaddleVideo's pp-tsn.md, "download pretrain-model": PaddleClas's SSLD-distilled ImageNet ResNet50-vd. */
  'resnet50-vd-ssld': 'https://videotag.bj.bcebos.com/PaddleVideo/PretrainModel/ResNet50_vd_ssld_v2_pretrained.pdparams',
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
  summary: "fetch PaddleVideo's released PP-TSN K400 weights (SHA-256 recorded) and convert them, or the ImageNet backbone training starts from",
  usage: ['download pptsn-k400 [--distilled] -o <dir> [--url <url>] [--dtype float32|float16] [--progress]', 'download resnet50-vd-ssld -o <dir> [--url <url>] [--progress]'],
  details: `Fetches ${RELEASES['pptsn-k400']} (or the 8-segment distilled file) into <dir> through a
temporary .part name (removed on failure or Ctrl-C), then converts it with the Kinetics-400 labels.
resnet50-vd-ssld fetches ${RELEASES['resnet50-vd-ssld']}, the ImageNet backbone of the tutorial's training,
checks that it is one and leaves it in <dir> for 'pptsn-web train … --pretrained <dir>/ResNet50_vd_ssld_v2_pretrained.pdparams'.`,
  options: {
    out: { type: 'string', short: 'o' },
    distilled: { type: 'boolean' },
    url: { type: 'string' },
    dtype: { type: 'string' },
  },
  progress: true,
  async run({ values, positionals }, { log, progress }) {
    const what = positionals[0];
    if (positionals.length !== 1 || (what !== 'pptsn-k400' && what !== 'resnet50-vd-ssld')) usage('download knows pptsn-k400 (add --distilled for the 8-segment distilled one) and resnet50-vd-ssld (the ImageNet backbone for train --pretrained)');
    const out = str(values.out) ?? usage('download needs -o <dir>');
    if (what === 'resnet50-vd-ssld') {
      if (values.distilled || values.dtype !== undefined) usage('--distilled and --dtype are for pptsn-k400; resnet50-vd-ssld is kept as PaddleClas wrote it');
      const url = str(values.url) ?? RELEASES['resnet50-vd-ssld'];
      const file = await downloadFile(url, out, progress ? progressPrinter(`downloading ${url}`) : undefined);
      // A file that is not a ResNet-vd backbone (an error page, another model) is refused now, naming it.
      const pre = readPretrainedBackbone(readPdparamsRaw(new Uint8Array(await readFile(file.path)), file.path).tensors, file.path);
      log(`downloaded ${file.path} (${file.bytes} bytes, sha256 ${file.sha256}): ResNet${pre.depth}_vd ImageNet backbone; train from it with 'pptsn-web train <train_list> -o <run_dir> --pretrained ${file.path}'`);
      return;
    }
    const dtype = values.dtype === undefined ? undefined : values.dtype === 'float32' || values.dtype === 'float16' ? values.dtype : usage(`--dtype must be one of float32, float16, got "${String(values.dtype)}"`);
    const url = str(values.url) ?? (values.distilled ? RELEASES['pptsn-k400-distilled'] : RELEASES['pptsn-k400']);
    const file = await downloadFile(url, out, progress ? progressPrinter(`downloading ${url}`) : undefined);
    log(`downloaded ${file.path} (${file.bytes} bytes, sha256 ${file.sha256})`);
    await convert({ input: file.path, outDir: out, labels: 'kinetics400', ...(dtype ? { dtype } : {}), log, progress });
  },
};
