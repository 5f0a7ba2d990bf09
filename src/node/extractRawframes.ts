/**
 * `pptsn-web prepare rawframes`: PaddleVideo's `data/ucf101/extract_rawframes.py` (the tutorial's step 2.1.2).
 * Every decoded frame of every video is written as `img_{i+1:05d}.jpg` into one folder per video, named as the
 * script names it (the file name up to its first '.'; inside its class folder at `--level 2`).
 *
 * Frames: the system ffmpeg with the decoder settings of src/node/ffmpeg.ts `rgbFramesArgs`, as `classify` and `eval`
 * read videos with it (display orientation, frames an edit
 * list hides never output, swscale to RGB24 with the stream's matrix and range: BT.601 limited for untagged
 * streams), which is what OpenCV's `VideoCapture` gives for UCF101's AVIs (the same ffmpeg decoder and conversion);
 * JPEGs as `cv2.imwrite` writes them (src/node/jpegEncoder.ts). The script writes the frames that read within
 * `CAP_PROP_FRAME_COUNT` reads; here every frame ffmpeg decodes is written (equal for files whose header count is
 * right, which UCF101's are).
 *
 * Resumable: a video's frames go to a hidden `.<name>.partial` folder renamed to `<name>` once all are written,
 * so a folder that exists is complete and is skipped (a folder left by another tool is taken as it is), and a
 * partial one of an interrupted run is started again. A video that fails is reported and the others go on.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isPPTSNError, PPTSNError } from '../core/errors.js';
import { ffmpegRgbFilter } from '../core/frames/ffmpegFilter.js';
import { trackChild, trackTemporary } from './cleanup.js';
import { probeVideo, rgbFramer, rgbFramesArgs, tools } from './ffmpeg.js';
import { createJpegEncoderPool, type JpegEncoderPool } from './jpegEncoder.js';

/** One video found in the videos folder and the frames folder it gets. */
export interface VideoToExtract {
  path: string;
  /** The frames folder relative to the output folder (`Class/v_name` at level 2, `v_name` at level 1). */
  folder: string;
}

export interface ExtractOptions {
  videosDir: string;
  outDir: string;
  /** 2: `videos/<Class>/<video>` (UCF101, the script's default); 1: videos directly in the folder. */
  level: 1 | 2;
  /** Video file extension without the dot (the script's `--ext`, default avi). */
  ext: string;
  /** Videos extracted at once, and JPEG encoder threads (default 2). */
  jobs?: number;
  /** A line of log (failures, notes) on stderr. */
  log: (line: string) => void;
  /** Draws the progress line in place (a terminal or --progress); otherwise a line every ~5 % of the videos. */
  progress?: boolean;
  signal?: AbortSignal;
}

export interface ExtractSummary {
  videos: number;
  extracted: number;
  /** Folders already complete (a previous run). */
  skipped: number;
  frames: number;
  failed: { path: string; message: string }[];
  /**
   * Class folders removed at the end because they stayed empty (every video of the class failed): left there, they
   * would stop `prepare lists folders` ("holds no rawframes folders") although the other classes are fine.
   */
  removedEmptyClasses: string[];
}

const visible = (name: string) => !name.startsWith('.');

