/**
 * The geometry of PaddleVideo's spatial transforms (paddlevideo/loader/pipelines/augmentations.py) as pure
 * functions: output sizes of `Scale`, crop boxes of `CenterCrop`, `TenCrop`, three-crop (`GroupFullResSample`),
 * `MultiScaleCrop` and the `RandomFlip` decision. The tensor work lives in pipeline.ts; keeping the arithmetic
 * here makes it testable against PaddleVideo's formulas without pixels.
 */
import { PPTSNError } from '../errors.js';
import { randint, type Rng } from '../random.js';

export interface Size {
  width: number;
  height: number;
}

/**
 * A crop in the coordinates of the scaled frame (after `Scale`): top-left corner, size, and whether the crop is
 * mirrored left-right after cutting. `width`/`height` can differ from the network size for `MultiScaleCrop`
 * (the crop is then resized to it).
 */
export interface CropBox {
  x: number;
  y: number;
  width: number;
  height: number;
  flip: boolean;
}

/** `Scale` variants: `fixed-ratio` (`fixed_ratio=True`, the inference helper) or `keep-ratio` (the configs). */
export type ScaleMode = 'fixed-ratio' | 'keep-ratio';

export interface ScaleOptions {
  /** PaddleVideo `short_size`; 256 everywhere in PP-TSN. */
  shortSize?: number;
  mode: ScaleMode;
  /** PaddleVideo `do_round` (keep-ratio only): long = int(long·s/short + 0.5) instead of int(long·s/short). */
  doRound?: boolean;
}

/** Python's `round()` on a float: round half to even (used by `int(round(x))` and Pillow's `Image.crop`). */
export function pyRound(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Output size of PaddleVideo's `Scale`. A frame whose short side already equals `shortSize` is kept as is (even
 * with `fixed_ratio`, so a 456×256 frame stays 456×256). Otherwise, with `fixed-ratio`: landscape → 341×256,
 * portrait (w ≤ h) → 256×341 (int(256·4/3)); with `keep-ratio`: short → 256, long → int(long·256/short + 0.5) when
 * `doRound`, else int(long·256/short). The expressions follow Python's evaluation order so doubles round the same.
 */
export function scaleSize(src: Size, options: ScaleOptions): Size {
  const s = options.shortSize ?? 256;
  const { width: w, height: h } = src;
  if (!(w > 0 && h > 0)) throw new PPTSNError('invalid-argument', `Frame size must be positive, got ${w}×${h}.`);
  if ((w <= h && w === s) || (h <= w && h === s)) return { width: w, height: h };
  const doRound = options.doRound ?? true;
  if (w <= h) {
    if (options.mode === 'fixed-ratio') return { width: s, height: Math.trunc((s * 4.0) / 3.0) };
    const scaleFactor = s / w;
    return doRound
      ? { width: Math.trunc(w * scaleFactor + 0.5), height: Math.trunc(h * scaleFactor + 0.5) }
      : { width: s, height: Math.trunc((h * s) / w) };
  }
  if (options.mode === 'fixed-ratio') return { width: Math.trunc((s * 4.0) / 3.0), height: s };
  const scaleFactor = s / h;
  return doRound
    ? { width: Math.trunc(w * scaleFactor + 0.5), height: Math.trunc(h * scaleFactor + 0.5) }
    : { width: Math.trunc((w * s) / h), height: s };
}

function checkFits(size: Size, target: number, what: string): void {
  if (size.width < target || size.height < target) {
    throw new PPTSNError('invalid-argument', `${what}: the scaled frame ${size.width}×${size.height} is smaller than the ${target}×${target} crop.`);
  }
}

/**
 * `CenterCrop(target, do_round)`. PP-TSN uses `do_round=False`: x = (W−t)//2, y = (H−t)//2; with `do_round` the
 * corner is int(round((W−t)/2)) (Python rounding, half to even).
 */
export function centerCropBox(size: Size, target = 224, doRound = false): CropBox {
  checkFits(size, target, 'CenterCrop');
  const x = doRound ? pyRound((size.width - target) / 2.0) : Math.floor((size.width - target) / 2);
  const y = doRound ? pyRound((size.height - target) / 2.0) : Math.floor((size.height - target) / 2);
  return { x, y, width: target, height: target, flip: false };
}

