/**
 * One truth for "which frames, which way up, which colours" (docs/contract.md §4): every frame reader (the CLI's ffmpeg,
 * the browser's WebCodecs and `<video>` paths) reports what its demuxer saw and gets back the frame count L, the
 * TSN indices over it, the clockwise rotation to apply and the YCbCr → RGB conversion to use. Pure functions, no
 * I/O, isomorphic; mirrors what decord (≥ 0.3.8, PaddleVideo's pin) and ffmpeg's default decode give:
 * - L = frames presented after the MP4/MOV edit list (ffmpeg's, OpenCV's and players' count), not packets;
 * - frames in display orientation (display matrix / `rotate` tag applied, width and height swapped for 90/270);
 * - untagged YUV is BT.601 limited range; `color_range=pc` / `yuvj*` is full range; a matrix tag is honoured.
 */
import { PPTSNError } from '../errors.js';
import type { FramePixels } from './pixels.js';
import { sampleIndices, type SamplingMode } from '../preprocess/sampler.js';
import { type Rng } from '../random.js';

/** Clockwise rotation in degrees that turns coded frames into display orientation. */
export type Rotation = 0 | 90 | 180 | 270;

/** The YCbCr matrices the readers convert with (ffmpeg's `in_color_matrix` names). */
export type ColorMatrix = 'bt601' | 'bt709' | 'bt2020' | 'fcc' | 'smpte240m';

/** What a demuxer reports about the primary video stream. */
export interface SourceFacts {
  /** Frames presented after the edit list (frames hidden by it are not counted). */
  presentedFrames: number;
  /** Coded (decoded) picture size, before rotation. */
  codedWidth: number;
  codedHeight: number;
  /** Clockwise display rotation in degrees, any multiple of 90 (normalised here; others are refused). */
  rotation: number;
  /** Colour tags; null/undefined when the stream is untagged. Matrix names as ffprobe or WebCodecs spell them. */
  matrix?: string | null;
  fullRange?: boolean | null;
  /** ffprobe pix_fmt when known: `yuvj*` formats are full range even without a range tag. */
  pixelFormat?: string | null;
}

/** How the sampler picks: PaddleVideo's Sampler (mode + T), or explicit indices (a list or a function of L). */
export type FrameSelection =
  | { sampling: SamplingMode; segments: number; rng?: Rng }
  | { indices: readonly number[] | ((frameCount: number) => number[]) };

/** The decision for one source. */
export interface FramePlan {
  /** L: presented frame count; the indices are 0-based over it. */
  frameCount: number;
  indices: number[];
  rotation: Rotation;
  /** Display size: the frames' size after rotation. */
  width: number;
  height: number;
  color: { matrix: ColorMatrix; fullRange: boolean };
}

/** Normalises a clockwise rotation to 0/90/180/270. Throws 'unsupported-source' for a non-right angle. */
export function normalizeRotation(degrees: number): Rotation {
  if (!Number.isFinite(degrees)) return 0;
  const r = ((Math.round(degrees) % 360) + 360) % 360;
  if (r % 90 !== 0) {
    throw new PPTSNError('unsupported-source', `The video asks to be shown rotated by ${degrees}°; only multiples of 90° are supported. Re-encode it upright (ffmpeg autorotates when re-encoding).`);
  }
  return r as Rotation;
}

/** ffprobe's side-data `rotation` (counter-clockwise, e.g. −90 for a phone held upright) → clockwise degrees. */
export function clockwiseFromDisplayMatrix(ffprobeRotation: number): Rotation {
  return normalizeRotation(-ffprobeRotation);
}

/** Maps ffprobe (`bt709`, `smpte170m`, `bt2020nc`) and WebCodecs (`bt709`, `bt2020-ncl`) matrix names. */
export function colorMatrixOf(tag: string | null | undefined): ColorMatrix {
  switch (tag) {
    case 'bt709':
      return 'bt709';
    case 'fcc':
      return 'fcc';
    case 'smpte240m':
      return 'smpte240m';
    case 'bt2020nc':
    case 'bt2020c':
    case 'bt2020_ncl':
    case 'bt2020_cl':
    case 'bt2020-ncl':
      return 'bt2020';
    default:
      // untagged / unknown / bt470bg / smpte170m / gbr…: BT.601, swscale's default and decord's result.
      return 'bt601';
  }
}

/** The conversion ffmpeg's swscale applies: matrix from the tag (BT.601 untagged), full range for `pc`/`yuvj*`. */
export function colorOf(facts: Pick<SourceFacts, 'matrix' | 'fullRange' | 'pixelFormat'>): FramePlan['color'] {
  const fullRange = facts.fullRange === true || /^yuvj/.test(facts.pixelFormat ?? '');
  return { matrix: colorMatrixOf(facts.matrix), fullRange };
}

/**
 * Counts the frames an edit list presents, from presentation timestamps in seconds as a demuxer that shifts by the
 * edit's media time gives them (mediabunny): frames before the edit's start are negative and hidden. `epsilon`
 * absorbs timescale rounding (a frame starting 1 tick before 0 is still shown).
 */
export function isPresented(timestamp: number, epsilon = 1e-6): boolean {
  return timestamp >= -epsilon;
}

/**
 * Decides L, the indices, the rotation, the display size and the colour conversion for a source. Errors:
 * 'video-too-short' (no presented frame), 'unsupported-source' (rotation not a multiple of 90°), 'invalid-argument'
 * (bad segments or an index outside 0..L−1).
 */
export function planFrames(facts: SourceFacts, selection: FrameSelection): FramePlan {
  const frameCount = facts.presentedFrames;
  if (!Number.isInteger(frameCount) || frameCount < 1) {
    throw new PPTSNError('video-too-short', `The video has no presented frames (frame count ${frameCount}).`);
  }
  let indices: number[];
  if ('indices' in selection) {
    indices = typeof selection.indices === 'function' ? selection.indices(frameCount) : [...selection.indices];
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= frameCount) throw new PPTSNError('invalid-argument', `Frame index ${i} is outside 0..${frameCount - 1}.`);
    }
  } else {
    indices = sampleIndices(selection.sampling, frameCount, selection.segments, selection.rng);
  }
  const rotation = normalizeRotation(facts.rotation);
  const swap = rotation === 90 || rotation === 270;
  return {
    frameCount,
    indices,
    rotation,
    width: swap ? facts.codedHeight : facts.codedWidth,
    height: swap ? facts.codedWidth : facts.codedHeight,
    color: colorOf(facts),
  };
}

/**
 * Rotates interleaved pixels clockwise by `rotation` (a lossless pixel shuffle, what ffmpeg's `transpose`/`hflip`
 * autorotation filters do). Returns the input unchanged for 0.
 */
export function rotatePixels<T extends FramePixels>(px: T, rotation: Rotation): T {
  if (rotation === 0) return px;
  const { width: w, height: h, channels: c, data: src } = px;
  const swap = rotation !== 180;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new (src.constructor as new (n: number) => T['data'])(src.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let ox: number, oy: number;
      if (rotation === 90) { ox = h - 1 - y; oy = x; } else if (rotation === 180) { ox = w - 1 - x; oy = h - 1 - y; } else { ox = y; oy = w - 1 - x; }
      const s = (y * w + x) * c;
      const d = (oy * ow + ox) * c;
      for (let k = 0; k < c; k++) out[d + k] = src[s + k]!;
    }
  }
  return { ...px, width: ow, height: oh, data: out };
}
