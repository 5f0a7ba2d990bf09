/**
 * The convolution filter gradient on tfjs-backend-wasm as a kernel of our own,
 * `PPTSNConv2DBackpropFilter` (registered for the `wasm` backend only): our SIMD tap kernel
 * ({@link ./filterGradSimd.ts}), instantiated against tfjs-backend-wasm's own heap memory, reads the NHWC input and
 * dy where tfjs keeps them and writes dW `[K, K, I, O]` into a tensor tfjs allocated:
 *
 *   dW[kh, kw, i, o] = Σ_{n, y, x} x[n, s·y + kh − p, s·x + kw − p, i] · dy[n, y, x, o]   (zero outside the input)
 *
 * (stride s: the kernel steps s input pixels per dy pixel) per tap over the dy rows and columns whose input position
 * is inside the image, in chunks of about
 * {@link CHUNK} positions (the chunk's input and dy rows stay in cache while every channel block passes over
 * them). Why: the per-tap path (StridedSlice of the transposed input + plain matMul) ran at ~5 GMAC/s and was
 * ~45 % of a `full` training step under load; this runs ResNet's 3×3s at 20–27 GMAC/s, 1.7–2× that path measured
 * side by side (bench/README.md, issue 23). Strided (res3a–res5a's 3×3 stride 2): 1.3–3.2× the im2col product of
 * convGrad.ts on one thread, which spends most of its time in wasm's single-threaded slices and transposes.
 *
 * Threads: where tfjs runs threaded its heap is a shared memory, and the work is split over the calling thread and
 * the helper threads a host injected (parallelExecutor.ts; the browser's engine worker: src/worker/kernelThreads.ts,
 * one Worker per further core on the same memory, handed work through Atomics): each tap's calls are cut by blocks
 * of input channels into groups that the threads take as they go, so each group writes only its own rows of one tap
 * of dW and every element is the same sum in the same order as on one thread (bit-identical). 1.6–1.9× the
 * one-thread kernel on ResNet's shapes with 2 threads in Chromium (bench/README.md). It runs on the calling thread
 * alone where the heap is not shared (Node,
 * pages that are not cross-origin isolated), where no executor is installed or it has no helper ready (Workers or
 * Atomics.wait unavailable, a helper that failed to start, the first gradients while the helpers start), below
 * {@link MIN_PARALLEL_MACS}, and after {@link setFilterGradThreads}(false).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BLOCK, DwTap, KERNEL_EXPORT, TAP_ARGS, tapModule } from './filterGradSimd.js';
import { isShared } from './wasmAsm.js';
import { executorFor, GROUP_HEAD, runGroup, type KernelSpec, type ParallelExecutor } from './parallelExecutor.js';

export const CONV2D_BACKPROP_FILTER = 'PPTSNConv2DBackpropFilter';

let enabled = true;

/**
 * Turns our kernel off (or on again) for this JS realm: the per-tap path then runs, as before it. An escape
 * hatch, and what the benches' A/B in one process toggles.
 */
export function setSimdFilterGrad(on: boolean): void {
  enabled = on;
}

let threaded = true;

/**
 * Keeps our kernel on the calling thread (false) or lets it split over helper threads again (true, the default)
 * for this JS realm: an escape hatch, and what the benches' A/B in one worker toggles.
 */
export function setFilterGradThreads(on: boolean): void {
  threaded = on;
}

/** Dy positions (rows · columns) one call of the tap kernel covers, at most about: a chunk's rows stay in cache. */
const CHUNK = 64;

