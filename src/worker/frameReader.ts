/**
 * The frame reader the engine is built with (`workerFrameReader`: src/video's readFrames in the worker; test
 * doubles in tests), as a module of its own so that the engine and the trainer (trainerEngine.ts) both use it
 * without importing each other.
 */
import type { FramePixels } from '../core/frames.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';
import { sampleIndices } from '../core/preprocess/sampler.js';
import { readFrames } from '../video/frames.js';
import { defaultFfmpegCoreUrls } from './ffmpegCoreFiles.js';

/** Frames of a video as the frame readers return them. */
export interface DecodedVideo {
  frameIndices: number[];
  timestamps: number[];
  frames: FramePixels[];
  /** L and the rotation applied (core/preprocess/framePlan.ts), reported in results. */
  frameCount?: number;
  rotation?: number;
  /** The video stream read (ffmpeg's index; decord's choice), when the reader knows it. */
  stream?: number;
}

/** Reads the sampled frames of a Blob/URL (src/video's readFrames in the worker). */
export type FrameReader = (
  source: Blob | string,
  options: { segments: number; sampling: PreprocessConfig['sampling']; signal: AbortSignal; onDecodeProgress?: (fraction: number) => void },
) => Promise<DecodedVideo>;

/** The worker's reader: WebCodecs, else ffmpeg.wasm (no <video> in a worker); only ffmpeg.wasm reports progress. */
export const workerFrameReader: FrameReader = async (source, { segments, sampling, signal, onDecodeProgress }) => {
  const r = await readFrames(source, {
    indices: (frameCount: number) => sampleIndices(sampling, frameCount, segments),
    signal,
    ffmpegCore: defaultFfmpegCoreUrls(),
    ...(onDecodeProgress ? { onProgress: (phase: string, f: number) => onDecodeProgress(phase === 'ffmpeg-load' ? 0 : f) } : {}),
  });
  return { frameIndices: r.frameIndices, timestamps: r.timestamps, frames: r.frames, frameCount: r.frameCount, rotation: r.rotation, ...(r.streamIndex !== null ? { stream: r.streamIndex } : {}) };
};
