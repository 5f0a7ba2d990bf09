/**
 * The page's `createTrainer({ pretrained })` (issue 22): a PaddleClas ImageNet backbone given as a URL, a File/Blob
 * or bytes, read here on the page into bytes that cross to the worker (which parses them, core/train/
 * pretrainedStart.ts). PaddleClas publishes them as `…/dygraph/legendary_models/ResNet{18,34,50}_vd_pretrained.pdparams`
 * (`PADDLECLAS_PRETRAINED`).
 */
import { PPTSNError } from '../core/errors.js';

/** What `pretrained` takes. */
export type PretrainedSource = string | URL | Blob | ArrayBuffer | Uint8Array;

/** PaddleClas's official ImageNet weights of a ResNet-vd depth (`ppcls/arch/backbone/legendary_models/resnet.py`). */
export function paddleClasPretrainedUrl(depth: 18 | 34 | 50 | 101 | 152 | 200): string {
  return `https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models/ResNet${depth}_vd_pretrained.pdparams`;
}

/**
 * The bytes and a name (for messages) of a pretrained source. Errors: PPTSNError('network') when a URL cannot be
 * fetched (a download failure, an HTTP error, or a host that does not allow this page's origin: CORS), saying to
 * give the downloaded file instead; ('invalid-argument') for any other kind of value.
 */
export async function readPretrainedSource(src: PretrainedSource, signal?: AbortSignal): Promise<{ bytes: Uint8Array; name: string }> {
  if (src instanceof Uint8Array) return { bytes: src, name: 'pretrained .pdparams' };
  if (src instanceof ArrayBuffer) return { bytes: new Uint8Array(src), name: 'pretrained .pdparams' };
  if (typeof Blob !== 'undefined' && src instanceof Blob) {
    return { bytes: new Uint8Array(await src.arrayBuffer()), name: (src as Partial<File>).name ?? 'pretrained .pdparams' };
  }
  if (typeof src === 'string' || src instanceof URL) {
    const url = String(src);
    const name = decodeURIComponent(url.split(/[?#]/)[0]!.split('/').pop() || url);
    let res: Response;
    try {
      res = await fetch(url, signal ? { signal } : {});
    } catch (e) {
      if (signal?.aborted) throw new PPTSNError('aborted', `downloading ${url} was aborted`);
      throw new PPTSNError('network', `could not download the pretrained weights ${url} (${(e as Error).message}); a page can only fetch a host that allows it (CORS): download the file and give it as a File instead`, { cause: e });
    }
    if (!res.ok) throw new PPTSNError('network', `could not download the pretrained weights ${url}: HTTP ${res.status}; download the file and give it as a File instead`);
    return { bytes: new Uint8Array(await res.arrayBuffer()), name };
  }
  throw new PPTSNError('invalid-argument', `pretrained must be a URL, a File/Blob, an ArrayBuffer or a Uint8Array, got ${Object.prototype.toString.call(src)}`);
}
