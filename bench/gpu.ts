/**
 * `npm run bench -- --gpu`: the WebGPU backend on a real GPU, with native PyTorch on CUDA as the anchor.
 *
 * Headless Chromium is started without the SwiftShader flags the tests use, with Vulkan for WebGPU (Dawn) and
 * ANGLE; before anything is timed the page asks for a WebGPU adapter and the run stops with one clear message when
 * there is none or it is a software one (SwiftShader, llvmpipe): figures from an emulated GPU are not GPU figures.
 * The PyTorch anchor (bench/torch_resnet.py --device cuda, float32 with TF32 off so both sides do float32
 * arithmetic) is interleaved with tfjs-webgpu rep by rep; without CUDA it is skipped with a note.
 *
 * The train section (bench/train.ts) runs the page's training step on webgpu per strategy, interleaved with
 * bench/torch_train.py --device cuda. Defaults in this mode: backends webgpu, sections network,e2e,train, chunks
 * 1,8,32 with 5 reps, both presets, train images 4,16 with 5 reps.
 */
import type { Page } from 'playwright-core';
import { CHROMIUM_FLAGS } from '../test/helpers/browser.js';

/** Chromium flags for a hardware GPU: the test flags minus the software adapters, plus Vulkan. */
export const GPU_CHROMIUM_FLAGS = [
  ...CHROMIUM_FLAGS.filter((f) => !/swiftshader/i.test(f) && !f.startsWith('--enable-features=')),
  '--enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan',
  '--use-angle=vulkan',
  '--use-vulkan=native',
  '--ignore-gpu-blocklist',
  '--enable-gpu',
];

/** Same regular expression as src/worker/backends.ts: adapters that are CPU emulation. */
const SOFTWARE_GPU = /swiftshader|llvmpipe|softpipe|software|basic render|lavapipe/i;

/**
 * Overrides of the defaults for --gpu (only those the user did not set on the command line): the network, e2e and
 * train sections (train: chromium-webgpu beside pytorch-cuda per strategy at 4 and 16 images, 5 reps, no public
 * Trainer run). `--gpu-dry-run` checks the plumbing on a machine without a GPU: SwiftShader accepted, depth 18 at
 * 64 px, one 1-image network pass and one 2-image train step per strategy, no e2e.
 */
export function gpuDefaults(argv: string[]): Record<string, unknown> {
  const has = (k: string) => argv.includes(`--${k}`);
  const unless = (k: string, v: unknown) => (has(k) ? {} : { [k.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase())]: v });
  const dry = argv.includes('--gpu-dry-run');
  return {
    ...unless('backends', ['webgpu']),
    ...unless('sections', dry ? ['network', 'train'] : ['network', 'e2e', 'train']),
    ...unless('gpu-chunks', dry ? [1] : [1, 8, 32]),
    ...unless('gpu-reps', dry ? 1 : 5),
    ...unless('train-images', dry ? [2] : [4, 16]),
    ...unless('train-reps', dry ? 1 : 5),
    ...(has('train-budget') ? {} : { trainBudgetS: 0 }),
    ...(dry ? { ...unless('depth', 18), ...unless('size', 64) } : {}),
  };
}

export interface GpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

/**
 * The page's WebGPU adapter; throws (one message: what was found, what to do) unless it is a hardware GPU
 * (`allowSoftware`: the dry run, which accepts SwiftShader).
 */
export async function requireHardwareGpu(page: Page, allowSoftware = false): Promise<GpuAdapter> {
  const found = await page.evaluate(async () => {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(o?: object): Promise<{ info?: Record<string, string> } | null> } }).gpu;
    if (!gpu) return { error: 'navigator.gpu is missing (WebGPU off in this Chromium)' };
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { error: 'navigator.gpu.requestAdapter() returned null (no Vulkan driver Chromium can use)' };
    const i = adapter.info ?? {};
    return { vendor: i['vendor'] ?? '', architecture: i['architecture'] ?? '', device: i['device'] ?? '', description: i['description'] ?? '' };
  });
  if ('error' in found) throw new Error(`--gpu: no GPU: ${found.error}. Run it on a machine with a GPU and its Vulkan driver (bench/README.md, "GPU mode").`);
  const name = `${found.vendor} ${found.architecture} ${found.device} ${found.description}`.trim();
  if (SOFTWARE_GPU.test(name) && !allowSoftware) throw new Error(`--gpu: the only WebGPU adapter is software emulation (${name}); GPU figures need a hardware GPU and its Vulkan driver (bench/README.md, "GPU mode").`);
  return found;
}

/** tfjs-webgpu against the PyTorch CUDA anchor, best chunk size of each (null where a row is missing). */
export function gpuComparison(rows: { runtime: string; best?: { chunkSize: number; imagesPerSecond: number } }[]): Record<string, unknown> {
  const best = (name: string) => rows.find((r) => r.runtime === name)?.best ?? null;
  const webgpu = best('tfjs-webgpu');
  const cuda = best('pytorch-cuda');
  return { basis: 'best chunk size of each, medians of interleaved reps', tfjsWebgpu: webgpu, pytorchCuda: cuda, ratioToPytorchCuda: webgpu && cuda ? +(webgpu.imagesPerSecond / cuda.imagesPerSecond).toFixed(3) : null };
}
