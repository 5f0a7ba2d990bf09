/**
 * `npm run bench -- --sections decode`: how long the browser's frame readers take on a 10 s 320×240 clip (250
 * frames), per preset (fast: T = 8, accurate: T = 25 frames sampled): ffmpeg.wasm on an XviD AVI (UCF101's
 * format; cold = first call, including fetching and compiling the 32 MB core; warm = later calls) and WebCodecs on
 * the same clip as H.264 MP4 (to see that the WebCodecs path did not slow down). Decode only: no preprocessing or
 * network. Runs readFrames on the frames test page (test/browser/pages/frames-page.ts) in headless Chromium.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startBrowserEnv, ROOT } from '../test/helpers/browser.js';

const DIR = join(ROOT, 'bench/.cache/decode');
const FFMPEG_CORE = { js: '/node_modules/@ffmpeg/core/dist/esm/ffmpeg-core.js', wasm: '/node_modules/@ffmpeg/core/dist/esm/ffmpeg-core.wasm' };

function clip(name: string, encode: string[]): string {
  const out = join(DIR, name);
  if (!existsSync(out)) {
    mkdirSync(DIR, { recursive: true });
    const r = spawnSync('ffmpeg', ['-y', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=10', ...encode, out]);
    if (r.status !== 0) throw new Error(`ffmpeg: ${String(r.stderr)}`);
  }
  return '/' + join('bench/.cache/decode', name);
}

export interface DecodeRow { path: 'ffmpeg.wasm' | 'webcodecs'; preset: 'fast' | 'accurate'; segments: number; coldMs?: number; medianMs: number; reps: number }

/** Runs the section and returns its rows (times in ms, medians over `reps` warm calls). */
export async function decodeSection(log: (s: string) => void, reps = 5): Promise<DecodeRow[]> {
  const avi = clip('clip10s_xvid.avi', ['-c:v', 'mpeg4', '-vtag', 'XVID', '-q:v', '4']);
  const mp4 = clip('clip10s_h264.mp4', ['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p']);
  const env = await startBrowserEnv();
  const rows: DecodeRow[] = [];
  try {
    const { page } = await env.open('/test/browser/pages/frames.html');
    await page.waitForFunction(() => document.title === 'ready', null, { timeout: 60000 });
    const once = async (url: string, segments: number, ffmpeg: boolean): Promise<number> => {
      const r = await page.evaluate((c) => (window as unknown as { framesTest: { call(c: unknown): Promise<{ ok: boolean; ms: number; message?: string; result?: { path: string } }> } }).framesTest.call(c),
        { kind: 'blob', url, pixels: false, options: { segments, ...(ffmpeg ? { path: 'ffmpeg', ffmpegCore: FFMPEG_CORE } : {}) } });
      if (!r.ok) throw new Error(`decode bench: ${r.message}`);
      return r.ms;
    };
    for (const [path, url] of [['ffmpeg.wasm', avi], ['webcodecs', mp4]] as const) {
      let cold: number | undefined;
      for (const [preset, segments] of [['fast', 8], ['accurate', 25]] as const) {
        const first = await once(url, segments, path === 'ffmpeg.wasm');
        cold ??= first;
        const times: number[] = [];
        for (let i = 0; i < reps; i++) times.push(await once(url, segments, path === 'ffmpeg.wasm'));
        times.sort((a, b) => a - b);
        const row: DecodeRow = { path, preset, segments, medianMs: Math.round(times[times.length >> 1]!), reps, ...(preset === 'fast' ? { coldMs: Math.round(cold) } : {}) };
        rows.push(row);
        log(`decode ${path} ${preset} (T=${segments}): median ${row.medianMs} ms${row.coldMs !== undefined ? `, first call ${row.coldMs} ms` : ''}`);
      }
    }
  } finally {
    await env.close();
  }
  return rows;
}
