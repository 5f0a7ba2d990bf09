/**
 * Frames + a preset → the network's input tensor, as a handful of batched tfjs ops over all frames at once
 * (no per-pixel JavaScript): Scale = `resizeBilinear(halfPixelCenters)` + round (cv2 INTER_LINEAR writes uint8),
 * Normalization fused into one multiply-add, crops as slices, flips as `reverse`. Isomorphic: tfjs-core only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import { MEAN, STD, resolveTrainPreprocessOptions, type PreprocessConfig, type TrainPreprocessConfig } from './presets.js';
import type { Rng } from '../random.js';
import type { FramePixels } from '../frames/pixels.js';
import { cropBoxesFor, cropToSource, multiScaleCropBox, randomFlip, scaleSize, type CropBox, type Size } from './transforms.js';

export { cropBoxesFor, cropToSource };

export type { FramePixels };

/** Pipeline input: frames of one size, or a tensor [T, H, W, 3|4] (int32 or float32, values 0–255; not disposed). */
export type FramesInput = readonly FramePixels[] | tf.Tensor4D;

export interface PreprocessedClip {
  /**
   * NHWC float32 [T·C, cropSize, cropSize, 3], normalised, in PaddleVideo's image order: image n is crop ⌊n/T⌋
   * of frame n mod T. This is what the network's `features()` takes. The caller owns (disposes) it.
   */
  input: tf.Tensor4D;
  /** T (frames given). */
  segments: number;
  /** C (crops per frame). */
  cropsPerFrame: number;
  /** The C crops, in scaled-frame coordinates (see `scaledSize`); each applies to every frame. */
  crops: CropBox[];
  /** Frame size before Scale. */
  sourceSize: Size;
  /** Frame size after Scale (the coordinate system of `crops`). */
  scaledSize: Size;
}

/**
 * Stacks the input into one float32 RGB tensor [T, H, W, 3]; returns whether it was created here (and must be
 * disposed). Frames (RGBA from the decoder) are packed to RGB float32 in one JavaScript pass (~3 ms for 8 frames of
 * 320×240): dropping alpha with a tensor slice is a per-pixel loop on wasm (its Slice copies 3 values per
 * `subarray().set()`: ~100 ms for the same frames) and on cpu, and float32 input also saves tfjs's int32 conversion
 * and a Cast.
 */
function toTensor(frames: FramesInput): { x: tf.Tensor4D; owned: boolean } {
  if (frames instanceof tf.Tensor) {
    if (frames.rank !== 4 || (frames.shape[3] !== 3 && frames.shape[3] !== 4) || frames.shape[0] < 1) {
      throw new PPTSNError('invalid-argument', `Frame tensor must be [T, H, W, 3|4] with T ≥ 1, got [${frames.shape.join(', ')}].`);
    }
    if (frames.dtype !== 'int32' && frames.dtype !== 'float32') throw new PPTSNError('invalid-argument', `Frame tensor dtype must be int32 or float32, got ${frames.dtype}.`);
    if (frames.dtype === 'float32' && frames.shape[3] === 3) return { x: frames, owned: false };
    return { x: tf.tidy(() => rgbFloat(frames)), owned: true };
  }
  if (!Array.isArray(frames) || frames.length === 0) throw new PPTSNError('video-too-short', 'No frames to preprocess.');
  const { width, height, channels } = frames[0]!;
  const frameBytes = width * height * channels;
  if (!(width > 0 && height > 0) || (channels !== 3 && channels !== 4)) {
    throw new PPTSNError('invalid-argument', `Bad frame: ${width}×${height}×${channels}.`);
  }
  const pixels = width * height;
  const all = new Float32Array(pixels * 3 * frames.length);
  frames.forEach((f, i) => {
    if (f.width !== width || f.height !== height || f.channels !== channels || f.data.length !== frameBytes) {
      throw new PPTSNError('invalid-argument', `All frames must have the same size: frame ${i} is ${f.width}×${f.height}×${f.channels} (${f.data.length} bytes), frame 0 ${width}×${height}×${channels}.`);
    }
    const d = f.data;
    let o = i * pixels * 3;
    if (channels === 3) {
      for (let k = 0; k < frameBytes; k++) all[o++] = d[k]!;
    } else {
      for (let k = 0; k < frameBytes; k += 4) {
        all[o] = d[k]!;
        all[o + 1] = d[k + 1]!;
        all[o + 2] = d[k + 2]!;
        o += 3;
      }
    }
  });
  return { x: tf.tensor4d(all, [frames.length, height, width, 3], 'float32'), owned: true };
}

