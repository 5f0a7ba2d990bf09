/**
 * `PPTSN.load`'s options as the engine's `EngineInit`: which model (a URL, bytes of a weight file, or a cached
 * model's name) and the load settings, with relative URLs resolved against the page.
 */
import { PPTSNError } from '../core/errors.js';
import type { EngineInit, EngineModelSource } from '../worker/protocol.js';
import type { LoadOptions, ModelSource } from './types.js';

/** A string is a cached model's name unless it looks like a URL or a path (has a scheme, a slash, or ends in .json). */
function looksLikeUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(s) || s.includes('/') || /\.json($|[?#])/i.test(s);
}

export function baseUrl(): string {
  return typeof document !== 'undefined' ? document.baseURI : globalThis.location.href;
}

function modelSourceOf(options: LoadOptions): EngineModelSource {
  const m: ModelSource = options.model;
  const fileName = options.fileName;
  const extra = { ...(options.info ? { info: options.info } : {}), ...(options.labels ? { labels: [...options.labels] } : {}) };
  if (typeof m === 'string') return looksLikeUrl(m) ? { kind: 'url', url: new URL(m, baseUrl()).href } : { kind: 'name', name: m };
  if (m instanceof URL) return { kind: 'url', url: m.href };
  if (typeof Blob !== 'undefined' && m instanceof Blob) {
    const name = fileName ?? (typeof File !== 'undefined' && m instanceof File ? m.name : undefined);
    return { kind: 'bytes', data: m, ...(name ? { fileName: name } : {}), ...extra };
  }
  if (m instanceof ArrayBuffer) return { kind: 'bytes', data: m, ...(fileName ? { fileName } : {}), ...extra };
  if (ArrayBuffer.isView(m)) {
    // Copy the view's bytes: structured clone would send the whole underlying buffer.
    const copy = new Uint8Array(m.byteLength);
    copy.set(new Uint8Array(m.buffer, m.byteOffset, m.byteLength));
    return { kind: 'bytes', data: copy.buffer, ...(fileName ? { fileName } : {}), ...extra };
  }
  throw new PPTSNError('invalid-argument', 'model must be a model.json URL, a File/Blob/ArrayBuffer of a .pdparams/.pdiparams file, or a cached model name');
}

/** The engine's init for `options`: the defaults of LoadOptions (backend auto, cache, warmup) filled in. */
export function engineInitOf(options: LoadOptions): EngineInit {
  return {
    model: modelSourceOf(options),
    backend: options.backend ?? 'auto',
    cache: options.cache ?? true,
    warmup: options.warmup ?? true,
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.wasmPaths !== undefined ? { wasmPaths: typeof options.wasmPaths === 'string' ? new URL(options.wasmPaths, baseUrl()).href : { ...options.wasmPaths } } : {}),
    ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
    ...(options.winograd !== undefined ? { winograd: options.winograd } : {}),
    ...(options.wasmThreads !== undefined ? { wasmThreads: options.wasmThreads } : {}),
  };
}
