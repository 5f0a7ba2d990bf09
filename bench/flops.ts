/**
 * Work per image of the PP-TSN network, in multiply-accumulates (the convention behind "ResNet-50: 4.1 GFLOPs"
 * that the issue uses), so `gflops` in the report = 10⁹ multiply-accumulates per second.
 */
import { archSpec, type Depth } from '../src/core/model/arch.js';

/**
 * `from`: the stage boundary the count starts at (0 images, 4 the input of res5, 5 the feature map: FC only), for
 * the train section's work per image: 3 × macsPerImage(…, from) counts the trainable part's forward, input
 * gradient and filter gradient (the first layer's unneeded input gradient included, so a slight overcount).
 */
export function macsPerImage(depth: Depth, size = 224, classes = 400, from = 0): number {
  const arch = archSpec(depth, classes);
  let h = size;
  let macs = 0;
  let part = 0;
  const conv = (k: number, s: number, cin: number, cout: number, pool: boolean) => {
    if (pool) h = Math.ceil(h / 2);
    const p = (k - 1) >> 1;
    const out = Math.floor((h + 2 * p - k) / s) + 1;
    if (part >= from) macs += k * k * cin * cout * out * out;
    return out;
  };
  for (const l of arch.stem) h = conv(l.kernel, l.stride, l.inChannels, l.outChannels, false);
  h = Math.floor((h + 2 - 3) / 2) + 1; // stem max pool
  for (const b of arch.blocks) {
    part = b.stage + 1;
    const h0 = h;
    for (const l of b.branch) h = conv(l.kernel, l.stride, l.inChannels, l.outChannels, l.avgPoolFirst);
    if (b.short) {
      const hb = h;
      h = h0;
      conv(b.short.kernel, b.short.stride, b.short.inChannels, b.short.outChannels, b.short.avgPoolFirst);
      h = hb;
    }
  }
  return macs + arch.featureDim * classes;
}
