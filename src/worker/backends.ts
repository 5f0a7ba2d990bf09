/**
 * The one place that decides which tfjs backend runs in the browser (docs/architecture.md, "Where backends are
 * chosen"). `auto` tries webgpu → webgl → wasm → cpu and records why each one before the winner was passed over, so a
 * user can see why a page is slow (`model.backendReport`). GPU emulation in software (SwiftShader, llvmpipe) is
 * skipped in `auto` because it is 20–50× slower than the WASM backend on the same CPU; naming the backend still uses
 * it.
 */
import * as tf from '@tensorflow/tfjs-core';
// Importing a backend package registers its factory; nothing starts until tf.setBackend picks it.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { messageOf, PPTSNError } from '../core/errors.js';
import type { BackendChoice, BackendName, BackendReportEntry, WasmPaths } from '../common/types.js';
import { defaultWasmPaths, wasmGlueUrl, WASM_GLUE_FILE } from './wasmFiles.js';
import { installKernelThreads } from './kernelThreads.js';
import { blobScriptsAllowed, defaultWasmThreadCount, loadPthreadGlue, withWasmThreads, wasmThreadsPossible } from './wasmThreads.js';

/** Preference order of `auto`, and the order a lost device falls back along. */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface BackendSelection {
  backend: BackendName;
  report: BackendReportEntry[];
}

const SOFTWARE_GPU = /swiftshader|llvmpipe|softpipe|software|basic render|lavapipe/i;

/** Describes the WebGPU adapter, or says why there is none. */
async function probeWebGPU(): Promise<{ ok: boolean; software: boolean; description: string }> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { ok: false, software: false, description: 'navigator.gpu is not available (WebGPU unsupported or disabled)' };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { ok: false, software: false, description: 'navigator.gpu.requestAdapter() returned null (no usable GPU)' };
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const text = info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') : '';
  const fallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { ok: true, software: fallback || SOFTWARE_GPU.test(text), description: text || 'unknown adapter' };
}

/** Describes the WebGL 2 renderer through an OffscreenCanvas (works in a worker). */
function probeWebGL(): { ok: boolean; software: boolean; description: string } {
  if (typeof OffscreenCanvas === 'undefined') return { ok: false, software: false, description: 'OffscreenCanvas is not available in this worker' };
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
  if (!gl) return { ok: false, software: false, description: 'WebGL 2 is not available (disabled, blocklisted GPU, or no GPU process)' };
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return { ok: true, software: SOFTWARE_GPU.test(renderer), description: renderer };
}

/** Threads the wasm backend will be started with (1 = single-threaded SIMD binary), set by `configureWasm`. */
let wasmThreads = 1;
/** Why threads were wanted but not used (shown in the backend report), or null. */
let wasmSingleThreadReason: string | null = null;
/**
 * Where to look for the pthread glue (wasmThreads.ts): beside the binaries of the given wasmPaths, then the copy the
 * build put next to the worker (so a page that serves the binaries from elsewhere, a CDN, keeps its threads).
 */
let wasmGlue: string[] = [];

/**
 * Points the WASM backend at its binaries and decides on threads; must run before the wasm backend first starts.
 *
 * Threads default to on wherever they can work: a cross-origin isolated context (COOP/COEP) with
 * SharedArrayBuffer, using every logical core (see wasmThreads.ts for the two tfjs limits this works around:
 * minified bundles and a pool of half the cores). `threads: false` forces the single-threaded SIMD binary; so does
 * a page that is not isolated, which is the clear fallback: same results, one core.
 */
export function configureWasm(paths: WasmPaths | undefined, threads?: boolean): void {
  const all = paths ?? defaultWasmPaths();
  const ownGlue = defaultWasmPaths()[WASM_GLUE_FILE];
  wasmGlue = [...new Set([wasmGlueUrl(all), ownGlue].filter((u): u is string => u !== null))];
  // tfjs wants the binaries only; the glue is ours.
  if (typeof all === 'string') setWasmPaths(all);
  else {
    const { [WASM_GLUE_FILE]: _glue, ...binaries } = all;
    setWasmPaths(binaries);
  }
  wasmThreads = defaultWasmThreadCount();
  wasmSingleThreadReason = null;
  if (!wasmThreadsPossible()) singleThread('page not cross-origin isolated');
  else if (threads === false) singleThread(null);
}

/** Falls back to the single-threaded SIMD binary; `reason` (null: the caller asked) goes into the backend report. */
function singleThread(reason: string | null): void {
  wasmThreads = 1;
  wasmSingleThreadReason = reason;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
}

/** Threads of the running wasm backend's XNNPACK pool (1 when single-threaded or not started). */
export function wasmThreadCountNow(): number {
  try {
    return getThreadsCount();
  } catch {
    return 1;
  }
}

/** Backend flags that matter for PP-TSN; set once per backend before its first op. */
function configureFlags(name: BackendName): void {
  if (name === 'webgl') {
    // Shapes as uniforms: one compiled program serves every batch size, so the warm-up's programs are the ones
    // every later chunk (including a short last chunk) uses.
    tf.env().set('WEBGL_USE_SHAPES_UNIFORMS', true);
  }
}

