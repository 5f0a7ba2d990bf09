/**
 * The bench's command line (`npm run bench -- …`, documented at the top of bench/run.ts), parsed with node:util
 * `parseArgs` as the CLI does; `--quick` changes the defaults.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../test/helpers/browser.js';
import type { Depth } from '../src/core/model/arch.js';
import { gpuDefaults } from './gpu.js';

export const BROWSER_BACKENDS = ['wasm', 'webgl', 'webgpu'] as const;
export const NODE_BACKENDS = ['node-wasm', 'node-cpu'] as const;
export const SECTIONS = ['network', 'profile', 'e2e', 'node', 'fp16', 'train', 'train-defaults', 'eval', 'decode', 'distill'] as const;

const STRING_OPTIONS = ['out', 'backends', 'sections', 'compare', 'reps', 'chunks', 'gpu-chunks', 'gpu-reps', 'gpu-segments', 'e2e-reps', 'presets', 'node-cpu-chunks', 'depth', 'size', 'ort-threads', 'torch-threads', 'wasm-threads', 'train-segments', 'train-epochs', 'train-budget', 'train-images', 'train-reps', 'train-strategies', 'node-chunks', 'node-threads', 'eval-items', 'eval-reps'] as const;

export function parseBenchArgs(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(STRING_OPTIONS.map((k) => [k, { type: 'string' as const }])),
      quick: { type: 'boolean' },
      help: { type: 'boolean' },
      gpu: { type: 'boolean' },
      'gpu-dry-run': { type: 'boolean' },
      'train-profile': { type: 'boolean' },
      'train-cli-wasm': { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(readFileSync(new URL('./run.ts', import.meta.url)).toString().split('*/')[0]);
    process.exit(0);
  }
  const get = (k: (typeof STRING_OPTIONS)[number]) => (values as Record<string, string | boolean | undefined>)[k] as string | undefined;
  const list = (k: (typeof STRING_OPTIONS)[number], d: string) => (get(k) ?? d).split(',').map((s) => s.trim()).filter(Boolean);
  const quick = values.quick === true;
  const o = {
    out: get('out') ?? join(ROOT, 'bench/results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    backends: list('backends', quick ? 'wasm,node-wasm' : 'wasm,webgl,webgpu,node-wasm,node-cpu'),
    sections: list('sections', SECTIONS.join(',')),
    compare: list('compare', 'ort,torch'),
    reps: Number(get('reps') ?? (quick ? 3 : 5)),
    chunks: list('chunks', quick ? '1,4' : '1,4,8').map(Number),
    gpuChunks: list('gpu-chunks', '1').map(Number),
    gpuReps: Number(get('gpu-reps') ?? 1),
    gpuSegments: Number(get('gpu-segments') ?? 2),
    e2eReps: Number(get('e2e-reps') ?? (quick ? 1 : 3)),
    presets: list('presets', 'fast,accurate'),
    nodeCpuChunks: list('node-cpu-chunks', '1').map(Number),
    /** The node section's chunk sizes (the CLI calls the backbone with 10 images). */
    nodeChunks: list('node-chunks', quick ? '4,10' : '1,4,10').map(Number),
    nodeThreads: get('node-threads') ? Number(get('node-threads')) : undefined,
    depth: Number(get('depth') ?? 50) as Depth,
    classes: 400,
    /** Input size in px (network, train, node; the e2e presets keep their own). */
    size: Number(get('size') ?? 224),
    ortThreads: Number(get('ort-threads') ?? 2),
    torchThreads: Number(get('torch-threads') ?? 2),
    /** off: tfjs wasm single-threaded (the "before" of the threads fix). */
    wasmThreads: get('wasm-threads') !== 'off',
    trainSegments: Number(get('train-segments') ?? 2),
    trainEpochs: Number(get('train-epochs') ?? 3),
    trainBudgetS: Number(get('train-budget') ?? 120),
    /** The train section's step rows: images per step, interleaved reps, strategies; --train-profile adds kernels. */
    trainImages: list('train-images', quick ? '4' : '4,16').map(Number),
    trainReps: Number(get('train-reps') ?? (quick ? 2 : 3)),
    trainStrategies: list('train-strategies', 'head,last-stage,full') as Array<'head' | 'last-stage' | 'full'>,
    trainProfile: values['train-profile'] === true,
    /** Adds the cli-tfjs-wasm row: the CLI trainer's step on tfjs wasm (its fallback, and the path before onnxruntime). */
    trainCliWasm: values['train-cli-wasm'] === true,
    evalItems: Number(get('eval-items') ?? (quick ? 4 : 12)),
    evalReps: Number(get('eval-reps') ?? (quick ? 1 : 3)),
    /** A real GPU: WebGPU on Vulkan and a PyTorch CUDA anchor (bench/gpu.ts); fails clearly without one. */
    gpu: values.gpu === true,
    gpuDryRun: values['gpu-dry-run'] === true,
  };
  if (o.gpu) Object.assign(o, gpuDefaults(argv));
  return o;
}

export type Options = ReturnType<typeof parseBenchArgs>;
