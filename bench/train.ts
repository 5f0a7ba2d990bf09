/**
 * The train section: one training step per strategy ('head', 'last-stage', 'full') at `--train-images` (default
 * 4,16) images of `--size` px, interleaved rep by rep (the machine is shared) between
 * - chromium-wasm: the page's trainer network on wasm in a bench worker (threads on the cross-origin isolated page),
 * - cli: the CLI's trainer in this Node process as `pptsn-web train` runs its trainable part: onnxruntime-node's
 *   forward and backward graphs (src/node/train/ortPass.ts) when it loads, tfjs wasm otherwise (noted),
 * - cli-tfjs-wasm (with `--train-cli-wasm`): the same step on tfjs wasm in Node, the CLI's path before issue 23's
 *   onnxruntime pass and its fallback,
 * - pytorch-native: the same network in PyTorch (bench/torch_train.py; skipped with its reason when PyTorch is absent),
 * all from the strategy's stage boundary (bench/trainStep.ts), BN in train mode, Nesterov momentum 0.9, L2 1e-4.
 * With `--gpu` (bench/gpu.ts) the runtimes are chromium-webgpu (the same page step on tfjs's webgpu backend) and
 * pytorch-cuda (torch_train.py --device cuda, float32 with TF32 off), no cli and no public Trainer run.
 * Reports s/image, GMAC/s (3 × the trainable part's forward multiply-accumulates) and the ratio to native (the
 * PyTorch row of the run: pytorch-native, or pytorch-cuda with --gpu), and for the page runtime the worker's tensor
 * count growth over the timed reps (0: no leak); with
 * `--train-profile`, a per-kernel profile of one step per strategy and runtime (`tf.profile`). Then, unless `--train-budget 0`, the
 * public Trainer on example.mp4 (`trainer`, as before).
 * The section `train-defaults` (also run by `train`'s caller when asked): `full` at the demo's defaults
 * (bench/pages/trainDefaults.ts): the first step, stop latency, memory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import * as tf from '@tensorflow/tfjs-core';
import { ROOT } from '../test/helpers/browser.js';
import { trainMacsPerImage } from './flops.js';
import { ensureModels } from './models.js';
import type { BenchWindow } from './network.js';
import type { Options } from './options.js';
import { log, type Report } from './report.js';
import type { Timed } from './timed.js';
import { torchRuntime } from './torch.js';
import { FULL_MICRO_BATCH, TRAIN_STRATEGIES, trainStepper } from './trainStep.js';
import { initNodeBackend } from '../src/node/backends.js';
import { registerGradients } from '../src/node/gradients.js';
import type { ProfileRow } from './profile.js';
import { availableParallelism } from 'node:os';
import { loadOrt } from '../src/node/runtime.js';
import { OrtPassEngine } from '../src/node/train/ortPass.js';

const FROM = { head: 5, 'last-stage': 4, full: 0 } as const;

export interface TrainRow {
  runtime: 'chromium-wasm' | 'chromium-webgpu' | 'cli' | 'cli-tfjs-wasm' | 'pytorch-native' | 'pytorch-cuda';
  strategy: (typeof TRAIN_STRATEGIES)[number];
  images: number;
  secondsPerImage: number;
  /** Every rep's seconds per step. */
  stepSeconds: number[];
  /** The machine's 1-minute load average after each rep (os.loadavg()). */
  loadAverages: number[];
  gmacs: number;
  ratioToNative?: number;
  /** 'full' beyond FULL_MICRO_BATCH images: the step ran as micro-batches of this many images (trainStep.ts). */
  microBatchImages?: number;
  /** The page worker's tf.memory().numTensors after the reps minus after the warm-up (0: the step leaks nothing). */
  workerTensorGrowth?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The page's trainer step (bench/pages/net-worker.ts) on `backend`, named by what the worker selected. */
async function pageRuntime(page: Page, o: Options, strategy: string, backend: 'wasm' | 'webgpu'): Promise<Timed & { threads: number; profile(n: number): Promise<ProfileRow[]>; tensors(): Promise<number> }> {
  const { id, info } = (await page.evaluate(([b, opts]) => (window as never as BenchWindow).bench.open!('train' as never, b as never, opts as never), [backend, { depth: o.depth, classes: o.classes, size: o.size, strategy, threads: o.wasmThreads }] as const)) as { id: number; info: { runtime: string; threads: number } };
  const close = () => page.evaluate((i) => (window as never as BenchWindow).bench.close!(i as never), id) as Promise<void>;
  if (info.runtime !== `chromium-${backend}`) {
    await close();
    throw new Error(`asked for ${backend}, the worker selected ${info.runtime}`);
  }
  return {
    name: info.runtime,
    threads: info.threads,
    time: (n) => page.evaluate(([i, k]) => (window as never as BenchWindow).bench.time!(i as never, k as never), [id, n] as const) as Promise<number>,
    close,
    profile: (n) => page.evaluate(([i, k]) => (window as never as BenchWindow).bench.profile!(i as never, k as never), [id, n] as const) as Promise<ProfileRow[]>,
    tensors: async () => ((await page.evaluate((i) => (window as never as BenchWindow).bench.memory!(i as never), id)) as { numTensors: number }).numTensors,
  };
}

