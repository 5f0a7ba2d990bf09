/**
 * Test videos whose frames carry their own index, made with the system's ffmpeg. Each frame is a grey
 * background with BITS vertical stripes across the top half (white = 1, black = 0, most significant bit first)
 * and a colour gradient in the bottom half (so colour conversion can be checked). `readFrameIndex` recovers the
 * index from decoded RGB(A) pixels, so a test can tell exactly which frame a decoder returned.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const BITS = 10;

export interface VideoSpec {
  /** Frame count. */
  frames: number;
  width: number;
  height: number;
  fps: number;
  codec: 'h264' | 'av1' | 'vp8' | 'vp9' | 'mpeg4' | 'hevc';
  /** Container by extension. */
  container: 'mp4' | 'webm' | 'avi' | 'mkv';
}

const ENCODERS: Record<VideoSpec['codec'], string[]> = {
  h264: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p'],
  av1: ['-c:v', 'libaom-av1', '-cpu-used', '8', '-crf', '30', '-b:v', '0', '-pix_fmt', 'yuv420p'],
  vp8: ['-c:v', 'libvpx', '-crf', '10', '-b:v', '2M', '-pix_fmt', 'yuv420p', '-auto-alt-ref', '0'],
  vp9: ['-c:v', 'libvpx-vp9', '-crf', '30', '-b:v', '0', '-deadline', 'realtime', '-cpu-used', '8', '-pix_fmt', 'yuv420p'],
  mpeg4: ['-c:v', 'mpeg4', '-q:v', '3', '-pix_fmt', 'yuv420p'],
  hevc: ['-c:v', 'libx265', '-preset', 'ultrafast', '-crf', '20', '-pix_fmt', 'yuv420p'],
};

/** RGB24 pixels of frame `index`: stripes encode the index, the bottom half is a fixed gradient. */
export function stripeFrame(index: number, width: number, height: number): Uint8Array {
  const px = new Uint8Array(width * height * 3);
  const half = Math.floor(height / 2);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (y < half) {
        const bit = Math.min(BITS - 1, Math.floor((x * BITS) / width));
        const on = (index >> (BITS - 1 - bit)) & 1;
        px[o] = px[o + 1] = px[o + 2] = on ? 235 : 20;
      } else {
        px[o] = Math.round((255 * x) / Math.max(1, width - 1));
        px[o + 1] = Math.round((255 * (y - half)) / Math.max(1, height - half - 1));
        px[o + 2] = 128;
      }
    }
  }
  return px;
}

/** Reads the index back from decoded pixels (channels 3 = RGB, 4 = RGBA), sampling the middle of each stripe. */
export function readFrameIndex(data: ArrayLike<number>, width: number, height: number, channels: 3 | 4 = 4): number {
  let index = 0;
  const y0 = Math.floor(height / 8);
  const y1 = Math.max(y0 + 1, Math.floor((3 * height) / 8));
  for (let bit = 0; bit < BITS; bit++) {
    const xa = Math.floor((bit * width) / BITS);
    const xb = Math.floor(((bit + 1) * width) / BITS);
    const x0 = xa + Math.floor((xb - xa) / 4);
    const x1 = Math.max(x0 + 1, xb - Math.floor((xb - xa) / 4));
    let sum = 0;
    let n = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) { sum += data[(y * width + x) * channels + 1]!; n++; }
    index = (index << 1) | (sum / n > 128 ? 1 : 0);
  }
  return index;
}

/** Writes the video (cached by spec in `dir`) and returns its path. Needs ffmpeg on PATH. */
export function makeIndexedVideo(dir: string, spec: VideoSpec): string {
  const name = `idx_${spec.frames}f_${spec.width}x${spec.height}_${spec.fps}fps_${spec.codec}.${spec.container}`;
  const out = join(dir, name);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const frames: Uint8Array[] = [];
  for (let i = 0; i < spec.frames; i++) frames.push(stripeFrame(i, spec.width, spec.height));
  const input = Buffer.concat(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
  const args = [
    '-v', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${spec.width}x${spec.height}`, '-r', String(spec.fps), '-i', 'pipe:0',
    ...ENCODERS[spec.codec],
    // Every frame is a real frame with its own timestamp: no dropping or duplication by the muxer.
    '-fps_mode', 'passthrough',
    ...(spec.container === 'mp4' ? ['-movflags', '+faststart'] : []),
    out,
  ];
  const r = spawnSync('ffmpeg', args, { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg failed for ${name}: ${r.stderr?.toString() ?? r.error}`);
  return out;
}
