/**
 * Preprocessing: crop geometry against PaddleVideo's formulas, the tfjs pipeline against an independent plain-JS
 * computation (cv2-style bilinear, crops, flips, normalisation), presets, leaks, the .npy codec, and parity of
 * example.mp4 with test/helpers/paddle_reference.py (PaddleVideo's pipeline in numpy + OpenCV) for both presets.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  scaleSize, centerCropBox, tenCropBoxes, threeCropBoxes, multiScaleCropPairs, multiScaleCropOffsets, multiScaleCropBox,
  pillowCropBox, pyRound, randomFlip, type CropBox, type Size,
} from '../../src/core/preprocess/transforms.js';
import { preprocessFrames, preprocessTrainFrames, toPaddleLayout, fromPaddleLayout, cropToSource, type FramePixels } from '../../src/core/preprocess/pipeline.js';
import { resolvePreprocessOptions, PRESETS, resolveTrainPreprocessOptions } from '../../src/core/preprocess/presets.js';
import type { Rng } from '../../src/core/random.js';
import { encodeNpy, decodeNpy } from '../../src/core/npy.js';
import { isPPTSNError } from '../../src/core/errors.js';
import { readClip } from '../../src/node/frames.js';
import { maxAbsDiff } from '../helpers/numerics.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const EXAMPLE = join(HERE, '../fixtures/media/example.mp4');
const REFERENCE = join(HERE, '../helpers/paddle_reference.py');
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

before(async () => {
  await tf.setBackend('cpu');
});

function scripted(values: number[]): Rng {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error('scripted RNG exhausted');
    return values[i++]!;
  };
}

// ---------------------------------------------------------------- geometry

test('Scale sizes: fixed-ratio, keep-ratio with/without do_round, short side already 256', () => {
  assert.deepEqual(scaleSize({ width: 320, height: 240 }, { mode: 'fixed-ratio' }), { width: 341, height: 256 });
  assert.deepEqual(scaleSize({ width: 64, height: 112 }, { mode: 'fixed-ratio' }), { width: 256, height: 341 });
  assert.deepEqual(scaleSize({ width: 1920, height: 1080 }, { mode: 'fixed-ratio' }), { width: 341, height: 256 });
  assert.deepEqual(scaleSize({ width: 320, height: 240 }, { mode: 'keep-ratio', doRound: true }), { width: 341, height: 256 });
  // 1920x1080: 1920*256/1080 = 455.11 → 455; 97x61: 97*256/61 = 407.08+0.5 → 407; portrait 64x112: 448.
  assert.deepEqual(scaleSize({ width: 1920, height: 1080 }, { mode: 'keep-ratio', doRound: true }), { width: 455, height: 256 });
  assert.deepEqual(scaleSize({ width: 97, height: 61 }, { mode: 'keep-ratio', doRound: true }), { width: 407, height: 256 });
  assert.deepEqual(scaleSize({ width: 64, height: 112 }, { mode: 'keep-ratio', doRound: true }), { width: 256, height: 448 });
  // do_round matters: 250x171 → 374.27 (both 374); 171*256/... pick one where it differs: 100x70 → 365.71 → 366 vs 365.
  assert.deepEqual(scaleSize({ width: 100, height: 70 }, { mode: 'keep-ratio', doRound: true }), { width: 366, height: 256 });
  assert.deepEqual(scaleSize({ width: 100, height: 70 }, { mode: 'keep-ratio', doRound: false }), { width: 365, height: 256 });
  // Kept as is when the short side is already 256, even with fixed_ratio.
  assert.deepEqual(scaleSize({ width: 456, height: 256 }, { mode: 'fixed-ratio' }), { width: 456, height: 256 });
  assert.deepEqual(scaleSize({ width: 256, height: 256 }, { mode: 'fixed-ratio' }), { width: 256, height: 256 });
  // Square, not 256: w <= h branch → portrait-style 256x341 with fixed ratio.
  assert.deepEqual(scaleSize({ width: 300, height: 300 }, { mode: 'fixed-ratio' }), { width: 256, height: 341 });
});

test('CenterCrop (do_round False and True) and Python rounding', () => {
  assert.deepEqual(centerCropBox({ width: 341, height: 256 }), { x: 58, y: 16, width: 224, height: 224, flip: false });
  assert.equal(pyRound(58.5), 58);
  assert.equal(pyRound(59.5), 60);
  assert.equal(pyRound(2.25), 2);
  assert.deepEqual(centerCropBox({ width: 341, height: 256 }, 224, true), { x: 58, y: 16, width: 224, height: 224, flip: false });
  assert.deepEqual(centerCropBox({ width: 343, height: 256 }, 224, true), { x: 60, y: 16, width: 224, height: 224, flip: false });
  assert.throws(() => centerCropBox({ width: 200, height: 256 }), (e) => isPPTSNError(e) && e.code === 'invalid-argument');
});

test('TenCrop offsets: (0,0) (4w,0) (0,4h) (4w,4h) (2w,2h), each plain then flipped', () => {
  // 341x256: w_step = 117//4 = 29, h_step = 32//4 = 8.
  const b = tenCropBoxes({ width: 341, height: 256 });
  assert.equal(b.length, 10);
  const xy = b.map((c) => [c.x, c.y, c.flip]);
  assert.deepEqual(xy, [
    [0, 0, false], [0, 0, true], [116, 0, false], [116, 0, true], [0, 32, false], [0, 32, true],
    [116, 32, false], [116, 32, true], [58, 16, false], [58, 16, true],
  ]);
  // Portrait 256x341.
  const p = tenCropBoxes({ width: 256, height: 341 });
  assert.deepEqual(p.filter((c) => !c.flip).map((c) => [c.x, c.y]), [[0, 0], [32, 0], [0, 116], [32, 116], [16, 58]]);
});

test('ThreeCrop (GroupFullResSample): left, right, centre at 2*h_step', () => {
  assert.deepEqual(threeCropBoxes({ width: 341, height: 256 }).map((c) => [c.x, c.y, c.flip]), [[0, 16, false], [116, 16, false], [58, 16, false]]);
  assert.deepEqual(threeCropBoxes({ width: 256, height: 341 }).map((c) => [c.x, c.y]), [[0, 58], [32, 58], [16, 58]]);
});

test('MultiScaleCrop candidates: 10 size pairs, 13 float offsets, Pillow rounding', () => {
  const size = { width: 341, height: 256 };
  assert.deepEqual(multiScaleCropPairs(size), [
    [256, 256], [224, 256], [256, 224], [224, 224], [192, 224], [224, 192], [192, 192], [168, 192], [192, 168], [168, 168],
  ]);
  // Snap to 224 within 3 pixels: base 258 → 258, 225 (→ 224), 193, 170; base 250 → 218 is 6 away, kept.
  assert.deepEqual(multiScaleCropPairs({ width: 300, height: 258 }).slice(0, 4), [[258, 258], [224, 258], [258, 224], [224, 224]]);
  assert.deepEqual(multiScaleCropPairs({ width: 300, height: 250 }).slice(0, 4), [[250, 250], [218, 250], [250, 218], [218, 218]]);
  // max_distort 0: only squares.
  assert.deepEqual(multiScaleCropPairs(size, { maxDistort: 0 }), [[256, 256], [224, 224], [192, 192], [168, 168]]);
  const off = multiScaleCropOffsets(size, 192, 224); // w_step = 149/4 = 37.25, h_step = 8
  assert.equal(off.length, 13);
  assert.deepEqual(off, [
    [0, 0], [149, 0], [0, 32], [149, 32], [74.5, 16],
    [0, 16], [149, 16], [74.5, 32], [74.5, 0],
    [37.25, 8], [111.75, 8], [37.25, 24], [111.75, 24],
  ]);
  // Without allow_duplication a zero step removes duplicates: 256x256 crop of a 341x256 frame has h_step 0.
  const noDup = multiScaleCropOffsets(size, 256, 256, { allowDuplication: false, moreFixCrop: false });
  assert.deepEqual(noDup, [[0, 0], [85, 0], [42.5, 0]]);
  assert.equal(multiScaleCropOffsets(size, 256, 256).length, 13);
  // Pillow's crop rounds each coordinate half to even: x0 = 74.5 → 74, x1 = 74.5 + 193 = 267.5 → 268: width 194.
  assert.deepEqual(pillowCropBox(74.5, 16, 193, 224), { x: 74, y: 16, width: 194, height: 224 });
  assert.deepEqual(pillowCropBox(74.5, 16, 192, 224), { x: 74, y: 16, width: 192, height: 224 });
  // A scripted draw: pair index 4 (192x224) = floor(0.45*10), offset index 4 (centre 74.5,16) = floor(0.35*13).
  assert.deepEqual(multiScaleCropBox(size, scripted([0.45, 0.35])), { x: 74, y: 16, width: 192, height: 224, flip: false });
  // Without fix_crop: randint(0, W - cw) inclusive.
  assert.deepEqual(multiScaleCropBox(size, scripted([0.999, 0.9999, 0.9999]), { fixCrop: false }), { x: 341 - 168, y: 256 - 168, width: 168, height: 168, flip: false });
  assert.equal(randomFlip(() => 0.49), true);
  assert.equal(randomFlip(() => 0.5), false);
});

test('presets and resolvePreprocessOptions', () => {
  assert.deepEqual(resolvePreprocessOptions('accurate'), PRESETS.accurate);
  assert.deepEqual(resolvePreprocessOptions(undefined), PRESETS.accurate);
  const fast = resolvePreprocessOptions('fast');
  assert.equal(fast.segments, 8);
  assert.equal(fast.crops, 'center');
  assert.equal(fast.scale, 'keep-ratio');
  assert.equal(fast.doRound, true);
  assert.equal(fast.cropsPerFrame, 1);
  const f3 = resolvePreprocessOptions({ preset: 'fast', segments: 3 });
  assert.equal(f3.segments, 3);
  assert.equal(f3.preset, 'custom');
  const c = resolvePreprocessOptions({ segments: 16, crops: 'three', scale: 'keep-ratio' });
  assert.deepEqual([c.segments, c.crops, c.cropsPerFrame, c.scale, c.doRound, c.preset], [16, 'three', 3, 'keep-ratio', true, 'custom']);
  assert.equal(resolvePreprocessOptions({ preset: 'fast', segments: 8 }).preset, 'fast');
  assert.deepEqual(resolvePreprocessOptions(resolvePreprocessOptions('fast')), PRESETS.fast);
  for (const bad of ['slow', { segments: 0 }, { segments: 1.5 }, { crops: 'five' }, { scale: 'stretch' }, { sampling: 'train' }]) {
    assert.throws(() => resolvePreprocessOptions(bad as never), (e) => isPPTSNError(e) && e.code === 'invalid-argument', JSON.stringify(bad));
  }
  assert.equal(resolveTrainPreprocessOptions().segments, 3);
  assert.equal(resolveTrainPreprocessOptions().multiScaleCrop.allowDuplication, true);
});

// ---------------------------------------------------------------- pipeline vs an independent computation

/** Deterministic synthetic RGB(A) frames with per-frame content. */
function synthFrames(T: number, width: number, height: number, channels: 3 | 4): FramePixels[] {
  const out: FramePixels[] = [];
  for (let t = 0; t < T; t++) {
    const data = new Uint8Array(width * height * channels);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * channels;
        data[o] = (x * 7 + y * 3 + t * 40) & 255;
        data[o + 1] = (x * x + y * 11 + t * 13) & 255;
        data[o + 2] = ((x ^ y) * 5 + t * 29) & 255;
        if (channels === 4) data[o + 3] = 255;
      }
    }
    out.push({ width, height, channels, data });
  }
  return out;
}