/**
 * The cpu backend runs strided slices and transposes as per-element loops (seconds for a clip) while its matMul is
 * blocked, so on cpu channel selection and NHWC→NCHW are done as exact 0/1 matMuls. GPU backends keep the plain
 * ops (their matMul may run at reduced precision on some devices; slice/transpose are cheap there).
 */
function onCpu(): boolean {
  return tf.getBackend() === 'cpu';
}

/** Where a 0/1 matMul is exact and cheaper than a strided slice: cpu, and wasm (XNNPACK float32 GEMM). */
function exactMatMul(): boolean {
  return onCpu() || tf.getBackend() === 'wasm';
}

/** [T,H,W,3|4] any dtype → float32 RGB [T,H,W,3] (alpha dropped). */
function rgbFloat(x: tf.Tensor4D): tf.Tensor4D {
  const f = tf.cast(x, 'float32') as tf.Tensor4D;
  if (x.shape[3] === 3) return f;
  if (!exactMatMul()) return tf.slice(f, [0, 0, 0, 0], [-1, -1, -1, 3]);
  const [T, H, W] = x.shape;
  const pick = tf.tensor2d([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0], [4, 3]);
  return tf.reshape(tf.matMul(tf.reshape(f, [T * H * W, 4]), pick), [T, H, W, 3]);
}

/**
 * cv2.resize(INTER_LINEAR) of uint8 images: bilinear with half-pixel centres, no antialias, result rounded to
 * uint8 (`roundLikeCv2`, which the caller may apply after cropping: crops are exact copies, so it commutes). Null
 * when the size already matches (PaddleVideo keeps such frames as is, so there is nothing to round either).
 */
function resizeUnrounded(x: tf.Tensor4D, size: Size): tf.Tensor4D | null {
  if (x.shape[1] === size.height && x.shape[2] === size.width) return null;
  return tf.image.resizeBilinear(x, [size.height, size.width], false, true);
}

/**
 * cv2's fixed-point INTER_LINEAR adds half then shifts: round half up, hence floor(x + 0.5), not tf.round (half
 * to even). Exact ties are frequent with rational scale factors (e.g. 6/7), and float32 coordinates land them a
 * hair below .5, so a small epsilon (far below cv2's own 1/2048 coefficient quantisation) keeps them rounding up.
 * No clip to 0–255: bilinear output is a convex combination of 0–255 inputs, so floor(r + 0.501) stays in range.
 */
function roundLikeCv2(r: tf.Tensor4D): tf.Tensor4D {
  return tf.floor(tf.add(r, 0.5 + 1e-3));
}

/** cv2.resize(INTER_LINEAR) of uint8 images, rounded; the input itself when the size already matches. */
function resizeLikeCv2(x: tf.Tensor4D, size: Size): tf.Tensor4D {
  const r = resizeUnrounded(x, size);
  return r ? roundLikeCv2(r) : x;
}

/**
 * Normalization fused: (x/255 − mean)/std = x·(1/(255·std)) − mean/std, per RGB channel. On wasm as one 1×1
 * convolution with a diagonal filter and the shift as bias: tfjs-wasm's broadcasting Mul/Sub by a [3] vector take a
 * generic per-element index path (~25 ms for 8 crops) while XNNPACK runs this in ~4 ms, and it is bit-identical
 * (each output is bias + x·scale + 0 + 0: the same two roundings as mul then sub, WASM SIMD has no FMA).
 */
function normalise(x: tf.Tensor4D): tf.Tensor4D {
  const scales = [0, 1, 2].map((c) => 1 / (255 * STD[c]!));
  const shifts = [0, 1, 2].map((c) => MEAN[c]! / STD[c]!);
  if (tf.getBackend() === 'wasm') {
    const filter = tf.tensor4d([scales[0]!, 0, 0, 0, scales[1]!, 0, 0, 0, scales[2]!], [1, 1, 3, 3]);
    return tf.fused.conv2d({ x, filter, strides: 1, pad: 'valid', bias: tf.tensor1d(shifts.map((v) => -v)) });
  }
  return tf.sub(tf.mul(x, tf.tensor1d(scales)), tf.tensor1d(shifts));
}

