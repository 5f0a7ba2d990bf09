/**
 * The frame reader the engine is built with (src/video's readFrames in the worker, test doubles in tests), as a
 * type of its own so that the engine and the trainer (trainerEngine.ts) both use it without importing each other.
 */
import type { FramePixels } from '../core/frames.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';

/** Frames of a video as the frame readers return them. */
export interface DecodedVideo {
  frameIndices: number[];
  timestamps: number[];
  frames: FramePixels[];
  /** L and the rotation applied (core/preprocess/framePlan.ts), reported in results. */
  frameCount?: number;
  rotation?: number;
}

/** Reads the sampled frames of a Blob/URL (src/video's readFrames in the worker). */
export type FrameReader = (
  source: Blob | string,
  options: { segments: number; sampling: PreprocessConfig['sampling']; signal: AbortSignal; onDecodeProgress?: (fraction: number) => void },
) => Promise<DecodedVideo>;
