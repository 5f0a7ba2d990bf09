/**
 * The train section: fine-tuning step time per strategy through the public Trainer, on wasm in Chromium; and
 * `full` at the demo's defaults (bench/pages/trainDefaults.ts): the first step, stop latency, memory (also the
 * section `train-defaults` alone).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT } from '../test/helpers/browser.js';
import { ensureModels } from './models.js';
import type { BenchWindow } from './network.js';
import type { Options } from './options.js';
import { log, type Report } from './report.js';

/** Fine-tuning step time per strategy through the public Trainer (model.createTrainer), on wasm in Chromium. */
export async function trainSection(page: Page, o: Options, report: Report): Promise<void> {
  const models = ensureModels(o);
  log('train: wasm, strategies head, last-stage, full');
  try {
    report.train = {
      ...report.train,
      basis: `2 clips of example.mp4, ${o.trainSegments} segments, batch 2, ${o.trainEpochs} epochs, mixup/label smoothing defaults, no precise BN; each strategy stopped after ${o.trainBudgetS} s`,
      strategies: await page.evaluate((opts) => (window as never as BenchWindow).bench.train!(opts as never), {
        backend: 'wasm', model: models.f32, video: '/test/fixtures/media/example.mp4', strategies: ['head', 'last-stage', 'full'], segments: o.trainSegments, epochs: o.trainEpochs, budgetMs: o.trainBudgetS * 1000, wasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/',
      }),
    };
  } catch (e) {
    report.train = { ...report.train, error: (e as Error).message.slice(0, 1000) };
  }
}

/** Four distinct 3 s 320×240 H.264 clips (two colours a class, a moving box), written once into bench/.cache/clips. */
function defaultsClips(): { url: string; label: string }[] {
  const dir = join(ROOT, 'bench/.cache/clips');
  mkdirSync(dir, { recursive: true });
  const colours: Record<string, string[]> = { a: ['0xd01818', '0xb02020'], b: ['0x1818d0', '0x2020b0'] };
  const out: { url: string; label: string }[] = [];
  for (const [label, cs] of Object.entries(colours)) {
    cs.forEach((c, i) => {
      const file = join(dir, `${label}-${i}.mp4`);
      if (!existsSync(file)) {
        const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${c}:s=320x240:d=3:r=25`, '-vf', `drawbox=x='mod(t*80+${i * 37},280)':y=40:w=40:h=40:color=white:t=fill`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file]);
        if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr?.toString()}`);
      }
      out.push({ url: `/bench/.cache/clips/${label}-${i}.mp4`, label });
    });
  }
  return out;
}

/** Resident bytes of this process's Chromium renderers (the page and its dedicated workers live in one). */
function rendererRss(): number {
  const parent = new Map<number, number>();
  const renderers: number[] = [];
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) renderers.push(pid);
    } catch {
      // gone
    }
  }
  const ours = (pid: number) => {
    for (let p = pid, n = 0; p > 1 && n < 16; p = parent.get(p) ?? 0, n++) if (p === process.pid) return true;
    return false;
  };
  let rss = 0;
  for (const pid of renderers.filter(ours)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      rss = Math.max(rss, m ? Number(m[1]) * 1024 : 0);
    } catch {
      // gone
    }
  }
  return rss;
}

/**
 * `full` at the demo's defaults with ResNet18 (issue 26's "first step within 60 s, the renderer under 2 GB"): the
 * page's figures plus the renderer's peak resident size, sampled every 200 ms from here.
 */
export async function trainDefaultsSection(page: Page, o: Options, report: Report): Promise<void> {
  const models = ensureModels({ ...o, depth: 18 });
  log('train: full at the demo defaults (ResNet18, 2 classes × 2 clips)');
  let peak = 0;
  const sampler = setInterval(() => void (peak = Math.max(peak, rendererRss())), 200);
  try {
    const idle = rendererRss();
    const r = await page.evaluate((opts) => (window as never as BenchWindow).bench.trainDefaults!(opts as never), {
      model: models.f32, clips: defaultsClips(), stopAtMs: 3000, wasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/',
    });
    report.train = { ...report.train, defaults: { ...(r as object), rendererRssBytes: { beforeLoad: idle, peak } } };
  } catch (e) {
    report.train = { ...report.train, defaults: { error: (e as Error).message.slice(0, 1000) } };
  } finally {
    clearInterval(sampler);
  }
}
