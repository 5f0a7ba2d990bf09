/**
 * 8-bit 4:2:0 frames with an odd height (VP8/VP9/AV1 allow them; 4:2:0 H.264/HEVC cannot have them): ffmpeg's
 * swscale converts them with its generic scaler (bicubic vertical chroma), not the table converter it uses for even
 * heights, so the browser's WebCodecs path (src/video/color.ts → core/frames/yuvScaled.ts) must too. Held here against the system ffmpeg's
 * `-pix_fmt rgb24` on ffmpeg's own YUV of the same frame, for I420 and NV12 layouts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { yuv420ToRgbScaled } from '../../src/core/frames/yuvScaled.js';
import { yuvToRgba } from '../../src/core/frames/yuv.js';

const DIR = join(tmpdir(), 'pptsn-web-test-videos', 'odd-height');
mkdirSync(DIR, { recursive: true });

/** ffmpeg's yuv420p of a test pattern at w×h, and ffmpeg's rgb24 of that YUV (BT.601 limited, as the CLI asks). */
function ffmpegPair(w: number, h: number): { yuv: Uint8Array; rgb: Uint8Array } {
  const yuv = join(DIR, `${w}x${h}.yuv`);
  const rgb = join(DIR, `${w}x${h}.rgb`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=25', '-frames:v', '1', '-vf', `scale=${w}:${h},format=yuv420p`, '-f', 'rawvideo', yuv]);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${w}x${h}`, '-i', yuv, '-vf', `scale=w=${w}:h=${h}:in_color_matrix=bt601:in_range=tv,format=rgb24`, '-f', 'rawvideo', rgb]);
  return { yuv: new Uint8Array(readFileSync(yuv)), rgb: new Uint8Array(readFileSync(rgb)) };
}

function diff(rgba: ArrayLike<number>, rgb: Uint8Array): { mean: number; max: number } {
  let sum = 0, max = 0;
  for (let p = 0, q = 0; q < rgb.length; p += 4, q += 3) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(rgba[p + c]! - rgb[q + c]!);
      sum += d;
      max = Math.max(max, d);
    }
  }
  return { mean: sum / rgb.length, max };
}

for (const [w, h] of [[96, 61], [320, 181]] as const) {
  test(`odd height ${w}×${h}: the generic conversion is within a level of ffmpeg on a few samples, the table converter is not`, () => {
    const { yuv, rgb } = ffmpegPair(w, h);
    const cw = (w + 1) >> 1, ch = (h + 1) >> 1;
    const i420 = [{ offset: 0, stride: w }, { offset: w * h, stride: cw }, { offset: w * h + cw * ch, stride: cw }];
    const cs = { matrix: 'bt601', fullRange: false };
    const generic = diff(yuv420ToRgbScaled(yuv, i420, false, w, h, cs, 4), rgb);
    assert.ok(generic.mean < 0.02 && generic.max <= 3, `generic: mean ${generic.mean}, max ${generic.max}`);
    const table = diff(yuvToRgba(yuv, i420, 'I420', w, h, { matrix: 'bt601', fullRange: false }), rgb);
    assert.ok(table.mean > 1 && table.max > 40, `the table converter should be far off here: mean ${table.mean}, max ${table.max}`);

    // NV12 (what hardware decoders hand over): the same chroma interleaved in one plane gives the same pixels.
    const nv12 = new Uint8Array(w * h + 2 * cw * ch);
    nv12.set(yuv.subarray(0, w * h));
    for (let k = 0; k < cw * ch; k++) {
      nv12[w * h + 2 * k] = yuv[w * h + k]!;
      nv12[w * h + 2 * k + 1] = yuv[w * h + cw * ch + k]!;
    }
    const fromNv12 = yuv420ToRgbScaled(nv12, [{ offset: 0, stride: w }, { offset: w * h, stride: 2 * cw }], true, w, h, cs, 4);
    assert.deepEqual(fromNv12, yuv420ToRgbScaled(yuv, i420, false, w, h, cs, 4));
  });
}

test('even heights keep the table converter (bit-exact with ffmpeg there)', () => {
  const { yuv, rgb } = ffmpegPair(96, 60);
  const i420 = [{ offset: 0, stride: 96 }, { offset: 96 * 60, stride: 48 }, { offset: 96 * 60 + 48 * 30, stride: 48 }];
  assert.deepEqual(diff(yuvToRgba(yuv, i420, 'I420', 96, 60, { matrix: 'bt601', fullRange: false }), rgb), { mean: 0, max: 0 });
});
