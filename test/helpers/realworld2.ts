/**
 * Issue 25's cases ("real-world videos, round two"): the `test/fixtures/realworld2/` files with the values their
 * README states, plus cases made here with the system ffmpeg in each class (a cover track first, two video tracks,
 * odd sizes on VP8/VP9/MJPEG/H.264, MPEG-2 and MPEG-4 Part 2 in MPEG-TS with and without audio, WebM (sized, and a
 * live recording's without sizes) and MP4 cut short). Each names the stream decord reads (av_find_best_stream), stated here by construction, never computed by
 * pptsn-web code; the reference decodes that stream with the plain system ffmpeg (helpers/realworld.ts).
 * Band videos (helpers/bands.ts) are 320×240 and 20–30 frames so that every path stays quick.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBandVideo, type BandVideoSpec } from './bands.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REALWORLD2_DIR = join(HERE, '../fixtures/realworld2');

export interface Realworld2Case {
  name: string;
  path: string;
  /** The stream decord reads (ffmpeg's index). */
  stream: number;
  bands: boolean;
  /** The fixture README's values (fast preset, T = 8). */
  expect?: { frameCount: number; indices: number[] };
}

/** A case every path must refuse with the same code (and message pattern). */
export interface Realworld2Refusal {
  name: string;
  path: string;
  code: string;
  message: RegExp;
}

const FAST = [3, 9, 15, 21, 28, 34, 40, 46];
const SIXTY = [3, 11, 18, 26, 33, 41, 48, 56];

