/**
 * ffmpeg.wasm's core in a browser, for the shared host (core/ffmpegHost/host.ts): its module loaded from the URLs
 * the caller gives (the worker passes the copies the build puts beside it, src/worker/ffmpegCoreFiles.ts), and a
 * Blob as its input. Used where the host runs: the core's own worker (ffmpegCoreWorker.ts) and, where no worker can
 * start, the calling thread (ffmpegWasm.ts).
 */
import { PPTSNError } from '../core/errors.js';
import type { CoreFactory, CoreFailure, CoreInput, CoreModule } from '../core/ffmpegHost/host.js';
import { abortError } from './util.js';

/** Where `ffmpeg-core.js` and `ffmpeg-core.wasm` are served. */
export interface FfmpegCoreUrls {
  js: string;
  wasm: string;
}

/** A Blob to read, and the id of the session reading it (one copy or mount for the probe and the decode). */
export interface BlobInput {
  blob: Blob;
  key: string;
}

/** `urls` made absolute against the calling thread's location (a worker's own URL is not the page's). */
export function absoluteCoreUrls(urls: FfmpegCoreUrls): FfmpegCoreUrls {
  const base = typeof location !== 'undefined' ? location.href : undefined;
  return { js: new URL(urls.js, base).href, wasm: new URL(urls.wasm, base).href };
}

/** The core's module from absolute `urls`, imported on first use (the 32 MB core is fetched only when a file needs it). */
export function coreModuleFromUrls(urls: FfmpegCoreUrls): () => Promise<CoreModule> {
  return async () => {
    // A runtime URL import, invisible to bundlers.
    const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ urls.js)) as { default: CoreFactory };
    const hint = btoa(JSON.stringify({ wasmURL: urls.wasm, workerURL: '' }));
    return { factory: mod.default, mainScript: `${urls.js}#${hint}`, compile: () => WebAssembly.compileStreaming(fetch(urls.wasm)) };
  };
}

/** A Blob as the core's input: mounted (WORKERFS reads it lazily, with FileReaderSync: workers only), else copied. */
export const blobInput: CoreInput<BlobInput> = {
  async key(input) {
    return input.key;
  },
  async read(input) {
    return typeof FileReaderSync !== 'undefined' ? { mount: input.blob } : { bytes: new Uint8Array(await input.blob.arrayBuffer()) };
  },
};

/** A new session id for `BlobInput.key`. */
export function sessionKey(): string {
  return Math.random().toString(36).slice(2);
}

/**
 * A failure of the core, in the browser's words for the file `name`: 'unsupported-source' when ffmpeg.wasm cannot be
 * loaded from `urls`, 'aborted', else 'decode-failed'.
 */
export function browserCoreError(failure: CoreFailure, name: string, urls: FfmpegCoreUrls, signal?: AbortSignal): PPTSNError {
  if (failure.reason === 'aborted') return abortError(signal);
  if (failure.reason === 'load') return new PPTSNError('unsupported-source', `The ffmpeg.wasm fallback could not be loaded from ${urls.js}: ${failure.message}`, { cause: failure });
  return new PPTSNError('decode-failed', `ffmpeg.wasm stopped while reading ${name} (${failure.message}); the file may be damaged or too large for the browser's memory.`, { cause: failure });
}
