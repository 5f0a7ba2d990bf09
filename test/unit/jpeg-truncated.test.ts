/**
 * A rawframes JPEG cut short is refused, as PIL (PaddleVideo's reader) refuses it ("image file is truncated"),
 * instead of being decoded with its missing rows filled grey by libjpeg. Fixtures: test/fixtures/bad-input/
 * img_00002.jpg (an ffmpeg-written frame) and cut.jpg (its first 2 500 bytes).
 *
 *   node --import tsx --test test/unit/jpeg-truncated.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTruncatedJpeg } from '../../src/core/frames/jpeg.js';
import { readRawframesDir } from '../../src/node/rawframes.js';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolvePreprocessOptions } from '../../src/core/preprocess/presets.js';

const FIX = fileURLToPath(new URL('../fixtures/bad-input/', import.meta.url));

test('isTruncatedJpeg: a whole frame is not, its first 2 500 bytes are', () => {
  const whole = new Uint8Array(readFileSync(join(FIX, 'img_00002.jpg')));
  assert.equal(isTruncatedJpeg(whole), false);
  assert.equal(isTruncatedJpeg(new Uint8Array(readFileSync(join(FIX, 'cut.jpg')))), true);
  assert.equal(isTruncatedJpeg(whole.subarray(0, whole.length - 2)), true, 'only the EOI missing');
});

test('a rawframes folder with a cut frame is decode-failed naming it (the CLI reader)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pptsn-cut-'));
  try {
    copyFileSync(join(FIX, 'img_00001.jpg'), join(dir, 'img_00001.jpg'));
    copyFileSync(join(FIX, 'cut.jpg'), join(dir, 'img_00002.jpg'));
    // L = 2, T = 1: the middle frame, index 1, is img_00002.jpg.
    await assert.rejects(readRawframesDir(dir, resolvePreprocessOptions({ preset: 'fast', segments: 1 })), (e: unknown) => {
      const err = e as { code?: string; message: string };
      return err.code === 'decode-failed' && /img_00002\.jpg/.test(err.message) && /truncated/.test(err.message);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
