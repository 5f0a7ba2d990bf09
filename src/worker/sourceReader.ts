/**
 * The engine's frame reader in a worker: Blob/URL sources through mediabunny + WebCodecs, else ffmpeg.wasm (there is
 * no `<video>` in a worker). One reader for the published worker (worker.ts) and the test pages' worker, so both
 * decode exactly alike.
 */
import { sampleIndices } from '../core/preprocess/sampler.js';
import { readFrames } from '../video/frames.js';
import { defaultFfmpegCoreUrls } from './ffmpegCoreFiles.js';
import type { FrameReader } from './frameReader.js';

export const workerFrameReader: FrameReader = async (source, { segments, sampling, signal, onDecodeProgress }) => {
  // Only the slow ffmpeg.wasm decode reports progress.
  const r = await readFrames(source, {
    indices: (frameCount: number) => sampleIndices(sampling, frameCount, segments),
    signal,
    ffmpegCore: defaultFfmpegCoreUrls(),
    ...(onDecodeProgress ? { onProgress: (phase: string, f: number) => onDecodeProgress(phase === 'ffmpeg-load' ? 0 : f) } : {}),
  });
  return { frameIndices: r.frameIndices, timestamps: r.timestamps, frames: r.frames, frameCount: r.frameCount, rotation: r.rotation };
};