/** cv2.resize(INTER_LINEAR) in plain JS (half-pixel centres, clamped borders), rounded to uint8. HWC RGB. */
function resizeRef(src: Float64Array, w: number, h: number, ow: number, oh: number): Float64Array {
  if (w === ow && h === oh) return src;
  const out = new Float64Array(ow * oh * 3);
  const sx = w / ow;
  const sy = h / oh;
  const coord = (d: number, s: number, n: number): [number, number, number] => {
    let f = (d + 0.5) * s - 0.5;
    let i = Math.floor(f);
    f -= i;
    if (i < 0) { i = 0; f = 0; }
    if (i >= n - 1) { i = n - 1; f = 0; }
    return [i, Math.min(i + 1, n - 1), f];
  };
  for (let y = 0; y < oh; y++) {
    const [y0, y1, fy] = coord(y, sy, h);
    for (let x = 0; x < ow; x++) {
      const [x0, x1, fx] = coord(x, sx, w);
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => src[(yy * w + xx) * 3 + c]!;
        const v = (1 - fy) * ((1 - fx) * p(y0, x0) + fx * p(y0, x1)) + fy * ((1 - fx) * p(y1, x0) + fx * p(y1, x1));
        // Round half up like cv2's fixed point; the small epsilon makes exact ties robust to float error.
        out[(y * ow + x) * 3 + c] = Math.min(255, Math.max(0, Math.floor(v + 0.5 + 1e-3)));
      }
    }
  }
  return out;
}