/**
 * `TenCrop(target)`: w_step = (W−t)//4, h_step = (H−t)//4; offsets (0,0), (4w,0), (0,4h), (4w,4h), (2w,2h); for
 * each offset the crop, then the same crop flipped. The returned order is PaddleVideo's image order divided by T:
 * image n of the output is crop ⌊n/T⌋ of frame n mod T (offset-major, each offset's T crops then T flipped crops).
 */
export function tenCropBoxes(size: Size, target = 224): CropBox[] {
  checkFits(size, target, 'TenCrop');
  const ws = Math.floor((size.width - target) / 4);
  const hs = Math.floor((size.height - target) / 4);
  const offsets: [number, number][] = [
    [0, 0],
    [4 * ws, 0],
    [0, 4 * hs],
    [4 * ws, 4 * hs],
    [2 * ws, 2 * hs],
  ];
  const out: CropBox[] = [];
  for (const [x, y] of offsets) {
    out.push({ x, y, width: target, height: target, flip: false });
    out.push({ x, y, width: target, height: target, flip: true });
  }
  return out;
}

/**
 * Three crops as PaddleVideo's `GroupFullResSample(crop_size, flip=False)` (its multi-crop test transform for
 * TSN/TSM): w_step = (W−t)//4, h_step = (H−t)//4; offsets left (0, 2h), right (4w, 2h), centre (2w, 2h), in that
 * order, offset-major like TenCrop. (PaddleVideo's `UniformCrop` needs one side equal to the crop, which a 256
 * scale never gives, so it is not the one used here.)
 */
export function threeCropBoxes(size: Size, target = 224): CropBox[] {
  checkFits(size, target, 'ThreeCrop');
  const ws = Math.floor((size.width - target) / 4);
  const hs = Math.floor((size.height - target) / 4);
  return [
    { x: 0, y: 2 * hs, width: target, height: target, flip: false },
    { x: 4 * ws, y: 2 * hs, width: target, height: target, flip: false },
    { x: 2 * ws, y: 2 * hs, width: target, height: target, flip: false },
  ];
}

/** `MultiScaleCrop` parameters with PaddleVideo's names; defaults are the PP-TSN train config's. */
export interface MultiScaleCropOptions {
  /** `target_size` (square). */
  target?: number;
  scales?: number[];
  maxDistort?: number;
  fixCrop?: boolean;
  allowDuplication?: boolean;
  moreFixCrop?: boolean;
}

const MSC_DEFAULTS: Required<MultiScaleCropOptions> = {
  target: 224,
  scales: [1, 0.875, 0.75, 0.66],
  maxDistort: 1,
  fixCrop: true,
  allowDuplication: true,
  moreFixCrop: true,
};

/**
 * The (width, height) crop sizes `MultiScaleCrop` chooses from, in PaddleVideo's order: base = min(W, H),
 * sizes int(base·s) (snapped to the target when within 3 pixels), then every (w_j, h_i) with |i − j| ≤ max_distort,
 * looping i (height) outside and j (width) inside. For 256 and the default scales: 10 pairs.
 */
export function multiScaleCropPairs(size: Size, options: MultiScaleCropOptions = {}): [number, number][] {
  const o = { ...MSC_DEFAULTS, ...options };
  const base = Math.min(size.width, size.height);
  const cropSizes = o.scales.map((s) => Math.trunc(base * s));
  const snap = (x: number) => (Math.abs(x - o.target) < 3 ? o.target : x);
  const cropH = cropSizes.map(snap);
  const cropW = cropSizes.map(snap);
  const pairs: [number, number][] = [];
  cropH.forEach((h, i) => {
    cropW.forEach((w, j) => {
      if (Math.abs(i - j) <= o.maxDistort) pairs.push([w, h]);
    });
  });
  return pairs;
}

/**
 * The candidate top-left corners `MultiScaleCrop` (with `fix_crop`) picks from for a crop of `cropW`×`cropH`:
 * w_step = (W − cw)/4 and h_step = (H − ch)/4 as **floats** (not //), so corners can be fractional; Pillow's
 * crop rounds them later. 5 corners (fewer without `allow_duplication` when a step is 0), plus 8 more with
 * `more_fix_crop`: 13 for the PP-TSN config.
 */