export async function trainSection(page: Page, o: Options, report: Report): Promise<void> {
  // --gpu: tfjs webgpu against PyTorch on CUDA; otherwise wasm in Chromium and in Node against PyTorch on the CPU.
  const backend = o.gpu ? 'webgpu' : 'wasm';
  const inPageName = `chromium-${backend}`;
  const native = o.gpu ? 'pytorch-cuda' : 'pytorch-native';
  if (!o.gpu) {
    await registerGradients();
    await initNodeBackend('wasm');
  }
  const rows: TrainRow[] = [];
  const notes: string[] = [];
  const ort = o.gpu ? 'no cli rows with --gpu' : await loadOrt();
  const engine = typeof ort === 'string' ? undefined : new OrtPassEngine(ort, { threads: o.ortThreads ?? availableParallelism() });
  if (!o.gpu) notes.push(engine ? `cli: ${engine.description}` : `cli: tfjs wasm, 1 thread (${String(ort)})`);
  const profiles: Record<string, ProfileRow[]> = {};
  for (const strategy of o.trainStrategies) {
    // Clips of 2 segments, as every runtime's step here (trainStep.ts, torch_train.py).
    const macs = trainMacsPerImage(o.depth, o.size, o.classes, FROM[strategy], 2);
    const cli = o.gpu ? null : trainStepper(o.depth, o.classes, o.size, strategy, engine);
    const runtimes: Timed[] = cli ? [{ name: 'cli', time: (n) => cli.step(n), close: async () => cli.dispose() }] : [];
    const cliWasm = !o.gpu && o.trainCliWasm && engine ? trainStepper(o.depth, o.classes, o.size, strategy) : undefined;
    if (cliWasm) runtimes.push({ name: 'cli-tfjs-wasm', time: (n) => cliWasm.step(n), close: async () => cliWasm.dispose() });
    let inPage: Awaited<ReturnType<typeof pageRuntime>> | undefined;
    try {
      inPage = await pageRuntime(page, o, strategy, backend);
      runtimes.unshift(inPage);
      if (backend === 'wasm' && !notes.some((x) => x.startsWith(inPageName))) notes.push(`${inPageName}: tfjs wasm, ${inPage.threads} thread${inPage.threads === 1 ? '' : 's'} (--wasm-threads off: one)`);
    } catch (e) {
      notes.push(`${inPageName} ${strategy} skipped: ${(e as Error).message.slice(0, 300)}`);
    }
    const t = await torchRuntime(o, ['--strategy', strategy, ...(o.gpu ? ['--device', 'cuda'] : [])], 'bench/torch_train.py');
    if ('error' in t) notes.push(`${native} ${strategy} skipped: ${t.error}`);
    else {
      runtimes.push(t.timed);
      // Its threads beside ours (the audit: 1 thread sends this PyTorch build's small 1×1 convs off mkldnn, ~10×).
      if (!notes.some((x) => x.startsWith(`${native}:`))) {
        notes.push(`${native}: ${t.info.description.split(', eager')[0]}`);
        if (!o.gpu && t.info.threads === 1) notes.push(`${native}: WARNING one thread: Debian's PyTorch 1.13 then runs 1×1 convs of fewer than 16 images without mkldnn (~10× slower), so the ratios are not native speed`);
      }
    }
    log(`train ${strategy}: ${runtimes.map((r) => r.name).join(' vs ')}, images ${o.trainImages.join(',')}, ${o.trainReps} reps`);
    for (const n of o.trainImages) {
      const times = new Map<string, number[]>();
      const loads = new Map<string, number[]>();
      const live = runtimes.filter(() => true);
      for (const r of [...live]) {
        try {
          await r.time(n); // warm-up: kernels (shaders on webgpu), XNNPACK operators, optimizer state, cuDNN autotune
          times.set(r.name, []);
          loads.set(r.name, []);
        } catch (e) {
          notes.push(`${r.name} ${strategy} ×${n} failed: ${(e as Error).message.slice(0, 300)}`);
          live.splice(live.indexOf(r), 1);
        }
      }
      const tensorsBefore = inPage && live.includes(inPage) ? await inPage.tensors() : undefined;
      for (let i = 0; i < o.trainReps; i++) {
        for (let j = 0; j < live.length; j++) {
          const r = live[(i + j) % live.length]!;
          const s = await r.time(n);
          times.get(r.name)!.push(s);
          // The 1-minute load after each rep: PyTorch's two OpenMP threads swing several-fold when a core is taken.
          loads.get(r.name)!.push(+loadavg()[0]!.toFixed(2));
          log(`  ${strategy} ${r.name} ×${n} rep ${i + 1}/${o.trainReps}: ${s.toFixed(3)} s (${(s / n).toFixed(3)} s/image)`);
        }
      }
      const growth = tensorsBefore !== undefined ? (await inPage!.tensors()) - tensorsBefore : undefined;
      const nativeTimes = times.get(native);
      for (const [name, ts] of times) {
        const spi = median(ts) / n;
        rows.push({
          runtime: name as TrainRow['runtime'], strategy, images: n, secondsPerImage: +spi.toFixed(4), stepSeconds: ts.map((x) => +x.toFixed(3)), loadAverages: loads.get(name)!, gmacs: +(macs / spi / 1e9).toFixed(2),
          ...(nativeTimes ? { ratioToNative: +(median(nativeTimes) / n / spi).toFixed(3) } : {}),
          ...(strategy === 'full' && n > FULL_MICRO_BATCH && (name === inPageName || name === 'cli-tfjs-wasm' || (name === 'cli' && !engine)) ? { microBatchImages: FULL_MICRO_BATCH } : {}),
          ...(name === inPageName && growth !== undefined ? { workerTensorGrowth: growth } : {}),
        });
      }
    }
    if (o.trainProfile) {
      // tf.profile sees tfjs kernels only: the onnxruntime pass shows as one gap, so profile the tfjs path.
      if (cli) profiles[`cli ${strategy}`] = await (cliWasm ?? cli).profile(o.trainImages[0]!);
      if (inPage && rows.some((r) => r.runtime === inPageName && r.strategy === strategy)) profiles[`${inPageName} ${strategy}`] = await inPage.profile(o.trainImages[0]!);
    }
    for (const r of runtimes) await r.close();
  }
  await engine?.dispose();
  // Node's tfjs runs only the cli rows (no backend is set up in Node with --gpu).
  const leftOver = o.gpu ? null : tf.memory().numTensors;
  report.train = {
    basis: `one training step of depth ${o.depth} at ${o.size} px, ${o.classes} classes, from each strategy's stage boundary (full: images, last-stage: cached res5 input, head: feature map); ${runtimesText(o.gpu)}; medians of ${o.trainReps} interleaved reps after a warm-up; ratioToNative = ${native} s/image ÷ ours (above 1: faster than ${native}); gmacs counts the multiply-adds each side must compute (bench/flops.ts trainMacsPerImage: forward and filter gradients, input gradients but the boundary's, the FC per clip); our tfjs steps take the trainers' pass (passGrads: each unit's forward recomputed, a third more arithmetic than PyTorch's one tape) and 'full' beyond ${FULL_MICRO_BATCH} images runs in micro-batches of ${FULL_MICRO_BATCH} (microBatchImages), as the page's trainer does, PyTorch in one batch; workerTensorGrowth = the page worker's tensors after the reps minus after the warm-up`,
    native,
    rows,
    ...(o.trainProfile ? { profile: profiles } : {}),
    notes: [...notes, ...(leftOver === null ? [] : [`Node tensors left after the section: ${leftOver}`])],
  };
  if (o.trainBudgetS > 0 && !o.gpu) await trainerRun(page, o, report);
}

