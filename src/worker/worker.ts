/**
 * The worker entry: exposes an `Engine` through comlink. The API spawns it as a module worker with
 * `new Worker(new URL('../worker/worker.js', import.meta.url), { type: 'module' })`, the pattern Vite and webpack
 * bundle on their own. Frames of Blob/URL sources are read here (mediabunny + WebCodecs work in workers).
 */
import { expose } from 'comlink';
import { sampleIndices } from '../core/preprocess/sampler.js';
import { readFrames } from '../video/frames.js';
import { Engine, type FrameReader } from './engine.js';
import { installErrorTransport } from './errorTransport.js';
import { defaultFfmpegCoreUrls } from './ffmpegCoreFiles.js';

installErrorTransport();

const reader: FrameReader = async (source, { segments, sampling, signal, onDecodeProgress }) => {
  // WebCodecs, else ffmpeg.wasm (no <video> in a worker); only the slow ffmpeg.wasm decode reports progress.
  const r = await readFrames(source, {
    indices: (frameCount: number) => sampleIndices(sampling, frameCount, segments),
    signal,
    ffmpegCore: defaultFfmpegCoreUrls(),
    ...(onDecodeProgress ? { onProgress: (phase: string, f: number) => onDecodeProgress(phase === 'ffmpeg-load' ? 0 : f) } : {}),
  });
  return { frameIndices: r.frameIndices, timestamps: r.timestamps, frames: r.frames, frameCount: r.frameCount, rotation: r.rotation };
};

expose(new Engine(reader));
