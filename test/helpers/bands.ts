/**
 * Frame numbers spelled in 9 luma bands (the realworld fixtures' convention, fixtures/README.md): band b (top to
 * bottom of the CODED picture, between 36 % and 64 % of its height) is bright where bit b of the source frame
 * number is set. Readers here find the bands whatever the rotation and the scale/crop the pixels went through, so a
 * test can tell which frame any path returned — from decoded RGB(A) frames or from the preprocessed tensor.
 * `makeBandVideo` writes such videos with ffmpeg for the cases the fixtures do not cover.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const BAND_BITS = 9;

/** Maps a coded-picture point (u, v in [0, 1]) to display orientation for a clockwise rotation. */
export function toDisplay(u: number, v: number, rotation: number): [number, number] {
  switch (((rotation % 360) + 360) % 360) {
    case 90: return [1 - v, u];
    case 180: return [1 - u, 1 - v];
    case 270: return [v, 1 - u];
    default: return [u, v];
  }
}

/**
 * Reads the frame number from a sampler that returns a brightness at display-normalised (x, y). Samples band
 * centres at u = 0.5 of the coded width (and 0.3/0.7, majority) so a crop that keeps the centre keeps the bands.
 */
export function readBands(sample: (x: number, y: number) => number, rotation: number, threshold: number): number {
  let n = 0;
  for (let b = 0; b < BAND_BITS; b++) {
    const v = 0.36 + ((b + 0.5) * 0.28) / BAND_BITS;
    let votes = 0;
    for (const u of [0.4, 0.5, 0.6]) {
      const [x, y] = toDisplay(u, v, rotation);
      if (sample(x, y) > threshold) votes++;
    }
    if (votes >= 2) n |= 1 << b;
  }
  return n;
}

/** Frame number from interleaved RGB(A) pixels in display orientation (green channel). */
export function bandsFromPixels(px: { width: number; height: number; channels: number; data: ArrayLike<number> }, rotation: number): number {
  return readBands((x, y) => {
    const xi = Math.min(px.width - 1, Math.floor(x * px.width));
    const yi = Math.min(px.height - 1, Math.floor(y * px.height));
    return px.data[(yi * px.width + xi) * px.channels + 1]!;
  }, rotation, 128);
}

/**
 * Frame number of segment `t` from a fast-preset tensor ([1, T, 3, 224, 224], normalised, Paddle layout):
 * keep-ratio Scale(256) of the display size then CenterCrop(224), as docs/contract.md §4 describes.
 */
export function bandsFromTensor(data: Float32Array, t: number, display: { width: number; height: number }, rotation: number): number {
  const { width: w, height: h } = display;
  const short = Math.min(w, h);
  const sw = w === short ? 256 : Math.floor((w * 256) / short + 0.5);
  const sh = h === short ? 256 : Math.floor((h * 256) / short + 0.5);
  const x0 = Math.floor((sw - 224) / 2);
  const y0 = Math.floor((sh - 224) / 2);
  const plane = 224 * 224;
  const base = (t * 3 + 1) * plane; // green
  return readBands((x, y) => {
    const xi = Math.min(223, Math.max(0, Math.floor(x * sw) - x0));
    const yi = Math.min(223, Math.max(0, Math.floor(y * sh) - y0));
    return data[base + yi * 224 + xi]!;
  }, rotation, 0);
}

export interface BandVideoSpec {
  name: string;
  frames: number;
  /** Extra ffmpeg output arguments (codec, pixel format, tags, metadata). */
  encode: string[];
  /** A second step on the encoded file (e.g. a stream-copy trim), `{in}`/`{out}` replaced. */
  post?: string[];
  ext: string;
  /** Add a sine audio track (mapped before the video when `audioFirst`). */
  audioFirst?: boolean;
}

