/**
 * core/frames/yuvScaled.ts against the system ffmpeg: 8-bit 4:2:0 frames with an odd height (where swscale runs
 * its scaled path: interpolated chroma, its C tables or, for an odd width too, full chroma) converted as
 * `ffmpeg -vf scale,format=rgb24` converts them, for every matrix and range the readers use. yuv.ts's unscaled
 * arithmetic is shown to be far off on the same frames, so the test can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { yuv420ToRgbScaled } from '../../src/core/frames/yuvScaled.js';
import { yuvToRgba } from '../../src/core/frames/yuv.js';

/** One noisy testsrc2 frame as raw yuv420p, W×H. */
function frame(w: number, h: number): Buffer {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=s=${w + 64}x${h + 64}:r=25,noise=alls=40:allf=t,crop=${w}:${h}:7:5:exact=1`, '-frames:v', '1', '-pix_fmt', 'yuv420p', '-f', 'rawvideo', '-'], { maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

function ffmpegRgb(yuv: Buffer, w: number, h: number, matrix: string, range: string): Buffer {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${w}x${h}`, '-i', '-', '-vf', `scale=w=${w}:h=${h}:in_color_matrix=${matrix}:in_range=${range},format=rgb24`, '-f', 'rawvideo', '-'], { input: yuv, maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

for (const [w, h] of [[320, 241], [321, 241], [97, 61], [2, 3], [1, 1]] as const) {
  test(`odd height ${w}×${h}: ffmpeg's scaled-path colours for every matrix and range (≤ 3 levels on ≤ 0.5 % of samples)`, () => {
    const yuv = frame(w, h);
    const cw = (w + 1) >> 1, ch = (h + 1) >> 1;
    const planes = [{ offset: 0, stride: w }, { offset: w * h, stride: cw }, { offset: w * h + cw * ch, stride: cw }];
    let unscaledWorst = 0;
    for (const matrix of ['bt601', 'bt709', 'bt2020', 'fcc', 'smpte240m']) for (const range of ['tv', 'pc']) {
      const ref = ffmpegRgb(yuv, w, h, matrix, range);
      const cs = { matrix, fullRange: range === 'pc' };
      const got = yuv420ToRgbScaled(yuv, planes, false, w, h, cs, 3);
      assert.equal(got.length, ref.length);
      let max = 0, wrong = 0;
      for (let i = 0; i < got.length; i++) { const d = Math.abs(got[i]! - ref[i]!); if (d) wrong++; max = Math.max(max, d); }
      assert.ok(max <= 3 && wrong <= got.length * 0.005, `${matrix}/${range}: max ${max}, ${wrong} of ${got.length} samples off`);
      const near = yuvToRgba(yuv, planes, 'I420', w, h, cs, 3);
      let sum = 0;
      for (let i = 0; i < near.length; i++) sum += Math.abs(near[i]! - ref[i]!);
      unscaledWorst = Math.max(unscaledWorst, sum / near.length);
    }
    // The unscaled arithmetic (nearest chroma) is what the WebCodecs path did before: visibly off on real frames.
    if (w * h > 100) assert.ok(unscaledWorst > 0.5, `yuv.ts mean error ${unscaledWorst}`);
  });
}
