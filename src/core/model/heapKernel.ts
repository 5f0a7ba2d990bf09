/**
 * What each of our WebAssembly kernels on tfjs-backend-wasm's heap shares (the BN forward and backward passes, the
 * momentum update, the transpose, the pooling gradients): an on/off switch for this JS realm (what the tests' and
 * benches' A/B toggle), whether the kernel can run now (switched on, tfjs wasm with a reachable heap, its modules valid there), its
 * functions bound to that heap inside the kernel function, and its registration as a tfjs kernel on first use.
 * `bind` is the kernel file's `kernelCache` (wasmAsm.ts): null where the runtime rejects the modules.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmHeap } from './filterGradWasm.js';

/** The slice of tfjs-backend-wasm a kernel function uses. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** A kernel function as tfjs calls it, with the backend typed as the part of wasm's we use. */
export type HeapKernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: WasmBackendLike; attrs?: tf.NamedAttrMap }) => tf.TensorInfo | tf.TensorInfo[];

export class HeapKernel<K, F> {
  private on = true;

  /** `name`: the tfjs kernel name (`PPTSN…`); `kernelFunc` is registered for `wasm` on the first {@link run}. */
  constructor(
    readonly name: string,
    private readonly bind: (memory: WebAssembly.Memory, kind: K) => F | null,
    private readonly kernelFunc: HeapKernelFunc,
  ) {}

  /** Turns the kernel off (or on again) for this JS realm: the tfjs ops then run. */
  set(on: boolean): void {
    this.on = on;
  }

  /** Whether the kernel of `kind` runs now: switched on, on wasm with a reachable heap, its modules valid there. */
  usable(kind: K): boolean {
    const memory = this.on ? wasmHeap() : undefined;
    return memory !== undefined && this.bind(memory, kind) !== null;
  }

  /**
   * Whether a kernel over channels-last data runs now for C channels: C a positive multiple of 4 (its vectors hold
   * 4 channels) and {@link usable}. The BN kernels' check.
   */
  usableForChannels(C: number, kind: K): boolean {
    return C % 4 === 0 && C > 0 && this.usable(kind);
  }

  /** Inside the kernel function: the heap and the functions of `kind` bound to it (an error if there are none). */
  bound(kind: K): { memory: WebAssembly.Memory; fns: F } {
    const memory = wasmHeap();
    const fns = memory && this.bind(memory, kind);
    if (!memory || !fns) throw new Error(`${this.name}: no SIMD or no reachable heap (check that the kernel is usable first)`);
    return { memory, fns };
  }

  /** Runs the kernel through tfjs (registered on first use), so that tapes, profiles and tidy see it. */
  run<T>(inputs: tf.NamedTensorMap, attrs: object): T {
    if (!tf.getKernel(this.name, 'wasm')) tf.registerKernel({ kernelName: this.name, backendName: 'wasm', kernelFunc: this.kernelFunc as unknown as tf.KernelFunc });
    return tf.engine().runKernel(this.name, inputs, attrs as tf.NamedAttrMap) as unknown as T;
  }
}

/** Channels-last `shape` as rows: C (the last axis) and m = the product of the others. */
export function channelRows(shape: readonly number[]): { C: number; m: number } {
  const C = shape[shape.length - 1]!;
  return { C, m: shape.reduce((a, b) => a * b, 1) / C };
}
