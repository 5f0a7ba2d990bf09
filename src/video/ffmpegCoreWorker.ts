/**
 * The worker that runs ffmpeg.wasm's core for the browser's fallback decoder (ffmpegCoreThread.ts starts it with
 * `new Worker(new URL('./ffmpegCoreWorker.js', import.meta.url))`): the shared host (core/ffmpegHost/) over this
 * worker's port, the core loaded from the URLs of the load request, Blobs mounted read-only.
 */
import { FfmpegCoreHost } from '../core/ffmpegHost/host.js';
import { serveFfmpegCore } from '../core/ffmpegHost/serve.js';
import { blobInput, coreModuleFromUrls, type BlobInput, type FfmpegCoreUrls } from './ffmpegCoreBrowser.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;
serveFfmpegCore<FfmpegCoreUrls, BlobInput>({
  post: (reply, transfer) => scope.postMessage(reply, transfer),
  listen: (handler) => { scope.onmessage = (e) => handler(e.data); },
}, (urls) => new FfmpegCoreHost(coreModuleFromUrls(urls), blobInput));
