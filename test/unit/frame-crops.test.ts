/**
 * frameCropBoxes (the library's crop geometry in frame coordinates, which the demo draws) against PaddleVideo's
 * formulas written out by hand: Scale to short side 256 (fixed-ratio 341×256 for accurate, keep-ratio with
 * do_round for fast), then CenterCrop 224 or TenCrop 224 (five corners/centre, each also mirrored).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameCropBoxes } from '../../src/index.js';

const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;

test('fast: one centre crop of the keep-ratio, do_round scaled frame, in source pixels', () => {
  // 320×240 → 341×256 (int(320·256/240 + 0.5) = 341); centre crop at ((341−224)/2, (256−224)/2) = (58, 16).
  const [b, ...rest] = frameCropBoxes({ width: 320, height: 240 }, 'fast');
  assert.equal(rest.length, 0);
  const sx = 320 / 341, sy = 240 / 256;
  assert.ok(close(b!.x, 58 * sx) && close(b!.y, 16 * sy) && close(b!.width, 224 * sx) && close(b!.height, 224 * sy), JSON.stringify(b));
  assert.equal(b!.flip, false);
});

test('accurate: ten crops of the fixed-ratio 341×256 frame, corners and centre, each also mirrored', () => {
  // Portrait 480×640 → 256×341; ws = ⌊(256−224)/4⌋ = 8, hs = ⌊(341−224)/4⌋ = 29.
  const boxes = frameCropBoxes({ width: 480, height: 640 }, 'accurate');
  assert.equal(boxes.length, 10);
  const sx = 480 / 256, sy = 640 / 341;
  const want = [[0, 0], [32, 0], [0, 116], [32, 116], [16, 58]];
  const got = new Set(boxes.map((b) => `${Math.round(b.x / sx)},${Math.round(b.y / sy)},${b.flip}`));
  for (const [x, y] of want) for (const f of [false, true]) assert.ok(got.has(`${x},${y},${f}`), `${x},${y},${f} in ${[...got].join(' ')}`);
  for (const b of boxes) assert.ok(close(b.width, 224 * sx) && close(b.height, 224 * sy));
});

test('a frame already at the short side is not scaled; bad sizes are refused', () => {
  const [b] = frameCropBoxes({ width: 456, height: 256 }, 'fast');
  assert.deepEqual(b, { x: 116, y: 16, width: 224, height: 224, flip: false });
  assert.throws(() => frameCropBoxes({ width: 0, height: 240 }, 'fast'), { code: 'invalid-argument' });
});
