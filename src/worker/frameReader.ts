/**
 * The frame reader the engine is built with (`workerFrameReader`: src/video's readFrames in the worker; test
 * doubles in tests), and the rawframes reader (`readRawframesVideo`), as a module of its own so that the engine and
 * the trainer (trainerEngine.ts) both use them without importing each other.
 */
import type { FramePixels } from '../core/frames/pixels.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';
import { sampleIndices } from '../core/preprocess/sampler.js';
import { readFrames } from '../video/frames.js';
import { readRawframesFiles } from '../video/rawframes.js';
import type { EngineVideo } from './protocol.js';
import { defaultFfmpegCoreUrls } from './ffmpegCoreFiles.js';

/** Frames of a video as the frame readers return them. */
export interface DecodedVideo {
  frameIndices: number[];
  timestamps: number[];
  frames: FramePixels[];
  /** L and the rotation applied (core/frames/framePlan.ts), reported in results. */
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

/**
 * The sampled frames of a rawframes clip the page sent as files (or a directory handle): read and decoded here
 * (src/video/rawframes.ts) at `config`'s sampling and segments. A folder has no timestamps (NaN each).
 */
export async function readRawframesVideo(video: Extract<EngineVideo, { kind: 'rawframes' }>, config: PreprocessConfig, signal?: AbortSignal): Promise<DecodedVideo> {
  const r = await readRawframesFiles(video.files, video.origin, config, signal);
  return { frameIndices: r.indices, timestamps: r.indices.map(() => NaN), frames: r.frames };
}
