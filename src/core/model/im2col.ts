/**
 * Convolutions on small maps as one product: im2col (`PPTSNIm2Col`, copies of whole channel rows in tfjs-backend-wasm's
 * heap) then tfjs's BatchMatMul with the HWIO filter read as `[K₁·K₂·I, O]`, which is its own layout.
 *
 * Why: a training step brings a new filter every time, and tfjs-backend-wasm's Conv2D spends ~8 ns a weight on a new
 * one (a scalar HWIO → OHWI copy, then XNNPACK's packing): res5's 3×3 convs (2.4 M weights) pay ~19 ms each a call
 * at any batch, more than their arithmetic at 4 images. XNNPACK's product packs `[K²·I, O]` in a third of that, and
 * the im2col matrix of a 7×7 map is smaller than the filter. Where the map is large the copy costs more than the
 * packing saves, so {@link preferIm2col} picks by size. Exact: each output is the same sum of products, in XNNPACK's
 * GEMM order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmHeap } from './filterGradWasm.js';

export const IM2COL_KERNEL = 'PPTSNIm2Col';

/** Geometry: `x` `[n, H, W, C]`, a K₁×K₂ window at `stride`, `top`/`left` zero rows/columns before, output Ho×Wo. */
export interface Im2ColAttrs {
  k: [number, number];
  stride: number;
  top: number;
  left: number;
  out: [number, number];
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

/**
 * Whether a conv of `M` = n·Ho·Wo output pixels to `O` channels should run as im2col + product on wasm: while M
 * < 2·O the im2col matrix (M·K²·I floats) is under twice the filter (K²·I·O), so copying it costs less than what
 * the product's cheaper packing saves (res5 at 4 and 16 images: yes; res4 at 4: no).
 */
export function preferIm2col(M: number, O: number): boolean {
  return M < 2 * O && wasmHeap() !== undefined;
}

/** The im2col kernel's function: `[n·Ho·Wo, K₁·K₂·C]`, rows of C floats copied or zero-filled in the heap. */
function im2colKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  const { k: [K1, K2], stride, top, left, out: [Ho, Wo] } = attrs as unknown as Im2ColAttrs;
  const [n, H, W, C] = x.shape as [number, number, number, number];
  const b = backend as WasmBackendLike;
  const memory = wasmHeap();
  if (!memory) throw new Error(`${IM2COL_KERNEL}: runs on tfjs-backend-wasm only`);
  const out = b.makeOutput([n * Ho * Wo, K1 * K2 * C], 'float32');
  const heap = new Float32Array(memory.buffer);
  const src0 = b.dataIdMap.get(x.dataId)!.memoryOffset >> 2;
  let o = b.dataIdMap.get(out.dataId)!.memoryOffset >> 2;
  for (let img = 0; img < n; img++) {
    for (let ho = 0; ho < Ho; ho++) {
      for (let wo = 0; wo < Wo; wo++) {
        for (let kh = 0; kh < K1; kh++) {
          const h = ho * stride - top + kh;
          for (let kw = 0; kw < K2; kw++, o += C) {
            const w = wo * stride - left + kw;
            if (h < 0 || h >= H || w < 0 || w >= W) heap.fill(0, o, o + C);
            else {
              const s = src0 + ((img * H + h) * W + w) * C;
              heap.copyWithin(o, s, s + C);
            }
          }
        }
      }
    }
  }
  return out;
}

/** The registered im2col kernel (registered on first use). */
export function ensureIm2colKernel(): tf.KernelConfig {
  if (!tf.getKernel(IM2COL_KERNEL, 'wasm')) tf.registerKernel({ kernelName: IM2COL_KERNEL, backendName: 'wasm', kernelFunc: im2colKernel as unknown as tf.KernelFunc });
  return tf.getKernel(IM2COL_KERNEL, 'wasm')!;
}

/**
 * conv2d of `x` `[n, H, W, C]` with `filter` `[K₁, K₂, C, O]` at `stride`, `top`/`left` zeros before (as many as
 * the output Ho×Wo needs after), as im2col + matMul on wasm. `[n, Ho, Wo, O]`, a new tensor; no gradient (it serves
 * the gradients of convGrad.ts).
 */
export function im2colConv(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, top: number, left: number, out: [number, number]): tf.Tensor4D {
  ensureIm2colKernel();
  const [K1, K2, C, O] = filter.shape;
  const attrs: Im2ColAttrs = { k: [K1, K2], stride, top, left, out };
  return tf.tidy(() => {
    const cols = tf.engine().runKernel(IM2COL_KERNEL, { x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
    return tf.reshape(tf.matMul(cols, tf.reshape(filter, [K1 * K2 * C, O]) as tf.Tensor2D), [x.shape[0], out[0], out[1], O]) as tf.Tensor4D;
  });
}
