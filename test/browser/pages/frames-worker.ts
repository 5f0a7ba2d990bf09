/** Worker side of the frames test: readFrames on a Blob inside a Web Worker (mediabunny + WebCodecs, no DOM). */
import { readFrames } from '../../../src/video/frames.js';
import { isPPTSNError } from '../../../src/core/errors.js';

self.onmessage = async (e: MessageEvent<{ blob: Blob; segments: number; ffmpegCore?: { js: string; wasm: string } }>) => {
  try {
    const r = await readFrames(e.data.blob, { segments: e.data.segments, ...(e.data.ffmpegCore ? { ffmpegCore: e.data.ffmpegCore } : {}) });
    // Pixel buffers cross back as transferables, as the runtime will hand them to preprocessing.
    (self as unknown as Worker).postMessage({ ok: true, result: r }, r.frames.map((f) => f.data.buffer as ArrayBuffer));
  } catch (err) {
    (self as unknown as Worker).postMessage(isPPTSNError(err) ? { ok: false, code: err.code, message: err.message } : { ok: false, code: 'not-pptsn', message: String(err) });
  }
};