function run(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-y', '-v', 'error', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

/** Writes `out` once from `make` (cached between runs). */
function once(out: string, make: (out: string) => void): string {
  if (!existsSync(out)) {
    mkdirSync(dirname(out), { recursive: true });
    make(out);
  }
  return out;
}

const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p'];

/** The fixtures that decode, with the README's values. */
export function realworld2Fixtures(): Realworld2Case[] {
  const f = (n: string) => join(REALWORLD2_DIR, n);
  return [
    { name: 'coverfirst.mp4', path: f('coverfirst.mp4'), stream: 1, bands: false, expect: { frameCount: 50, indices: FAST } },
    { name: 'coverart.mp4', path: f('coverart.mp4'), stream: 0, bands: false, expect: { frameCount: 50, indices: FAST } },
    { name: 'oddw_vp8.webm', path: f('oddw_vp8.webm'), stream: 0, bands: false, expect: { frameCount: 60, indices: SIXTY } },
    { name: 'interlaced_mpeg2.ts', path: f('interlaced_mpeg2.mpegts'), stream: 0, bands: false, expect: { frameCount: 50, indices: FAST } },
    { name: 'interlaced_h264.ts', path: f('interlaced_h264.mpegts'), stream: 0, bands: false, expect: { frameCount: 50, indices: FAST } },
    { name: 'cut.webm', path: f('cut.webm'), stream: 0, bands: false, expect: { frameCount: 53, indices: [3, 9, 16, 23, 29, 36, 43, 49] } },
    { name: 'hevc_hvc1.mov', path: f('hevc_hvc1.mov'), stream: 1, bands: false, expect: { frameCount: 60, indices: SIXTY } },
    { name: 'frag.mp4', path: f('frag.mp4'), stream: 0, bands: false, expect: { frameCount: 60, indices: SIXTY } },
    { name: 'anim.gif', path: f('anim.gif'), stream: 0, bands: false, expect: { frameCount: 30, indices: [1, 5, 9, 13, 16, 20, 24, 28] } },
    { name: 'px2.mp4', path: f('px2.mp4'), stream: 0, bands: false, expect: { frameCount: 25, indices: [1, 4, 7, 10, 14, 17, 20, 23] } },
  ];
}

/** The fixtures every path refuses, with the code the README asks for. */
export function realworld2Refusals(): Realworld2Refusal[] {
  const f = (n: string) => join(REALWORLD2_DIR, n);
  return [
    { name: 'anim.webp', path: f('anim.webp'), code: 'unsupported-source', message: /WebP[\s\S]*magick/ },
    { name: 'audio_only.m4a', path: f('audio_only.m4a'), code: 'no-video-stream', message: /no video stream/ },
    { name: 'cut_moovend.mp4', path: f('cut_moovend.mp4'), code: 'decode-failed', message: /incomplete/ },
  ];
}

/** Band video + a still cover, muxed with the cover first. */
function coverFirst(dir: string, ext: 'mkv' | 'mp4', bothDefault: boolean): string {
  const main = makeBandVideo(dir, { name: 'rw2_main20', frames: 20, ext: 'mp4', encode: X264 });
  const cover = once(join(dir, 'rw2_cover.jpg'), (o) => run(['-f', 'lavfi', '-i', 'color=c=red:s=320x240', '-frames:v', '1', o]));
  return once(join(dir, `rw2_coverfirst_${bothDefault ? 'default' : 'plain'}.${ext}`), (o) => run([
    '-i', cover, '-i', main, '-map', '0:v', '-map', '1:v', '-c:v:0', 'mjpeg', '-c:v:1', 'copy',
    '-disposition:v:0', bothDefault ? 'default' : '0', '-disposition:v:1', 'default', o,
  ]));
}

/**
 * A 160×120 preview track first (other frames: testsrc, no bands) and the 320×240 band track second. MP4, both
 * enabled (default): av_find_best_stream then prefers the higher bit rate, the main track. Matroska with only the main
 * marked default: the disposition decides.
 */
function previewFirst(dir: string, ext: 'mp4' | 'mkv'): string {
  const main = makeBandVideo(dir, { name: 'rw2_main20', frames: 20, ext: 'mp4', encode: X264 });
  const preview = once(join(dir, 'rw2_preview.mp4'), (o) => run(['-f', 'lavfi', '-i', 'testsrc=s=160x120:r=25:d=0.8', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '40', '-pix_fmt', 'yuv420p', o]));
  return once(join(dir, `rw2_previewfirst.${ext}`), (o) => run([
    '-i', preview, '-i', main, '-map', '0:v', '-map', '1:v', '-c', 'copy',
    '-disposition:v:0', ext === 'mp4' ? 'default' : '0', '-disposition:v:1', 'default', o,
  ]));
}

/** The first `fraction` of `src`'s bytes. */
function cut(src: string, out: string, fraction: number): string {
  return once(out, (o) => {
    const b = readFileSync(src);
    writeFileSync(o, b.subarray(0, Math.floor(b.length * fraction)));
  });
}

/** Cases made here, by class. */
export function realworld2Generated(dir: string): Realworld2Case[] {
  const band = (spec: BandVideoSpec, stream = 0): Realworld2Case => ({ name: `${spec.name}.${spec.ext}`, path: makeBandVideo(dir, spec), stream, bands: true });
  // Nearest-neighbour scaling to an odd size keeps the bands crisp (one column/row doubled).
  const odd = (w: number, h: number) => ['-vf', `scale=${w}:${h}:flags=neighbor`];
  const webm = makeBandVideo(dir, { name: 'rw2_webm30', frames: 30, ext: 'webm', encode: ['-c:v', 'libvpx', '-b:v', '1M', '-auto-alt-ref', '0'] });
  // A live recording's WebM (MediaRecorder's layout): Segment and clusters without a declared size.
  const live = makeBandVideo(dir, { name: 'rw2_live30', frames: 30, ext: 'webm', encode: ['-c:v', 'libvpx', '-b:v', '1M', '-auto-alt-ref', '0', '-live', '1'] });
  const fragmented = makeBandVideo(dir, { name: 'rw2_frag30', frames: 30, ext: 'mp4', encode: [...X264, '-g', '10', '-movflags', '+frag_keyframe+empty_moov'] });
  const faststart = makeBandVideo(dir, { name: 'rw2_faststart30', frames: 30, ext: 'mp4', encode: [...X264, '-g', '10', '-movflags', '+faststart'] });
  return [
    { name: 'cover first (Matroska, both default: one frame loses)', path: coverFirst(dir, 'mkv', true), stream: 1, bands: true },
    { name: 'cover first (MP4, cover not default)', path: coverFirst(dir, 'mp4', false), stream: 1, bands: true },
    { name: 'preview track first (MP4, both enabled: bit rate)', path: previewFirst(dir, 'mp4'), stream: 1, bands: true },
    { name: 'preview track first (Matroska, main default)', path: previewFirst(dir, 'mkv'), stream: 1, bands: true },
    band({ name: 'rw2_vp8_321x241', frames: 20, ext: 'webm', encode: [...odd(321, 241), '-c:v', 'libvpx', '-b:v', '1M', '-auto-alt-ref', '0'] }),
    band({ name: 'rw2_vp9_321x241', frames: 20, ext: 'webm', encode: [...odd(321, 241), '-c:v', 'libvpx-vp9', '-crf', '20', '-b:v', '0', '-deadline', 'realtime', '-cpu-used', '8'] }),
    band({ name: 'rw2_mjpeg422_321x240', frames: 20, ext: 'avi', encode: [...odd(321, 240), '-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', 'yuvj422p'] }),
    band({ name: 'rw2_mjpeg420_321x241', frames: 20, ext: 'avi', encode: [...odd(321, 241), '-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', 'yuvj420p'] }),
    // H.264 4:2:0 cannot have an odd size (its cropping unit is 2); 4:4:4 can.
    band({ name: 'rw2_h264_444_321x241', frames: 20, ext: 'mp4', encode: [...odd(321, 241), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv444p'] }),
    band({ name: 'rw2_mpeg2_ts', frames: 25, ext: 'mpegts', encode: ['-c:v', 'mpeg2video', '-q:v', '2', '-f', 'mpegts'] }),
    band({ name: 'rw2_mpeg2_ts_audio', frames: 25, ext: 'mpegts', audioFirst: true, encode: ['-c:v', 'mpeg2video', '-q:v', '2', '-f', 'mpegts'] }, 1),
    band({ name: 'rw2_mpeg4_ts', frames: 25, ext: 'mpegts', encode: ['-c:v', 'mpeg4', '-q:v', '2', '-f', 'mpegts'] }),
    band({ name: 'rw2_mpeg4_ts_audio', frames: 25, ext: 'mpegts', audioFirst: true, encode: ['-c:v', 'mpeg4', '-q:v', '2', '-f', 'mpegts'] }, 1),
    ...[0.55, 0.8].map((p) => ({ name: `WebM cut at ${Math.round(p * 100)} %`, path: cut(webm, join(dir, `rw2_webm_cut${Math.round(p * 100)}.webm`), p), stream: 0, bands: true })),
    { name: 'live WebM (no sizes) cut at 70 %', path: cut(live, join(dir, 'rw2_live_cut70.webm'), 0.7), stream: 0, bands: true },
  ].concat([0.5, 0.85].map((p) => ({ name: `MP4 (moov first) cut at ${Math.round(p * 100)} %`, path: cut(faststart, join(dir, `rw2_faststart_cut${Math.round(p * 100)}.mp4`), p), stream: 0, bands: true })))
    .concat([{ name: 'fragmented MP4 (moov first) cut at 73 %', path: cut(fragmented, join(dir, 'rw2_frag_cut73.mp4'), 0.73), stream: 0, bands: true }]);
}