/**
 * Cuts `boxes` (each applied to every one of the T frames); unflipped integer boxes off the cpu backend as row
 * slices (below), otherwise as one `cropAndResize` with method `nearest` and a
 * crop size equal to the box size, so every output pixel is a copy of one input pixel: exact crops, and a flip is
 * just a box with x1 > x2. Output image n = box ⌊n/T⌋ of frame n mod T (PaddleVideo's order). One op instead of
 * slices + reverse + concat, which on the cpu backend are per-element loops. Sample positions are pulled 0.01 px
 * inside the box so float32 box coordinates can neither round to a neighbour nor fall outside the image (which
 * would give the extrapolation value).
 */
function cropAll(x: tf.Tensor4D, boxes: readonly CropBox[], outH: number, outW: number): tf.Tensor4D {
  const [T, H, W, C] = x.shape;
  for (const b of boxes) {
    if (b.width !== outW || b.height !== outH) throw new PPTSNError('internal', `Crop ${b.width}×${b.height} is not ${outW}×${outH}.`);
  }
  const plain = boxes.every((b) => !b.flip && Number.isInteger(b.x) && Number.isInteger(b.y) && b.x >= 0 && b.y >= 0 && b.x + outW <= W && b.y + outH <= H);
  if (plain && !onCpu()) {
    // Unflipped integer boxes (CenterCrop, three-crop) off the cpu backend: a slice of [T, H, W·C] rows copies
    // whole runs of outW·C values (the rank-4 slice would copy C values at a time), still an exact copy.
    const rows = tf.reshape(x, [T, H, W * C]);
    const parts = boxes.map((b) => tf.slice(rows, [0, b.y, b.x * C], [T, outH, outW * C]));
    return tf.reshape(parts.length === 1 ? parts[0]! : tf.concat(parts, 0), [T * boxes.length, outH, outW, C]);
  }
  const coords: number[] = [];
  const frameOf: number[] = [];
  const e = 0.01;
  for (const b of boxes) {
    const y1 = (b.y + e) / Math.max(1, H - 1);
    const y2 = (b.y + b.height - 1 - e) / Math.max(1, H - 1);
    const left = (b.x + e) / Math.max(1, W - 1);
    const right = (b.x + b.width - 1 - e) / Math.max(1, W - 1);
    for (let t = 0; t < T; t++) {
      coords.push(y1, b.flip ? right : left, y2, b.flip ? left : right);
      frameOf.push(t);
    }
  }
  const boxT = tf.tensor2d(coords, [frameOf.length, 4], 'float32');
  const indT = tf.tensor1d(frameOf, 'int32');
  return tf.image.cropAndResize(x, boxT, indT, [outH, outW], 'nearest');
}

/**
 * PaddleVideo's test/valid transforms (Scale → CenterCrop | three-crop | TenCrop → Normalization) on the sampled
 * frames. The frame count T is taken from the input (sample with `sampleIndices` and `config.segments` first).
 * `config` is resolved (presets.ts `resolvePreprocessOptions`, at the call's entry point, or a `PRESETS` entry) and
 * used as it is. Leak-free: only `result.input` survives.
 */
export function preprocessFrames(frames: FramesInput, config: PreprocessConfig): PreprocessedClip {
  return onFrames(frames, { shortSize: config.shortSize, mode: config.scale, doRound: config.doRound }, (raw, T, sourceSize, scaledSize) => {
    const crops = cropBoxesFor(config, scaledSize);
    const input = tf.tidy(() => {
      // Rounding and the affine normalisation are per element, so they commute with crops and flips (exact
      // copies): run them on whichever is smaller, the crops (one center crop: 0.57× the scaled frame) or the
      // scaled frames (TenCrop holds 10 crops of each). Same values either way.
      const resized = resizeUnrounded(raw, scaledSize);
      const pixelwise = (t: tf.Tensor4D) => normalise(resized ? roundLikeCv2(t) : t);
      if (crops.length * config.cropSize * config.cropSize < scaledSize.width * scaledSize.height) {
        return pixelwise(cropAll(resized ?? raw, crops, config.cropSize, config.cropSize));
      }
      return cropAll(pixelwise(resized ?? raw), crops, config.cropSize, config.cropSize);
    });
    return { input, segments: T, cropsPerFrame: crops.length, crops, sourceSize, scaledSize };
  });
}

