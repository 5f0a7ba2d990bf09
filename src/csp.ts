/**
 * The Content-Security-Policy pptsn-web is tested under (and recommends for pages that use it, the demo included):
 * no 'unsafe-eval' and no inline script. Each directive is there for a reason:
 * - script-src 'self' blob: 'wasm-unsafe-eval': the tfjs WASM backend compiles WebAssembly (not JS eval); blob:
 *   because each of tfjs-wasm's pthread workers (WASM threads) `importScripts` the Emscripten module from a Blob
 *   URL that tfjs builds at run time, and a worker's importScripts obeys script-src, not worker-src. A blob: URL
 *   can only hold script that already runs in the page, so this admits no outside code and no eval;
 * - worker-src 'self' blob:: the engine's module worker and ffmpeg.wasm's from 'self'; blob: for tfjs-wasm's
 *   pthread workers when WASM threads are enabled;
 * - connect-src 'self' blob: data:: model.json/shards and videos fetched by the worker; WebCodecs/mediabunny reads
 *   of Blob URLs;
 * - media-src 'self' blob:: <video> sources; img-src for canvases turned into images by apps;
 * - style-src 'self' 'unsafe-inline': the Vite dev client injects styles (not needed by the library itself).
 * README.md (Security) documents the same string; test/unit/security.test.ts keeps the two in sync, and
 * test/browser/csp.test.ts runs the library under it. A page that loads models or videos from other origins adds
 * them to connect-src and media-src (the demo adds https:).
 */
export const RECOMMENDED_CSP = [
  "default-src 'self'",
  "script-src 'self' blob: 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self' blob: data:",
  "media-src 'self' blob:",
  "img-src 'self' blob: data:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'self'",
].join('; ');