export function multiScaleCropOffsets(size: Size, cropW: number, cropH: number, options: MultiScaleCropOptions = {}): [number, number][] {
  const o = { ...MSC_DEFAULTS, ...options };
  const ws = (size.width - cropW) / 4;
  const hs = (size.height - cropH) / 4;
  const ret: [number, number][] = [[0, 0]];
  if (o.allowDuplication || ws !== 0) ret.push([4 * ws, 0]);
  if (o.allowDuplication || hs !== 0) ret.push([0, 4 * hs]);
  if (o.allowDuplication || (hs !== 0 && ws !== 0)) ret.push([4 * ws, 4 * hs]);
  if (o.allowDuplication || hs !== 0 || ws !== 0) ret.push([2 * ws, 2 * hs]);
  if (o.moreFixCrop) {
    ret.push([0, 2 * hs]); // centre left
    ret.push([4 * ws, 2 * hs]); // centre right
    ret.push([2 * ws, 4 * hs]); // lower centre
    ret.push([2 * ws, 0 * hs]); // upper centre
    ret.push([1 * ws, 1 * hs]); // upper-left quarter
    ret.push([3 * ws, 1 * hs]); // upper-right quarter
    ret.push([1 * ws, 3 * hs]); // lower-left quarter
    ret.push([3 * ws, 3 * hs]); // lower-right quarter
  }
  return ret;
}

/**
 * The pixel box Pillow's `Image.crop((x0, y0, x0 + w, y0 + h))` actually cuts: each of the four coordinates is
 * rounded on its own with Python's `round` (half to even), so a .5 corner with an odd size gives a box one pixel
 * wider or narrower than asked. Reproduced because PaddleVideo then resizes whatever Pillow cut.
 */
export function pillowCropBox(x0: number, y0: number, w: number, h: number): { x: number; y: number; width: number; height: number } {
  const l = pyRound(x0);
  const t = pyRound(y0);
  const r = pyRound(x0 + w);
  const b = pyRound(y0 + h);
  return { x: l, y: t, width: r - l, height: b - t };
}

/**
 * One `MultiScaleCrop` draw for a clip (the same box for every frame, as PaddleVideo): choose a size pair, then a
 * corner (or, without `fix_crop`, random integer corners with randint inclusive as Python's `random.randint`),
 * and return the Pillow-rounded box; the pipeline resizes it to target×target with bilinear (cv2 INTER_LINEAR).
 * The RNG is consumed as: one draw for the pair, then one (fix_crop) or two draws for the corner.
 */
export function multiScaleCropBox(size: Size, rng: Rng, options: MultiScaleCropOptions = {}): CropBox {
  const o = { ...MSC_DEFAULTS, ...options };
  const pairs = multiScaleCropPairs(size, o);
  const [cw, ch] = pairs[randint(rng, pairs.length)]!;
  if (cw > size.width || ch > size.height) {
    throw new PPTSNError('invalid-argument', `MultiScaleCrop: crop ${cw}×${ch} does not fit the ${size.width}×${size.height} frame.`);
  }
  let x0: number;
  let y0: number;
  if (!o.fixCrop) {
    x0 = randint(rng, size.width - cw + 1);
    y0 = randint(rng, size.height - ch + 1);
  } else {
    const offsets = multiScaleCropOffsets(size, cw, ch, o);
    [x0, y0] = offsets[randint(rng, offsets.length)]!;
  }
  const box = pillowCropBox(x0, y0, cw, ch);
  return { ...box, flip: false };
}

/** `RandomFlip(p)`: one draw per clip, flip when it is below p (PaddleVideo: `random.random() < self.p`). */
export function randomFlip(rng: Rng, p = 0.5): boolean {
  return rng() < p;
}

/** Maps a crop box from scaled-frame to source-frame coordinates (for drawing it on the video). */
export function cropToSource(box: CropBox, sourceSize: Size, scaledSize: Size): CropBox {
  const sx = sourceSize.width / scaledSize.width;
  const sy = sourceSize.height / scaledSize.height;
  return { x: box.x * sx, y: box.y * sy, width: box.width * sx, height: box.height * sy, flip: box.flip };
}

/** The crop boxes a config takes from a scaled frame. */
export function cropBoxesFor(config: { crops: 'center' | 'three' | 'ten'; cropSize: number }, scaled: Size): CropBox[] {
  switch (config.crops) {
    case 'center':
      return [centerCropBox(scaled, config.cropSize, false)];
    case 'three':
      return threeCropBoxes(scaled, config.cropSize);
    case 'ten':
      return tenCropBoxes(scaled, config.cropSize);
  }
}