/** The band drawing as an ffmpeg filter: testsrc2 at 320×240 with bit b of `n` as band b. */
function bandFilter(): string {
  const parts: string[] = [];
  for (let b = 0; b < BAND_BITS; b++) {
    const y0 = Math.round(240 * (0.36 + (b * 0.28) / BAND_BITS));
    const y1 = Math.round(240 * (0.36 + ((b + 1) * 0.28) / BAND_BITS));
    parts.push(`if(between(Y\\,${y0}\\,${y1 - 1})\\,if(bitand(N\\,${1 << b})\\,235\\,16)`);
  }
  const lum = parts.join('\\,') + '\\,lum(X\\,Y)' + ')'.repeat(BAND_BITS);
  const inBands = `between(Y\\,${Math.round(240 * 0.36)}\\,${Math.round(240 * 0.64) - 1})`;
  return `format=yuv420p,geq=lum=${lum}:cb=if(${inBands}\\,128\\,cb(X\\,Y)):cr=if(${inBands}\\,128\\,cr(X\\,Y))`;
}

/** Writes (cached) a band video and returns its path. */
export function makeBandVideo(dir: string, spec: BandVideoSpec): string {
  const out = join(dir, `${spec.name}.${spec.ext}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const tmp = spec.post ? join(dir, `${spec.name}.pre.${spec.ext}`) : out;
  const inputs = ['-f', 'lavfi', '-i', `testsrc2=s=320x240:r=25:d=${spec.frames / 25},${bandFilter()}`];
  const audio = ['-f', 'lavfi', '-i', `sine=f=440:d=${spec.frames / 25}`];
  const args = spec.audioFirst
    ? ['-y', '-v', 'error', ...audio, ...inputs, '-map', '0:a', '-map', '1:v', '-c:a', 'aac', ...spec.encode, tmp]
    : ['-y', '-v', 'error', ...inputs, ...spec.encode, tmp];
  const r = spawnSync('ffmpeg', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed for ${spec.name}: ${r.stderr}`);
  if (spec.post) {
    const p = spawnSync('ffmpeg', ['-y', '-v', 'error', ...spec.post.map((a) => a.replace('{in}', tmp).replace('{out}', out))], { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`ffmpeg post step failed for ${spec.name}: ${p.stderr}`);
  }
  return out;
}

/** The cases the issue lists beyond the fixtures (rotations, audio-first MOV, B-frame trim, full range tags, AVI). */
export const BAND_CASES: BandVideoSpec[] = [
  // ffmpeg 5.1 writes the display matrix from a `rotate` tag only when stream-copying.
  ...[90, 180, 270].map((r) => ({
    name: `rotate${r}`, frames: 40, ext: 'mp4',
    encode: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p'],
    post: ['-i', '{in}', '-c', 'copy', '-metadata:s:v:0', `rotate=${r}`, '{out}'],
  })),
  { name: 'audiofirst', frames: 40, ext: 'mov', audioFirst: true, encode: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p'] },
  {
    name: 'bframe_trim', frames: 60, ext: 'mp4',
    encode: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-bf', '3', '-g', '60', '-pix_fmt', 'yuv420p'],
    post: ['-ss', '0.7', '-i', '{in}', '-c', 'copy', '{out}'],
  },
  { name: 'fullrange_709', frames: 30, ext: 'mp4', encode: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuvj420p', '-color_range', 'pc', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709'] },
  { name: 'fullrange_untagged', frames: 30, ext: 'mp4', encode: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuvj420p', '-color_range', 'pc'] },
  // 4:4:4: VP9 profile 1 (WebCodecs decodes it) and H.264 High 4:4:4 (Chromium lacks it: ffmpeg.wasm's job).
  { name: 'vp9_444', frames: 30, ext: 'webm', encode: ['-c:v', 'libvpx-vp9', '-crf', '20', '-b:v', '0', '-deadline', 'realtime', '-cpu-used', '8', '-pix_fmt', 'yuv444p'] },
  { name: 'h264_444', frames: 30, ext: 'mp4', encode: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv444p'] },
];
