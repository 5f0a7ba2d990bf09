/**
 * Default location of ffmpeg.wasm (`@ffmpeg/core`, single-threaded: ffmpeg-core.js + ffmpeg-core.wasm), the
 * fallback decoder for files WebCodecs cannot read (src/video/ffmpegWasm.ts). Like the tfjs WASM binaries
 * (wasmFiles.ts), the build copies both next to the compiled worker (dist/worker/), and these literal
 * `new URL('./…', import.meta.url)` references let Vite/webpack/Rollup emit them as assets of an app. They are
 * fetched only when a file needs the fallback.
 */
import type { FfmpegCoreUrls } from '../video/ffmpegWasm.js';

export function defaultFfmpegCoreUrls(): FfmpegCoreUrls {
  return {
    js: new URL('./ffmpeg-core.js', import.meta.url).href,
    wasm: new URL('./ffmpeg-core.wasm', import.meta.url).href,
  };
}