function toRgb(f: FramePixels): Float64Array {
  const out = new Float64Array(f.width * f.height * 3);
  for (let i = 0; i < f.width * f.height; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = f.data[i * f.channels + c]!;
  return out;
}

/** Crop (+flip) and normalise one image in plain JS: returns [size*size*3] NHWC values. */
function cropRef(img: Float64Array, w: number, box: CropBox, outSize: number): Float64Array {
  const out = new Float64Array(outSize * outSize * 3);
  for (let y = 0; y < outSize; y++) {
    for (let x = 0; x < outSize; x++) {
      const sx = box.flip ? box.x + outSize - 1 - x : box.x + x;
      for (let c = 0; c < 3; c++) {
        out[(y * outSize + x) * 3 + c] = (img[((box.y + y) * w + sx) * 3 + c]! / 255 - MEAN[c]!) / STD[c]!;
      }
    }
  }
  return out;
}

/** Independent reference of the test/valid pipeline: [T·C][224·224·3], image order c·T + t. */
function pipelineRef(frames: FramePixels[], scaled: Size, boxes: CropBox[]): Float64Array[] {
  const resized = frames.map((f) => resizeRef(toRgb(f), f.width, f.height, scaled.width, scaled.height));
  const out: Float64Array[] = [];
  for (const b of boxes) for (const img of resized) out.push(cropRef(img, scaled.width, b, 224));
  return out;
}

function compare(actual: Float32Array, expected: Float64Array[], label: string): { mean: number; max: number } {
  const per = expected[0]!.length;
  assert.equal(actual.length, per * expected.length, `${label}: size`);
  let sum = 0;
  let max = 0;
  for (let n = 0; n < expected.length; n++) {
    const e = expected[n]!;
    for (let i = 0; i < per; i++) {
      const d = Math.abs(actual[n * per + i]! - e[i]!);
      sum += d;
      if (d > max) max = d;
    }
  }
  return { mean: sum / actual.length, max };
}

const ONE_LEVEL = 1 / 255 / 0.224 + 1e-5; // one uint8 step in normalised units (largest for the smallest std)

test('pipeline = independent JS computation: accurate (TenCrop) on 3 RGBA frames 200x150 (upscale)', () => {
  const frames = synthFrames(3, 200, 150, 4);
  const before = tf.memory().numTensors;
  const r = preprocessFrames(frames, PRESETS.accurate);
  assert.deepEqual(r.input.shape, [30, 224, 224, 3]);
  assert.deepEqual(r.scaledSize, { width: 341, height: 256 });
  assert.equal(r.cropsPerFrame, 10);
  const ref = pipelineRef(frames, r.scaledSize, r.crops);
  const { mean, max } = compare(r.input.dataSync() as Float32Array, ref, 'accurate');
  // Both round the bilinear result to uint8; only exact .5 ties (float error) may differ by one level.
  assert.ok(max <= ONE_LEVEL, `max ${max}`);
  assert.ok(mean < 1e-3, `mean ${mean}`);
  r.input.dispose();
  assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
});

test('pipeline = independent JS computation: fast, three-crop, portrait and no-resize inputs', () => {
  const cases: [FramePixels[], Parameters<typeof preprocessFrames>[1]][] = [
    [synthFrames(2, 300, 180, 3), PRESETS.fast], // downscale to 427x256, CenterCrop
    [synthFrames(2, 64, 112, 3), resolvePreprocessOptions({ segments: 2, crops: 'three', scale: 'keep-ratio' })], // portrait 256x448
    [synthFrames(2, 97, 61, 4), resolvePreprocessOptions({ crops: 'ten', scale: 'keep-ratio' })], // odd size → 407x256
  ];
  for (const [frames, opts] of cases) {
    const r = preprocessFrames(frames, opts);
    const ref = pipelineRef(frames, r.scaledSize, r.crops);
    const { mean, max } = compare(r.input.dataSync() as Float32Array, ref, JSON.stringify(opts));
    assert.ok(max <= ONE_LEVEL, `${JSON.stringify(opts)}: max ${max}`);
    assert.ok(mean < 1e-3, `${JSON.stringify(opts)}: mean ${mean}`);
    r.input.dispose();
  }
  // Short side already 256: no resize, exact up to float rounding.
  const frames = synthFrames(2, 300, 256, 3);
  const r = preprocessFrames(frames, PRESETS.accurate);
  assert.deepEqual(r.scaledSize, { width: 300, height: 256 });
  const { max } = compare(r.input.dataSync() as Float32Array, pipelineRef(frames, r.scaledSize, r.crops), 'no-resize');
  assert.ok(max < 1e-5, `max ${max}`);
  r.input.dispose();
});

test('pipeline: tensor input (int32 and float32, RGBA) equals FramePixels input; image order is c·T + t', () => {
  const frames = synthFrames(2, 120, 90, 4);
  const a = preprocessFrames(frames, PRESETS.accurate);
  const stacked = new Int32Array(2 * 120 * 90 * 4);
  frames.forEach((f, i) => stacked.set(f.data, i * f.data.length));
  const ti = tf.tensor4d(stacked, [2, 90, 120, 4], 'int32');
  const tf32 = tf.cast(ti, 'float32') as tf.Tensor4D;
  const b = preprocessFrames(ti, PRESETS.accurate);
  const c = preprocessFrames(tf32, PRESETS.accurate);
  assert.equal(maxAbsDiff(b.input.dataSync(), a.input.dataSync()), 0);
  assert.equal(maxAbsDiff(c.input.dataSync(), a.input.dataSync()), 0);
  assert.ok(!ti.isDisposed && !tf32.isDisposed, 'caller tensors are not disposed');
  // Image n = crop floor(n/T) of frame n mod T: image 1 (crop 0, frame 1) vs a single-frame run of frame 1.
  const single = preprocessFrames([frames[1]!], PRESETS.accurate);
  const per = 224 * 224 * 3;
  const all = a.input.dataSync();
  const one = single.input.dataSync();
  for (const [n, c1] of [[1, 0], [2 + 1, 1], [9 * 2 + 1, 9]] as const) {
    assert.equal(maxAbsDiff(all.subarray(n * per, (n + 1) * per), one.subarray(c1 * per, (c1 + 1) * per)), 0, `image ${n}`);
  }
  // Flipped crop = mirrored plain crop (images 0 and 2 of T = 2 are crop 0 and crop 1 of frame 0).
  const row = (n: number, x: number) => Array.from(all.subarray(n * per + x * 3, n * per + x * 3 + 3));
  for (const x of [0, 17, 223]) assert.deepEqual(row(2, x), row(0, 223 - x));
  for (const t of [a, b, c, single]) t.input.dispose();
  ti.dispose();
  tf32.dispose();
});

test('toPaddleLayout / fromPaddleLayout and crop boxes in source coordinates', () => {
  const r = preprocessFrames(synthFrames(2, 320, 240, 3), PRESETS.fast);
  const before = tf.memory().numTensors;
  const p = toPaddleLayout(r.input);
  assert.deepEqual(p.shape, [1, 2, 3, 224, 224]);
  const nhwc = r.input.arraySync() as number[][][][];
  const nchw = p.arraySync() as number[][][][][];
  assert.equal(nchw[0]![1]![2]![10]![20], nhwc[1]![10]![20]![2]);
  const back = fromPaddleLayout(p);
  assert.equal(maxAbsDiff(back.dataSync(), r.input.dataSync()), 0);
  p.dispose();
  back.dispose();
  assert.equal(tf.memory().numTensors, before);
  const src = cropToSource(r.crops[0]!, r.sourceSize, r.scaledSize);
  assert.ok(Math.abs(src.x - (58 * 320) / 341) < 1e-9 && Math.abs(src.width - (224 * 320) / 341) < 1e-9 && Math.abs(src.height - (224 * 240) / 256) < 1e-9, JSON.stringify(src));
  r.input.dispose();
  assert.throws(() => preprocessFrames([], PRESETS.fast), (e) => isPPTSNError(e) && e.code === 'video-too-short');
  const mixed = [...synthFrames(1, 320, 240, 3), ...synthFrames(1, 300, 240, 3)];
  assert.throws(() => preprocessFrames(mixed, PRESETS.fast), (e) => isPPTSNError(e) && e.code === 'invalid-argument');
});

test('train variant: MultiScaleCrop + RandomFlip vs the independent computation, no leaks', () => {
  const frames = synthFrames(3, 320, 240, 3);
  const before = tf.memory().numTensors;
  // pair 4 (192x224), offset 4 (centre: 74.5 → 74), flip (0.1 < 0.5).
  const r = preprocessTrainFrames(frames, scripted([0.45, 0.35, 0.1]));
  assert.deepEqual(r.crops, [{ x: 74, y: 16, width: 192, height: 224, flip: true }]);
  assert.deepEqual(r.input.shape, [3, 224, 224, 3]);
  const scaled = frames.map((f) => resizeRef(toRgb(f), 320, 240, 341, 256));
  const ref = scaled.map((img) => {
    // cut, resize to 224 (rounded), flip, normalise
    const b = r.crops[0]!;
    const cut = new Float64Array(b.width * b.height * 3);
    for (let y = 0; y < b.height; y++) for (let x = 0; x < b.width; x++) for (let c = 0; c < 3; c++) cut[(y * b.width + x) * 3 + c] = img[((b.y + y) * 341 + b.x + x) * 3 + c]!;
    const sized = resizeRef(cut, b.width, b.height, 224, 224);
    return cropRef(sized, 224, { x: 0, y: 0, width: 224, height: 224, flip: true }, 224);
  });
  const { mean, max } = compare(r.input.dataSync() as Float32Array, ref, 'train');
  assert.ok(max <= ONE_LEVEL && mean < 2e-3, `max ${max} mean ${mean}`);
  r.input.dispose();
  // Pair 3 (224x224) needs no second resize; no flip.
  const r2 = preprocessTrainFrames(frames, scripted([0.35, 0, 0.9]));
  assert.deepEqual(r2.crops, [{ x: 0, y: 0, width: 224, height: 224, flip: false }]);
  r2.input.dispose();
  assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
});

// ---------------------------------------------------------------- .npy

test('npy: round trip, header alignment, refusals', () => {
  const data = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
  const bytes = encodeNpy(data, [2, 3, 4]);
  const headerLen = bytes[8]! | (bytes[9]! << 8);
  assert.equal((10 + headerLen) % 64, 0);
  const back = decodeNpy(bytes);
  assert.deepEqual(back.shape, [2, 3, 4]);
  assert.deepEqual(Array.from(back.data), Array.from(data));
  assert.deepEqual(decodeNpy(encodeNpy(new Float32Array([1]), [1])).shape, [1]);
  assert.deepEqual(decodeNpy(encodeNpy(new Float32Array([7]), [])).shape, []);
  assert.throws(() => decodeNpy(new Uint8Array([1, 2, 3])), (e) => isPPTSNError(e));
  assert.throws(() => decodeNpy(bytes.subarray(0, bytes.length - 4)), (e) => isPPTSNError(e) && /truncated/.test(e.message));
  assert.throws(() => encodeNpy(data, [5]), (e) => isPPTSNError(e));
});

// ---------------------------------------------------------------- parity with PaddleVideo's pipeline

/** The python that has numpy and cv2: $PPTSN_PYTHON, /usr/bin/python3 (Debian's python3-opencv), python3. */
function findReferencePython(): string {
  const candidates = [process.env['PPTSN_PYTHON'], '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import numpy, cv2'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  throw new Error(
    `No Python with numpy and OpenCV for the PaddleVideo parity reference (tried ${candidates.join(', ')}). ` +
      'Install it with `apt-get install -y python3-opencv` (it installs for /usr/bin/python3) or set PPTSN_PYTHON.',
  );
}

for (const preset of ['accurate', 'fast'] as const) {
  test(`parity with PaddleVideo's ${preset} pipeline on example.mp4 (mean ≤ 0.01, p99 ≤ 0.05)`, async () => {
    const py = findReferencePython();
    const dir = mkdtempSync(join(tmpdir(), 'pptsn-parity-'));
    try {
      const out = join(dir, `${preset}.npy`);
      const run = spawnSync(py, [REFERENCE, EXAMPLE, out, '--preset', preset], { encoding: 'utf8' });
      assert.equal(run.status, 0, `paddle_reference.py failed: ${run.stderr}`);
      const meta = JSON.parse(run.stdout.trim().split('\n').pop()!) as { indices: number[]; frame_count: number };
      const ref = decodeNpy(readFileSync(out));

      const before = tf.memory().numTensors;
      const clip = await readClip(EXAMPLE, resolvePreprocessOptions(preset));
      assert.deepEqual(clip.indices, meta.indices, 'same sampled frames');
      assert.equal(clip.info.frameCount, meta.frame_count);
      const r = preprocessFrames(clip.frames, clip.config);
      const paddle = toPaddleLayout(r.input);
      assert.deepEqual(paddle.shape, ref.shape);
      const ours = paddle.dataSync();
      r.input.dispose();
      paddle.dispose();
      assert.equal(tf.memory().numTensors, before, 'no tensor leaked');

      // Mean, max and the 99th percentile via a histogram (bins of 1e-4): sorting 37.6M values is slow.
      const BIN = 1e-4;
      const hist = new Uint32Array(10001);
      let sum = 0;
      let max = 0;
      for (let i = 0; i < ours.length; i++) {
        const d = Math.abs(ours[i]! - ref.data[i]!);
        sum += d;
        if (d > max) max = d;
        hist[Math.min(10000, Math.floor(d / BIN))]!++;
      }
      const mean = sum / ours.length;
      let acc = 0;
      let bin = 0;
      while (bin < hist.length && (acc += hist[bin]!) < 0.99 * ours.length) bin++;
      const p99 = Math.min(max, (bin + 1) * BIN); // upper edge of the bin holding the 99th percentile
      console.log(`parity ${preset}: shape [${ref.shape.join(', ')}] mean |Δ| ${mean.toExponential(3)}, p99 ${p99.toExponential(3)}, max ${max.toExponential(3)} (normalised units)`);
      assert.ok(mean <= 0.01, `mean ${mean}`);
      assert.ok(p99 <= 0.05, `p99 ${p99}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