function runtimesText(gpu: boolean): string {
  return gpu
    ? 'chromium-webgpu (the page worker, tfjs webgpu on the hardware adapter) interleaved with pytorch-cuda (torch_train.py --device cuda, eager NCHW float32, TF32 off, cuDNN benchmark, synchronised timing)'
    : 'chromium-wasm (the page worker), cli (Node: onnxruntime-node forward and backward graphs when it loads, else tfjs wasm; cli-tfjs-wasm with --train-cli-wasm) and pytorch-native (torch_train.py on the CPU) interleaved';
}

/** The public Trainer (model.createTrainer) on example.mp4, on wasm in Chromium: the user's whole fine-tuning loop. */
async function trainerRun(page: Page, o: Options, report: Report): Promise<void> {
  const models = ensureModels(o);
  log('train: public Trainer, wasm, strategies head, last-stage, full');
  const train = report.train as Record<string, unknown>;
  try {
    train['trainer'] = {
      basis: `2 clips of example.mp4, ${o.trainSegments} segments, batch 2, ${o.trainEpochs} epochs, mixup/label smoothing defaults, no precise BN; each strategy stopped after ${o.trainBudgetS} s`,
      strategies: await page.evaluate((opts) => (window as never as BenchWindow).bench.train!(opts as never), {
        backend: 'wasm', model: models.f32, video: '/test/fixtures/media/example.mp4', strategies: ['head', 'last-stage', 'full'], segments: o.trainSegments, epochs: o.trainEpochs, budgetMs: o.trainBudgetS * 1000, wasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/',
      }),
    };
  } catch (e) {
    train['trainer'] = { error: (e as Error).message.slice(0, 1000) };
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