/** What this file reads of tfjs-backend-wasm's BackendWasm (not imported: src/core depends on tfjs-core only). */
interface WasmBackendLike {
  wasm: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

export interface FilterGradAttrs {
  K: number;
  pad: number;
  stride: number;
}

/** The Emscripten heap: exported by the single-threaded module, created in JS (and shared) by the threaded one. */
function heapMemory(backend: WasmBackendLike): WebAssembly.Memory | undefined {
  return backend.wasm?.asm?.memory ?? backend.wasm?.wasmMemory;
}

/** The active wasm backend's heap (undefined on another backend or where tfjs does not expose it). */
export function wasmHeap(): WebAssembly.Memory | undefined {
  return tf.getBackend() === 'wasm' ? heapMemory(tf.backend() as unknown as WasmBackendLike) : undefined;
}

/** A tensor's byte offset in the wasm heap (the active backend must be wasm). */
export function heapOffset(t: tf.TensorInfo): number {
  return (tf.backend() as unknown as WasmBackendLike).dataIdMap.get(t.dataId)!.memoryOffset;
}

/** (Re-exported for the kernels' callers and tests.) */
export { isShared };

/** 'relaxed' (f32x4.relaxed_madd), 'simd' (mul + add) or null (no SIMD): what this runtime validates. */
export function simdVariant(shared = false): 'relaxed' | 'simd' | null {
  if (typeof WebAssembly === 'undefined') return null;
  if (WebAssembly.validate(tapModule(true, shared))) return 'relaxed';
  return WebAssembly.validate(tapModule(false, shared)) ? 'simd' : null;
}

const instances = new WeakMap<WebAssembly.Memory, DwTap | null>();

/** The tap kernel bound to `memory`, `variant` forced or the best validated one; null without SIMD. */
export function tapFor(memory: WebAssembly.Memory, variant?: 'relaxed' | 'simd'): DwTap | null {
  if (variant) return instantiate(memory, variant === 'relaxed');
  if (!instances.has(memory)) {
    const v = simdVariant(isShared(memory));
    let tap: DwTap | null = null;
    try {
      tap = v ? instantiate(memory, v === 'relaxed') : null;
    } catch {
      // A heap our import does not match (a future tfjs's memory limits): the per-tap path computes dW instead.
    }
    instances.set(memory, tap);
  }
  return instances.get(memory)!;
}

function instantiate(memory: WebAssembly.Memory, relaxed: boolean): DwTap {
  // Synchronous: the module is ~600 bytes, under the browsers' main-thread limit for synchronous compilation.
  const module = new WebAssembly.Module(tapModule(relaxed, isShared(memory)));
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports[KERNEL_EXPORT] as unknown as DwTap;
}

/**
 * A 1×1 filter gradient goes to our kernel only while dW has at most this many elements (256 KB, within L2: each
 * chunk reads and writes all of it). Larger ones (res4/res5's 1×1s, 1024·256 and 512·2048) stay on the
 * transposed-input matMul, which XNNPACK runs faster there (bench/kernels/dw-bench.ts, bench/README.md).
 */
const MAX_1X1_FILTER = 1 << 16;

/**
 * Whether our kernel computes this filter gradient on the active backend: wasm with SIMD and a reachable heap,
 * I and O multiples of the register block (every conv of ResNet-vd past the stem's first, strided ones included),
 * and where it measured faster: every K > 1, and 1×1s up to {@link MAX_1X1_FILTER}.
 */
export function useSimdFilterGrad(K: number, I: number, O: number, stride: number): boolean {
  if (stride < 1 || I % BLOCK.ib !== 0 || O % BLOCK.ob !== 0 || (K === 1 && I * O > MAX_1X1_FILTER)) return false;
  if (tf.getBackend() !== 'wasm') return false;
  if (!enabled) return false;
  const memory = heapMemory(tf.backend() as unknown as WasmBackendLike);
  return memory !== undefined && tapFor(memory) !== null;
}

/** One filter gradient: byte offsets into the heap, x `[n, H, W, I]` and dy `[n, Ho, Wo, O]`, kernel, padding. */
interface Geometry {
  ptrs: { x: number; dy: number; out: number };
  xShape: number[];
  dyShape: number[];
  K: number;
  p: number;
  chunk: number;
  /** Stride (both axes). */
  s: number;
}

/**
 * Calls `emit` with the tap kernel's arguments for every call that computes dW's input channels [i0, i1) (a
 * multiple of the register block): its rows of every tap, disjoint from any other range's.
 */
function forEachTapCall(g: Geometry, i0: number, i1: number, emit: (args: number[], tap: number) => void): void {
  const { ptrs, K, p, chunk, s } = g;
  const [n, H, W, I] = g.xShape as [number, number, number, number];
  const [, Ho, Wo, O] = g.dyShape as [number, number, number, number];
  // The kernel steps through x by s pixels per dy pixel; an image's start stays H·W·I floats on.
  const [aPix, bCol] = [I * 4, O * 4];
  const [aCol, aRow, bRow] = [s * aPix, s * W * aPix, Wo * bCol];
  const [aImg, bImg] = [H * W * aPix, Ho * bRow];
  const Ic = i1 - i0;
  // dy rows y with 0 ≤ s·y + k − p < H read the input; the others would read the zero padding.
  const range = (k: number, size: number, out: number) => [Math.max(0, Math.ceil((p - k) / s)), Math.min(out, Math.floor((size - 1 + p - k) / s) + 1)] as const;
  for (let kh = 0; kh < K; kh++) {
    const [y0, y1] = range(kh, H, Ho);
    for (let kw = 0; kw < K; kw++) {
      const [x0, x1] = range(kw, W, Wo);
      const [rows, cols] = [y1 - y0, x1 - x0];
      if (rows <= 0 || cols <= 0) continue;
      const op = ptrs.out + ((kh * K + kw) * I + i0) * O * 4;
      // First (img, y, x) of the tap: input (s·y + kh − p, s·x + kw − p) at channel i0, dy (y, x).
      const at = (img: number, y: number) => [ptrs.x + img * aImg + ((s * y + kh - p) * W + s * x0 + kw - p) * aPix + i0 * 4, ptrs.dy + img * bImg + y * bRow + x0 * bCol] as const;
      if (rows * cols > chunk) {
        const step = Math.max(1, Math.floor(chunk / cols));
        for (let img = 0; img < n; img++) {
          for (let y = y0; y < y1; y += step) {
            const [a, b] = at(img, y);
            emit([a, b, op, 1, Math.min(step, y1 - y), cols, aImg, bImg, aRow, bRow, aCol, bCol, Ic, O], kh * K + kw);
          }
        }
      } else {
        const imgs = Math.max(1, Math.floor(chunk / (rows * cols)));
        for (let img = 0; img < n; img += imgs) {
          const [a, b] = at(img, y0);
          emit([a, b, op, Math.min(imgs, n - img), rows, cols, aImg, bImg, aRow, bRow, aCol, bCol, Ic, O], kh * K + kw);
        }
      }
    }
  }
}

/**
 * Multiply-adds below which a filter gradient runs on the calling thread alone: waking a helper and waiting for it
 * costs tens of microseconds; 2 M multiply-adds take ~80 µs at 25 GMAC/s.
 */
export const MIN_PARALLEL_MACS = 1 << 21;

/** Groups per thread a split aims at: the threads share them out as they go, so a late one costs one short group. */
const GROUPS_PER_THREAD = 8;

const stats = { runs: 0, helperGroups: 0 };

/**
 * How many filter gradients ran split over helper threads in this realm, and how many groups of calls the helpers
 * ran (what the tests check).
 */
export function filterGradThreadStats(): { runs: number; helperGroups: number } {
  return { ...stats };
}

/** A group's argument deltas for input channels [i0, i1): the x pointer, the dW pointer and the channel count. */
function channelDelta(i0: number, i1: number, O: number): number[] {
  const d = new Array<number>(TAP_ARGS).fill(0);
  [d[0], d[2], d[12]] = [i0 * 4, i0 * O * 4, i1 - i0];
  return d;
}

/**
 * dW `[K, K, I, O]` of a conv of x `[n, H, W, I]` with padding `p` and `stride`, given dy `[n, Ho, Wo, O]`, writing
 * with `tap` into `out` (byte offsets into `memory`). With an `executor` that has helpers ready, and at least
 * {@link MIN_PARALLEL_MACS} of work, each tap's calls are cut by input channels (whole register blocks) into groups
 * that the threads share out as they go ({@link ParallelExecutor.run}): a group writes only its own rows of one tap
 * of dW, no two threads touch one element, and every element is the same sum in the same order as on one thread,
 * so the result is bit-identical.
 */
export function filterGradInto(tap: DwTap, memory: WebAssembly.Memory, ptrs: { x: number; dy: number; out: number }, xShape: number[], dyShape: number[], K: number, p: number, chunk = CHUNK, executor: ParallelExecutor | null = null, stride = 1): void {
  const I = xShape[3]!;
  const O = dyShape[3]!;
  new Float32Array(memory.buffer, ptrs.out, K * K * I * O).fill(0);
  const g: Geometry = { ptrs, xShape, dyShape, K, p, chunk, s: stride };
  const macs = K * K * dyShape[0]! * dyShape[1]! * dyShape[2]! * I * O;
  const blocks = I / BLOCK.ib;
  const threads = executor && macs >= MIN_PARALLEL_MACS ? Math.min(executor.helpers + 1, blocks) : 1;
  if (threads < 2) {
    forEachTapCall(g, 0, I, (args) => tap(...(args as Parameters<DwTap>)));
    return;
  }
  // Each tap's calls for channels [0, 0); its groups add a range's offsets and width. Offsets above 2 GiB wrap to
  // negative i32s here and back to the same address as the kernel's i32 arguments.
  const perTap: number[][] = Array.from({ length: K * K }, () => []);
  forEachTapCall(g, 0, 0, (args, t) => { for (const a of args) perTap[t]!.push(a); });
  const taps = perTap.filter((c) => c.length > 0);
  const ranges = Math.min(blocks, Math.ceil((GROUPS_PER_THREAD * threads) / taps.length));
  const bound = (r: number) => Math.round((blocks * r) / ranges) * BLOCK.ib;
  const deltas = Array.from({ length: ranges }, (_, r) => channelDelta(bound(r), bound(r + 1), O));
  const here = tap as unknown as (...args: number[]) => void;
  const cap = executor!.capacity;
  let [calls, groups] = [[] as number[], [] as number[]];
  const flush = () => {
    if (groups.length > 0) stats.helperGroups += executor!.run({ calls: Int32Array.from(calls), groups: Int32Array.from(groups) }, here);
    [calls, groups] = [[], []];
  };
  for (const list of taps) {
    const n = list.length / TAP_ARGS;
    if (n > cap.calls || ranges > cap.groups) {
      // A tap too large for one round (none in ResNet up to 16 images at 224 px): on this thread.
      runGroup({ calls: Int32Array.from(list), groups: Int32Array.from([0, n, ...channelDelta(0, I, O)]) }, 0, TAP_ARGS, here);
      continue;
    }
    if (calls.length / TAP_ARGS + n > cap.calls || groups.length / (GROUP_HEAD + TAP_ARGS) + ranges > cap.groups) flush();
    const c0 = calls.length / TAP_ARGS;
    for (const a of list) calls.push(a);
    for (const d of deltas) groups.push(c0, c0 + n, ...d);
  }
  flush();
  stats.runs++;
}

/** The kernel on `memory` as helper threads instantiate it (the variant {@link tapFor} picks for that memory). */
function kernelSpec(memory: WebAssembly.Memory): KernelSpec {
  const relaxed = simdVariant(isShared(memory)) === 'relaxed';
  return { memory, module: new WebAssembly.Module(tapModule(relaxed, isShared(memory))), exportName: KERNEL_EXPORT, argc: TAP_ARGS };
}

/**
 * The helper threads our kernel splits its work over on `memory` (started on the first call): null where the heap
 * is not shared (single-threaded tfjs, Node) or no host installed a factory (parallelExecutor.ts).
 */
export function filterGradExecutor(memory: WebAssembly.Memory): ParallelExecutor | null {
  return isShared(memory) && enabled && threaded ? executorFor(memory, () => kernelSpec(memory)) : null;
}

function kernelFunc({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const b = backend as WasmBackendLike;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { K, pad, stride } = attrs as unknown as FilterGradAttrs;
  const memory = heapMemory(b);
  const tap = memory && tapFor(memory);
  if (!memory || !tap) throw new Error(`${CONV2D_BACKPROP_FILTER}: no SIMD or no reachable heap (check useSimdFilterGrad first)`);
  const out = b.makeOutput([K, K, x.shape[3]!, dy.shape[3]!], 'float32');
  const ptr = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId)!.memoryOffset;
  filterGradInto(tap, memory, { x: ptr(x), dy: ptr(dy), out: ptr(out) }, x.shape, dy.shape, K, pad, CHUNK, filterGradExecutor(memory), stride);
  return out;
}

/** dW `[K, K, I, O]` on wasm by our kernel; the caller checks {@link useSimdFilterGrad}. */
export function simdFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, K: number, pad: number, stride = 1): tf.Tensor4D {
  if (!tf.getKernel(CONV2D_BACKPROP_FILTER, 'wasm')) tf.registerKernel({ kernelName: CONV2D_BACKPROP_FILTER, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
  const attrs: FilterGradAttrs = { K, pad, stride };
  return tf.engine().runKernel(CONV2D_BACKPROP_FILTER, { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
