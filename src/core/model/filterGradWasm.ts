/**
 * The stride-1 convolution filter gradient on tfjs-backend-wasm as a kernel of our own,
 * `PPTSNConv2DBackpropFilter` (registered for the `wasm` backend only): our SIMD tap kernel
 * ({@link ./filterGradSimd.ts}), instantiated against tfjs-backend-wasm's own heap memory, reads the NHWC input and
 * dy where tfjs keeps them and writes dW `[K, K, I, O]` into a tensor tfjs allocated:
 *
 *   dW[kh, kw, i, o] = Σ_{n, y, x} x[n, y + kh − p, x + kw − p, i] · dy[n, y, x, o]   (zero outside the input)
 *
 * per tap over the dy rows and columns whose input position is inside the image, in chunks of about
 * {@link CHUNK} positions (the chunk's input and dy rows stay in cache while every channel block passes over
 * them). Why: the per-tap path (StridedSlice of the transposed input + plain matMul) ran at ~5 GMAC/s and was
 * ~45 % of a `full` training step under load; this runs ResNet's 3×3s at 20–27 GMAC/s, 1.7–2× that path measured
 * side by side (bench/README.md, issue 23). Single-threaded (tfjs's pthreads are its own).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BLOCK, DwTap, KERNEL_EXPORT, tapModule } from './filterGradSimd.js';

export const CONV2D_BACKPROP_FILTER = 'PPTSNConv2DBackpropFilter';

let enabled = true;

/**
 * Turns our kernel off (or on again) for this JS realm: the per-tap path then runs, as before it. An escape
 * hatch, and what the benches' A/B in one process toggles.
 */
export function setSimdFilterGrad(on: boolean): void {
  enabled = on;
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

/** Whether `m` is a shared memory (tfjs's threaded build): our module's import must then be declared shared. */
export const isShared = (m: WebAssembly.Memory) => typeof SharedArrayBuffer !== 'undefined' && m.buffer instanceof SharedArrayBuffer;

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
 * stride 1, I and O multiples of the register block (every stride-1 conv of ResNet-vd past the stem's first), and
 * where it measured faster: every K > 1, and 1×1s up to {@link MAX_1X1_FILTER}.
 */
export function useSimdFilterGrad(K: number, I: number, O: number, stride: number): boolean {
  if (stride !== 1 || I % BLOCK.ib !== 0 || O % BLOCK.ob !== 0 || (K === 1 && I * O > MAX_1X1_FILTER)) return false;
  if (tf.getBackend() !== 'wasm') return false;
  if (!enabled) return false;
  const memory = heapMemory(tf.backend() as unknown as WasmBackendLike);
  return memory !== undefined && tapFor(memory) !== null;
}

/**
 * dW `[K, K, I, O]` of a stride-1 conv of x `[n, H, W, I]` with padding `pad`, given dy `[n, Ho, Wo, O]`, writing
 * with `tap` into `out` (byte offsets into `memory`).
 */
export function filterGradInto(tap: DwTap, memory: WebAssembly.Memory, ptrs: { x: number; dy: number; out: number }, xShape: number[], dyShape: number[], K: number, p: number, chunk = CHUNK): void {
  const [n, H, W, I] = xShape as [number, number, number, number];
  const [, Ho, Wo, O] = dyShape as [number, number, number, number];
  new Float32Array(memory.buffer, ptrs.out, K * K * I * O).fill(0);
  const [aCol, bCol] = [I * 4, O * 4];
  const [aRow, bRow] = [W * aCol, Wo * bCol];
  const [aImg, bImg] = [H * aRow, Ho * bRow];
  for (let kh = 0; kh < K; kh++) {
    const [y0, y1] = [Math.max(0, p - kh), Math.min(Ho, H + p - kh)];
    for (let kw = 0; kw < K; kw++) {
      const [x0, x1] = [Math.max(0, p - kw), Math.min(Wo, W + p - kw)];
      const [rows, cols] = [y1 - y0, x1 - x0];
      if (rows <= 0 || cols <= 0) continue;
      const op = ptrs.out + (kh * K + kw) * I * O * 4;
      // First (img, y, x) of the tap: input (y + kh − p, x + kw − p), dy (y, x).
      const at = (img: number, y: number) => [ptrs.x + img * aImg + (y + kh - p) * aRow + (x0 + kw - p) * aCol, ptrs.dy + img * bImg + y * bRow + x0 * bCol] as const;
      if (rows * cols > chunk) {
        const step = Math.max(1, Math.floor(chunk / cols));
        for (let img = 0; img < n; img++) {
          for (let y = y0; y < y1; y += step) {
            const [a, b] = at(img, y);
            tap(a, b, op, 1, Math.min(step, y1 - y), cols, aImg, bImg, aRow, bRow, aCol, bCol, I, O);
          }
        }
      } else {
        const imgs = Math.max(1, Math.floor(chunk / (rows * cols)));
        for (let img = 0; img < n; img += imgs) {
          const [a, b] = at(img, y0);
          tap(a, b, op, Math.min(imgs, n - img), rows, cols, aImg, bImg, aRow, bRow, aCol, bCol, I, O);
        }
      }
    }
  }
}

function kernelFunc({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const b = backend as WasmBackendLike;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { K, pad } = attrs as unknown as FilterGradAttrs;
  const memory = heapMemory(b);
  const tap = memory && tapFor(memory);
  if (!memory || !tap) throw new Error(`${CONV2D_BACKPROP_FILTER}: no SIMD or no reachable heap (check useSimdFilterGrad first)`);
  const out = b.makeOutput([K, K, x.shape[3]!, dy.shape[3]!], 'float32');
  const ptr = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId)!.memoryOffset;
  filterGradInto(tap, memory, { x: ptr(x), dy: ptr(dy), out: ptr(out) }, x.shape, dy.shape, K, pad);
  return out;
}

/** dW `[K, K, I, O]` on wasm by our kernel; the caller checks {@link useSimdFilterGrad}. */
export function simdFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, K: number, pad: number): tf.Tensor4D {
  if (!tf.getKernel(CONV2D_BACKPROP_FILTER, 'wasm')) tf.registerKernel({ kernelName: CONV2D_BACKPROP_FILTER, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
  const attrs: FilterGradAttrs = { K, pad };
  return tf.engine().runKernel(CONV2D_BACKPROP_FILTER, { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
