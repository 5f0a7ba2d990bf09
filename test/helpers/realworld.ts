/**
 * The real-world cases every frame path is held to (issue 12): the four `test/fixtures/realworld/` videos with the
 * values their README states, plus band videos made with ffmpeg (rotations, audio-first MOV, B-frame stream-copy
 * trim, full range with and without a matrix tag). The reference is ffmpeg's plain default decode (autorotation
 * and edit list applied, swscale's conversion), computed here without any pptsn-web code.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BAND_CASES, makeBandVideo } from './bands.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REALWORLD_DIR = join(HERE, '../fixtures/realworld');
export const BAND_DIR = join(tmpdir(), 'pptsn-web-band-videos');

export interface RealworldCase {
  name: string;
  path: string;
  /** Whether the frames carry index bands. */
  bands: boolean;
  /** The values the fixtures README states (fast preset, T = 8). */
  expect?: { frameCount: number; indices: number[]; width: number; height: number; sourceFrames?: number[] };
}

/** The cases; band videos are written (once) to `bandDir` (a served folder for browser tests). */
export function realworldCases(bandDir = BAND_DIR): RealworldCase[] {
  const fixtures: RealworldCase[] = [
    { name: 'rot90', path: join(REALWORLD_DIR, 'rot90.mp4'), bands: true, expect: { frameCount: 60, indices: [3, 11, 18, 26, 33, 41, 48, 56], width: 240, height: 320, sourceFrames: [3, 11, 18, 26, 33, 41, 48, 56] } },
    { name: 'editlist', path: join(REALWORLD_DIR, 'editlist.mp4'), bands: true, expect: { frameCount: 47, indices: [2, 8, 14, 20, 26, 32, 38, 44], width: 320, height: 240, sourceFrames: [15, 21, 27, 33, 39, 45, 51, 57] } },
    { name: 'fullrange_grad', path: join(REALWORLD_DIR, 'fullrange_grad.mp4'), bands: false },
    { name: 'hi10', path: join(REALWORLD_DIR, 'hi10.mp4'), bands: true },
  ];
  return [...fixtures, ...BAND_CASES.map((c) => ({ name: c.name, path: makeBandVideo(bandDir, c), bands: true }))];
}

export interface FfmpegReference {
  /** Display size (after autorotation). */
  width: number;
  height: number;
  /** Clockwise rotation ffmpeg applies. */
  rotation: number;
  /** Every presented frame as RGB24. */
  frames: Uint8Array[];
}

/**
 * ffmpeg's default decode of a video stream (`stream`: its index in the file; default the first video stream): all
 * frames, autorotated, edit list applied, RGB24.
 */
export function ffmpegReference(path: string, stream?: number): FfmpegReference {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', stream === undefined ? 'v:0' : String(stream), '-show_entries', 'stream=width,height:stream_side_data=rotation', '-of', 'json', path], { encoding: 'utf8' });
  const s = JSON.parse(probe.stdout).streams[0] as { width: number; height: number; side_data_list?: { rotation?: number }[] };
  const ccw = s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0;
  const rotation = (((-ccw) % 360) + 360) % 360;
  const swap = rotation === 90 || rotation === 270;
  const width = swap ? s.height : s.width;
  const height = swap ? s.width : s.height;
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-map', stream === undefined ? '0:v:0' : `0:${stream}`, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg reference decode of ${path} failed: ${String(r.stderr)}`);
  const all = r.stdout as Buffer;
  const fb = width * height * 3;
  const frames: Uint8Array[] = [];
  for (let o = 0; o + fb <= all.length; o += fb) frames.push(new Uint8Array(all.subarray(o, o + fb)));
  return { width, height, rotation, frames };
}

/** Mean and 99th percentile of |a − b| over two equal-length arrays. */
export function diffStats(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; p99: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  const d = new Float32Array(a.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) { d[i] = Math.abs(a[i]! - b[i]!); sum += d[i]!; }
  d.sort();
  return { mean: sum / a.length, p99: d[Math.min(d.length - 1, Math.floor(d.length * 0.99))]! };
}