async function entries(dir: string): Promise<{ name: string; dir: boolean }[]> {
  const list = await readdir(dir, { withFileTypes: true });
  return list.filter((e) => visible(e.name)).map((e) => ({ name: e.name, dir: e.isDirectory() })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The videos as the script's `glob(src/*\/*.ext)` (level 2) or `glob(src/*.ext)` (level 1) finds them (hidden
 * names skipped, the extension case-sensitive), sorted, and the class folders to create (level 2: every folder).
 */
export async function findVideos(videosDir: string, level: 1 | 2, ext: string): Promise<{ videos: VideoToExtract[]; classes: string[] }> {
  let top: { name: string; dir: boolean }[];
  try {
    top = await entries(videosDir);
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot list the videos folder ${videosDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const suffix = `.${ext}`;
  // The script names the folder `vid_path.split('.')[0]`: the file name up to its first dot.
  const stem = (name: string) => name.split('.')[0]!;
  if (level === 1) {
    return { videos: top.filter((e) => !e.dir && e.name.endsWith(suffix)).map((e) => ({ path: join(videosDir, e.name), folder: stem(e.name) })), classes: [] };
  }
  const classes = top.filter((e) => e.dir).map((e) => e.name);
  const videos: VideoToExtract[] = [];
  for (const c of classes) {
    for (const e of await entries(join(videosDir, c))) {
      if (!e.dir && e.name.endsWith(suffix)) videos.push({ path: join(videosDir, c, e.name), folder: `${c}/${stem(e.name)}` });
    }
  }
  return { videos, classes };
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/**
 * Decodes every frame of `video` and writes them as JPEGs into `target` (through a `.partial` folder renamed at the
 * end). Resolves to the number of frames. Errors: 'unsupported-source' (ffprobe cannot read it), 'decode-failed'
 * (ffmpeg failed or gave no frame), 'ffmpeg-missing', 'aborted'.
 */
export async function extractVideo(video: string, target: string, pool: JpegEncoderPool, maxQueued: number, signal?: AbortSignal): Promise<number> {
  const info = await probeVideo(video, signal ? { signal } : {});
  const partial = join(dirname(target), `.${basename(target)}.partial`);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const untrackDir = trackTemporary(partial);
  try {
    const { ffmpeg } = tools({});
    const { width, height } = info;
    const frameBytes = width * height * 3;
    const args = [...await rgbFramesArgs(ffmpeg, video, info, ffmpegRgbFilter({ width, height, color: { matrix: info.colorMatrix, fullRange: info.fullRange } }), signal), 'pipe:1'];
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const untrackChild = trackChild(child);
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr = (stderr + c.toString('utf8')).slice(-8192); });
    let frames = 0;
    const writes = new Set<Promise<void>>();
    let writeError: unknown = null;
    const queue = (rgb: Uint8Array) => {
      const name = `img_${String(++frames).padStart(5, '0')}.jpg`;
      const p: Promise<void> = pool.encode(rgb, width, height).then((jpg) => writeFile(join(partial, name), jpg)).catch((e: unknown) => {
        writeError ??= e;
        child.kill('SIGKILL');
      }).finally(() => {
        writes.delete(p);
        if (writes.size < maxQueued && child.stdout.isPaused()) child.stdout.resume();
      });
      writes.add(p);
      // Backpressure: a long HD video must not pile its decoded frames up in memory.
      if (writes.size >= maxQueued) child.stdout.pause();
    };
    child.stdout.on('data', rgbFramer(frameBytes, queue)); // each frame a copy of its own, transferred to the encoder
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new PPTSNError('ffmpeg-missing', `${ffmpeg} was not found: install ffmpeg or set PPTSN_FFMPEG`) : e));
      child.on('close', resolve);
    }).finally(() => {
      untrackChild();
      signal?.removeEventListener('abort', onAbort);
    });
    while (writes.size) await Promise.all([...writes]);
    if (signal?.aborted) throw new PPTSNError('aborted', 'extraction was aborted');
    if (writeError) throw writeError;
    const where = `${video} (${info.codecLongName} in ${info.containerLongName})`;
    const tail = stderr.trim().split('\n').slice(-2).join(' | ');
    if (code !== 0) throw new PPTSNError('decode-failed', `ffmpeg failed on ${where} after ${frames} frames: ${tail || `exit code ${code}`}`);
    if (frames === 0) throw new PPTSNError('decode-failed', `${where} gave no frame${tail ? `: ${tail}` : ''}`);
    await rename(partial, target);
    return frames;
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    throw e;
  } finally {
    untrackDir();
  }
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return `${h ? `${h}:` : ''}${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

/** Extracts every video (`jobs` at a time); a failure is logged and counted, the others go on. */
export async function extractRawframes(o: ExtractOptions): Promise<ExtractSummary> {
  const { videos, classes } = await findVideos(o.videosDir, o.level, o.ext);
  await mkdir(o.outDir, { recursive: true });
  for (const c of classes) await mkdir(join(o.outDir, c), { recursive: true });
  const jobs = Math.max(1, o.jobs ?? 2);
  const summary: ExtractSummary = { videos: videos.length, extracted: 0, skipped: 0, frames: 0, failed: [], removedEmptyClasses: [] };
  o.log(`[prepare] ${videos.length} videos (*.${o.ext}, level ${o.level}) in ${o.videosDir} → ${o.outDir}, ${jobs} at a time`);
  // Two videos whose names agree up to the first dot would write into one folder: the second is refused.
  const owner = new Map<string, string>();
  const pool = createJpegEncoderPool(jobs);
  const t0 = performance.now();
  let done = 0;
  let worked = 0; // videos decoded in this run (not skipped): the ETA's rate
  const every = Math.max(1, Math.floor(videos.length / 20));
  const report = () => {
    const s = (performance.now() - t0) / 1000;
    const left = videos.length - done;
    const eta = worked ? (left * s) / worked : NaN;
    const line = `[prepare] ${done}/${videos.length} videos  ${summary.frames} frames  ${(summary.frames / s).toFixed(0)} frames/s  ETA ${left ? fmtTime(eta) : '00:00'}`;
    if (o.progress) process.stderr.write(`\r${line}${done === videos.length ? '\n' : ''}`);
    else if (done % every === 0 || done === videos.length) o.log(line);
  };
  let next = 0;
  const lane = async () => {
    while (next < videos.length && !o.signal?.aborted) {
      const v = videos[next++]!;
      const target = join(o.outDir, v.folder);
      try {
        const other = owner.get(v.folder);
        if (other) throw new PPTSNError('invalid-argument', `its frames folder ${target} is ${basename(other)}'s too (names equal up to the first '.'): rename one of them`);
        owner.set(v.folder, v.path);
        if (await isDir(target)) summary.skipped++;
        else {
          const frames = await extractVideo(v.path, target, pool, 4 * jobs, o.signal);
          summary.frames += frames; // not `+= await …`: that reads the total before the await
          summary.extracted++;
          worked++;
        }
      } catch (e) {
        if (isPPTSNError(e) && (e.code === 'aborted' || e.code === 'ffmpeg-missing')) throw e;
        worked++;
        const message = e instanceof Error ? e.message : String(e);
        summary.failed.push({ path: v.path, message });
        if (o.progress) process.stderr.write('\n');
        o.log(`[prepare] failed: ${v.path}: ${message}`);
      }
      done++;
      report();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, videos.length)) }, lane));
  } finally {
    await pool.close();
  }
  // PaddleVideo's extract_rawframes.py leaves such a folder; we remove it (rmdir: only ever an empty folder) and say so.
  for (const c of classes) {
    const path = join(o.outDir, c);
    if ((await entries(path)).length > 0) continue;
    try {
      await rmdir(path);
      summary.removedEmptyClasses.push(c);
      o.log(`[prepare] ${path}: no video of class ${c} gave frames; the empty folder is removed`);
    } catch { /* not empty after all (hidden files): leave it */ }
  }
  return summary;
}
