/**
 * Work per image of the PP-TSN network, in multiply-accumulates (the convention behind "ResNet-50: 4.1 GFLOPs"
 * that the issue uses), so `gflops` in the report = 10⁹ multiply-accumulates per second.
 */
import { archSpec, type Depth } from '../src/core/model/arch.js';

/** Forward multiply-accumulates per image from stage boundary `from` (0 images, 4 the input of res5, 5 the FC only). */
export function macsPerImage(depth: Depth, size = 224, classes = 400, from = 0): number {
  return count(depth, size, classes, from, false);
}

/**
 * The multiply-accumulates of one training step per image from boundary `from`, as every runtime of the train
 * section computes them: each trainable layer's forward and filter gradient, and its input gradient unless its input
 * is the boundary's (the images, the cached res5 input: nobody computes that one); the FC's forward and weight
 * gradient once per clip of `segments` images, and its input gradient when a layer before it trains.
 */
export function trainMacsPerImage(depth: Depth, size = 224, classes = 400, from = 0, segments = 2): number {
  return count(depth, size, classes, from, true, segments);
}

function count(depth: Depth, size: number, classes: number, from: number, training: boolean, segments = 1): number {
  const arch = archSpec(depth, classes);
  // The first trainable layers read the boundary's tensor (the stem's first conv, or the first trainable block's
  // first branch conv and its shortcut): no input gradient.
  let firstBlock = from > 0;
  let h = size;
  let macs = 0;
  let part = 0;
  const conv = (k: number, s: number, cin: number, cout: number, pool: boolean, readsBoundary = false) => {
    if (pool) h = Math.ceil(h / 2);
    const p = (k - 1) >> 1;
    const out = Math.floor((h + 2 * p - k) / s) + 1;
    if (part >= from) {
      const f = k * k * cin * cout * out * out;
      macs += training ? (readsBoundary ? 2 : 3) * f : f;
    }
    return out;
  };
  arch.stem.forEach((l, i) => (h = conv(l.kernel, l.stride, l.inChannels, l.outChannels, false, from === 0 && i === 0)));
  h = Math.floor((h + 2 - 3) / 2) + 1; // stem max pool
  for (const b of arch.blocks) {
    part = b.stage + 1;
    const reads = firstBlock && part >= from;
    if (reads) firstBlock = false;
    const h0 = h;
    b.branch.forEach((l, i) => (h = conv(l.kernel, l.stride, l.inChannels, l.outChannels, l.avgPoolFirst, reads && i === 0)));
    if (b.short) {
      const hb = h;
      h = h0;
      conv(b.short.kernel, b.short.stride, b.short.inChannels, b.short.outChannels, b.short.avgPoolFirst, reads);
      h = hb;
    }
  }
  const fc = arch.featureDim * classes;
  if (!training) return macs + fc;
  return macs + ((from < 5 ? 3 : 2) * fc) / segments;
}