/**
 * The training variant (PP-TSN train pipeline after the train sampler): keep-ratio Scale(256, do_round) →
 * MultiScaleCrop(224, PaddleVideo's candidates, one box per clip) resized with bilinear → RandomFlip(p) →
 * Normalization. Output [T, 224, 224, 3]; `crops` holds the one box (with its `flip`). RNG draws: pair, corner, flip.
 */
export function preprocessTrainFrames(
  frames: FramesInput,
  rng: Rng,
  options: Partial<Omit<TrainPreprocessConfig, 'multiScaleCrop'>> & { multiScaleCrop?: TrainPreprocessConfig['multiScaleCrop'] | Partial<TrainPreprocessConfig['multiScaleCrop']> } = {},
): PreprocessedClip {
  const config = resolveTrainPreprocessOptions(options);
  return onFrames(frames, { shortSize: config.shortSize, mode: 'keep-ratio', doRound: config.doRound }, (raw, T, sourceSize, scaledSize) => {
    const box = multiScaleCropBox(scaledSize, rng, config.multiScaleCrop);
    box.flip = randomFlip(rng, config.flipProbability);
    const target = config.multiScaleCrop.target;
    const input = tf.tidy(() => {
      const scaled = resizeLikeCv2(raw, scaledSize);
      const cut = cropAll(scaled, [{ ...box, flip: false }], box.height, box.width);
      const sized = resizeLikeCv2(cut, { width: target, height: target });
      // PaddleVideo flips after the resize; a full-image nearest crop with swapped x mirrors exactly.
      const flipped = box.flip ? cropAll(sized, [{ x: 0, y: 0, width: target, height: target, flip: true }], target, target) : sized;
      return normalise(flipped);
    });
    return { input, segments: T, cropsPerFrame: 1, crops: [box], sourceSize, scaledSize };
  });
}

/**
 * Runs `build` on the frames as one [T, H, W, C] tensor with their size before and after PaddleVideo's Scale, and
 * frees that tensor afterwards when it was made here (the caller's tensor is left alone).
 */
function onFrames(frames: FramesInput, scale: Parameters<typeof scaleSize>[1], build: (raw: tf.Tensor4D, T: number, sourceSize: Size, scaledSize: Size) => PreprocessedClip): PreprocessedClip {
  const { x: raw, owned } = toTensor(frames);
  try {
    const [T, H, W] = raw.shape;
    const sourceSize = { width: W, height: H };
    return build(raw, T, sourceSize, scaleSize(sourceSize, scale));
  } finally {
    if (owned) raw.dispose();
  }
}

/**
 * NHWC [T·C, H, W, 3] → PaddleVideo's layout [N, T·C, 3, H, W] (NCHW per image), for diffing against
 * PaddleVideo or writing `--dump-input`. `batch` N splits the first axis (default 1). Returns a new tensor.
 */
export function toPaddleLayout(input: tf.Tensor4D, batch = 1): tf.Tensor5D {
  const [n, h, w, c] = input.shape;
  if (n % batch !== 0) throw new PPTSNError('invalid-argument', `Cannot split ${n} images into a batch of ${batch}.`);
  return tf.tidy(() => {
    const nchw = onCpu()
      ? tf.matMul(tf.reshape(tf.eye(c), [1, c, c]), tf.reshape(input, [n, h * w, c]), false, true) // [n, c, h·w]
      : tf.transpose(input, [0, 3, 1, 2]);
    return tf.reshape(nchw, [batch, n / batch, c, h, w]) as tf.Tensor5D;
  });
}

/** The inverse of `toPaddleLayout`: [N, T·C, 3, H, W] → NHWC [N·T·C, H, W, 3] (e.g. for a `--tensor` .npy). */
export function fromPaddleLayout(input: tf.Tensor5D): tf.Tensor4D {
  const [n, tc, c, h, w] = input.shape;
  return tf.tidy(() => {
    if (!onCpu()) return tf.transpose(tf.reshape(input, [n * tc, c, h, w]), [0, 2, 3, 1]) as tf.Tensor4D;
    const nhwc = tf.matMul(tf.reshape(input, [n * tc, c, h * w]), tf.reshape(tf.eye(c), [1, c, c]), true, false); // [n·tc, h·w, c]
    return tf.reshape(nhwc, [n * tc, h, w, c]) as tf.Tensor4D;
  });
}
