/**
 * core/frames/framePlan.ts: the one decision every frame reader uses (docs/contract.md §4) — L after the edit list, the
 * TSN indices over it, display rotation and size, the colour conversion — and the lossless rotation of pixels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clockwiseFromDisplayMatrix, colorOf, isPresented, normalizeRotation, planFrames, rotatePixels } from '../../src/core/frames/framePlan.js';
import { isPPTSNError } from '../../src/core/errors.js';

test('plan: fixture README values (rot90: L 60 portrait 240×320; editlist: L 47)', () => {
  const rot = planFrames({ presentedFrames: 60, codedWidth: 320, codedHeight: 240, rotation: clockwiseFromDisplayMatrix(-90) }, { sampling: 'valid', segments: 8 });
  assert.deepEqual(rot.indices, [3, 11, 18, 26, 33, 41, 48, 56]);
  assert.deepEqual([rot.rotation, rot.width, rot.height], [90, 240, 320]);
  const trim = planFrames({ presentedFrames: 47, codedWidth: 320, codedHeight: 240, rotation: 0 }, { sampling: 'valid', segments: 8 });
  assert.deepEqual(trim.indices, [2, 8, 14, 20, 26, 32, 38, 44]);
  assert.deepEqual([trim.width, trim.height], [320, 240]);
  const explicit = planFrames({ presentedFrames: 10, codedWidth: 4, codedHeight: 2, rotation: 180 }, { indices: (n) => [0, n - 1] });
  assert.deepEqual([explicit.indices, explicit.width, explicit.height], [[0, 9], 4, 2]);
});

test('plan: errors — no presented frame, index outside L, non-right rotation', () => {
  const code = (f: () => unknown) => { try { f(); return 'none'; } catch (e) { assert.ok(isPPTSNError(e)); return e.code; } };
  assert.equal(code(() => planFrames({ presentedFrames: 0, codedWidth: 2, codedHeight: 2, rotation: 0 }, { sampling: 'valid', segments: 8 })), 'video-too-short');
  assert.equal(code(() => planFrames({ presentedFrames: 5, codedWidth: 2, codedHeight: 2, rotation: 0 }, { indices: [5] })), 'invalid-argument');
  assert.equal(code(() => normalizeRotation(45)), 'unsupported-source');
  assert.deepEqual([normalizeRotation(-90), normalizeRotation(450), normalizeRotation(-180), clockwiseFromDisplayMatrix(90)], [270, 90, 180, 270]);
});

test('colour: untagged BT.601 limited; pc / yuvj* full range; matrix names of ffprobe and WebCodecs', () => {
  assert.deepEqual(colorOf({}), { matrix: 'bt601', fullRange: false });
  assert.deepEqual(colorOf({ pixelFormat: 'yuvj420p' }), { matrix: 'bt601', fullRange: true });
  assert.deepEqual(colorOf({ matrix: 'bt709', fullRange: true }), { matrix: 'bt709', fullRange: true });
  assert.deepEqual(colorOf({ matrix: 'bt2020-ncl' }), { matrix: 'bt2020', fullRange: false });
  assert.deepEqual(colorOf({ matrix: 'bt2020nc' }), { matrix: 'bt2020', fullRange: false });
  assert.deepEqual(colorOf({ matrix: 'smpte170m', fullRange: false }), { matrix: 'bt601', fullRange: false });
  assert.equal(isPresented(-0.02), false);
  assert.equal(isPresented(-1e-9), true);
});

test('rotatePixels: 90/180/270 clockwise, 3 and 4 channels, four turns are the identity', () => {
  // 3×2 image, one channel value per pixel (pixel number), RGB.
  const w = 3, h = 2;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.fill(i, i * 3, i * 3 + 3);
  const img = { width: w, height: h, channels: 3 as const, data };
  const at = (p: { width: number; data: ArrayLike<number>; channels: number }, x: number, y: number) => p.data[(y * p.width + x) * p.channels]!;
  const r90 = rotatePixels(img, 90);
  assert.deepEqual([r90.width, r90.height], [2, 3]);
  // Clockwise: the bottom-left pixel (3) goes to the top-left, the top-left (0) to the top-right.
  assert.deepEqual([at(r90, 0, 0), at(r90, 1, 0), at(r90, 0, 2), at(r90, 1, 2)], [3, 0, 5, 2]);
  const r180 = rotatePixels(img, 180);
  assert.deepEqual([at(r180, 0, 0), at(r180, 2, 1)], [5, 0]);
  const r270 = rotatePixels(img, 270);
  assert.deepEqual([r270.width, r270.height, at(r270, 0, 0), at(r270, 1, 2)], [2, 3, 2, 3]);
  let back = img;
  for (let k = 0; k < 4; k++) back = rotatePixels(back, 90);
  assert.deepEqual(back.data, data);
  const rgba = { width: 2, height: 1, channels: 4 as const, data: new Uint8ClampedArray([1, 2, 3, 255, 4, 5, 6, 255]) };
  const r = rotatePixels(rgba, 90);
  assert.ok(r.data instanceof Uint8ClampedArray);
  assert.deepEqual([...r.data], [1, 2, 3, 255, 4, 5, 6, 255]);
  assert.equal(rotatePixels(img, 0), img);
});