/** Starts `name` as the active tfjs backend or throws with the reason. */
async function start(name: BackendName): Promise<void> {
  configureFlags(name);
  if (name === 'wasm' && wasmThreads > 1 && !(await blobScriptsAllowed())) {
    // A page whose CSP lacks `script-src blob:` (README, Security): the single-threaded binary still works there.
    singleThread("the Content-Security-Policy's script-src does not allow blob:, which WASM threads need");
  }
  // Threads run tfjs's unminified module, fetched from beside the binaries and checked for its version (wasmThreads.ts).
  const glue = name === 'wasm' && wasmThreads > 1 ? await loadPthreadGlue(wasmGlue) : null;
  if (glue && 'reason' in glue) singleThread(glue.reason);
  let ok: boolean;
  try {
    ok = glue && 'text' in glue && wasmThreads > 1 ? await withWasmThreads(wasmThreads, glue.text, () => tf.setBackend(name)) : await tf.setBackend(name);
  } catch (e) {
    throw new Error(messageOf(e));
  }
  if (!ok) throw new Error(`tf.setBackend('${name}') failed (the backend's initialisation threw; see the console)`);
  await tf.ready();
  // A smoke op: some drivers initialise but fail on the first kernel (lost context, missing float textures).
  const probe = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.scalar(1)));
  const v = await probe.data();
  probe.dispose();
  if (v[0] !== 2 || v[1] !== 3) throw new Error(`the backend computed 1 + 1 = ${v[0]}: its float arithmetic is broken`);
  // Our own wasm kernels (the training filter gradient) split their work over as many threads as tfjs runs.
  if (name === 'wasm') installKernelThreads(wasmThreadCountNow() - 1);
}

/**
 * Starts the requested backend (or the best one for `auto`) and reports on every backend considered.
 * `exclude` lists backends that already failed in this session (a lost device), which `auto` then skips.
 */
export async function selectBackend(choice: BackendChoice, exclude: readonly BackendName[] = []): Promise<BackendSelection> {
  const report: BackendReportEntry[] = [];
  if (choice !== 'auto' && !BACKEND_ORDER.includes(choice)) {
    throw new PPTSNError('invalid-argument', `backend must be one of auto, ${BACKEND_ORDER.join(', ')}; got "${String(choice)}"`);
  }
  const candidates = choice === 'auto' ? BACKEND_ORDER : [choice];
  for (const name of BACKEND_ORDER) {
    if (!candidates.includes(name)) continue;
    if (exclude.includes(name)) {
      report.push({ backend: name, status: 'skipped', reason: 'failed earlier in this session (device lost)' });
      continue;
    }
    let description = '';
    try {
      if (name === 'webgpu' || name === 'webgl') {
        const p = name === 'webgpu' ? await probeWebGPU() : probeWebGL();
        if (!p.ok) { report.push({ backend: name, status: 'skipped', reason: p.description }); continue; }
        if (p.software && choice === 'auto') {
          report.push({ backend: name, status: 'skipped', reason: `software ${name === 'webgpu' ? 'adapter' : 'renderer'} (${p.description}): slower than wasm` });
          continue;
        }
        description = p.description;
      } else if (name === 'wasm') {
        const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
        description = `WebAssembly${simd ? ' SIMD' : ''}`;
      } else {
        description = 'plain JavaScript kernels';
      }
      await start(name);
      if (name === 'wasm') description += wasmThreadCountNow() > 1 ? ` + ${wasmThreadCountNow()} threads` : ', single thread' + (wasmSingleThreadReason ? ` (${wasmSingleThreadReason})` : '');
      report.push({ backend: name, status: 'selected', reason: description });
      return { backend: name, report };
    } catch (e) {
      report.push({ backend: name, status: 'failed', reason: messageOf(e) });
    }
  }
  const why = report.map((r) => `${r.backend}: ${r.reason}`).join('; ');
  throw new PPTSNError('backend-unavailable', `no tfjs backend could start (${why})`);
}

/**
 * Images per network pass. Bigger chunks keep a GPU busy; smaller ones bound peak activation memory (ResNet-50 at
 * 224 px needs ~15 MB of activations per image) and keep an abort responsive on synchronous backends (wasm, cpu).
 * 10 and 5 divide the accurate preset's 250 images evenly. Devices reporting ≤ 2 GB of memory get half.
 */
export function defaultChunkSize(name: BackendName): number {
  const base = name === 'webgpu' || name === 'webgl' ? 10 : name === 'wasm' ? 5 : 2;
  const mem = (globalThis.navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  return mem !== undefined && mem <= 2 ? Math.max(1, Math.floor(base / 2)) : base;
}

/**
 * Calls `onLost` once if the active WebGPU device is lost (driver reset, GPU process crash, tab backgrounded on
 * some mobiles). The engine then moves to the next backend and retries the call.
 */
export function watchDeviceLoss(onLost: (reason: string) => void): void {
  if (tf.getBackend() !== 'webgpu') return;
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  device?.lost.then((info) => onLost(`${info.reason}: ${info.message}`)).catch(() => undefined);
}
