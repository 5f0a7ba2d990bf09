/**
 * Paddle's Momentum update (optimizer.ts) of one parameter as one pass of our own WebAssembly SIMD kernel on
 * tfjs-backend-wasm, `PPTSNMomentum`, instead of six tfjs ops (each a pass over the parameter, with its own
 * allocation): it reads w, g and v where tfjs keeps them and writes w′ and v′ into tensors tfjs allocated.
 *
 *   gr = g + w·decay   (decay > 0)        v′ = v·μ + gr        w′ = w − (nesterov ? gr + v′·μ : v′)·lr
 *
 * The same float32 operations in the same order as the tfjs ops (plain multiply and add, no fused multiply-add),
 * so the result is bit-identical to them. Why: ResNet50's res5 holds 15.8 M parameters; the ops took 36–45 ms a
 * step in Node, a quarter of the CLI's `last-stage` step after its pass moved to onnxruntime (issue 23). The module
 * is written at run time by wasmAsm.ts (no binary in the repo) and bound to tfjs's heap (shared in the threaded
 * build); single-threaded.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset } from '../model/filterGradWasm.js';
import { HeapKernel, type HeapKernelFunc } from '../model/heapKernel.js';
import { Code, I32, V128, kernelCache, moduleBytes } from '../model/wasmAsm.js';

export const MOMENTUM_KERNEL = 'PPTSNMomentum';

export interface MomentumAttrs {
  /** L2 coefficient (0: none). */
  decay: number;
  momentum: number;
  /** The parameter's learning rate (global × multiplier). */
  lr: number;
  nesterov: boolean;
}

type Update = (w: number, g: number, v: number, wOut: number, vOut: number, n4: number, decayBits: number, muBits: number, lrBits: number) => void;

const PARAMS = 9;

/** The kernel's function for one (decay?, nesterov) pair: n4 vectors of 4 floats from byte offsets w, g, v. */
function updateModule(decay: boolean, nesterov: boolean, shared: boolean): Uint8Array<ArrayBuffer> {
  const [w, g, v, wo, vo, n4, decayBits, muBits, lrBits] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [decayV, muV, lrV, wv, gr, vn] = [9, 10, 11, 12, 13, 14];
  const c = new Code();
  const splat = (bits: number, into: number) => c.get(bits).f32ReinterpretI32().f32x4Splat().set(into);
  if (decay) splat(decayBits, decayV);
  splat(muBits, muV);
  splat(lrBits, lrV);
  c.loop();
  c.get(w).v128Load().set(wv);
  c.get(g).v128Load();
  if (decay) c.get(wv).get(decayV).f32x4Mul().f32x4Add();
  c.set(gr);
  c.get(v).v128Load().get(muV).f32x4Mul().get(gr).f32x4Add().set(vn);
  c.get(vo).get(vn).v128Store();
  c.get(wo).get(wv);
  if (nesterov) c.get(gr).get(vn).get(muV).f32x4Mul().f32x4Add();
  else c.get(vn);
  c.get(lrV).f32x4Mul().f32x4Sub().v128Store();
  for (const p of [w, g, v, wo, vo]) c.inc(p, 16);
  c.get(n4).i32(1).sub().tee(n4).i32(0).ne().brIf(0).end();
  return moduleBytes({ name: 'update', params: PARAMS, locals: [{ count: 6, type: V128 }], body: c }, shared);
}

/** The update bound to a heap, per (decay?, nesterov) (null: the tfjs ops run). */
const updates = kernelCache<string, Update>(
  (kind, shared) => [{ bytes: updateModule(kind[0] === 'd', kind[1] === 'n', shared), name: 'update' }],
  ([update]) => update as Update,
);
/** The kinds: with or without decay, Nesterov or plain. */
const kindOf = (decay: boolean, nesterov: boolean) => `${decay ? 'd' : '-'}${nesterov ? 'n' : '-'}`;

const kernel = new HeapKernel<string, Update>(MOMENTUM_KERNEL, updates, (args) => kernelFunc(args));

/** Turns the kernel off (or on again) for this JS realm: the tfjs ops then run. What the tests' A/B toggles. */
export function setFusedMomentum(on: boolean): void {
  kernel.set(on);
}

/** Whether {@link fusedMomentum} runs on the active backend (wasm, SIMD, a reachable heap) for these attributes. */
export function useFusedMomentum(attrs: Pick<MomentumAttrs, 'decay' | 'nesterov'>): boolean {
  return kernel.usable(kindOf(attrs.decay > 0, attrs.nesterov));
}

const bits = (x: number) => new Int32Array(Float32Array.of(x).buffer)[0]!;

function kernelFunc({ inputs, backend, attrs }: Parameters<HeapKernelFunc>[0]): tf.TensorInfo[] {
  const { w, g, v } = inputs as { w: tf.TensorInfo; g: tf.TensorInfo; v: tf.TensorInfo };
  const a = attrs as unknown as MomentumAttrs;
  const { memory, fns: update } = kernel.bound(kindOf(a.decay > 0, a.nesterov));
  const b = backend;
  const [wOut, vOut] = [b.makeOutput(w.shape, 'float32'), b.makeOutput(w.shape, 'float32')];
  const n = w.shape.reduce((x, y) => x * y, 1);
  const n4 = n >> 2;
  const ptr = [w, g, v, wOut, vOut].map(heapOffset) as [number, number, number, number, number];
  if (n4 > 0) update(...ptr, n4, bits(a.decay), bits(a.momentum), bits(a.lr));
  if (n4 * 4 < n) {
    // The last n % 4 values, by the same float32 operations.
    const f = Math.fround;
    const [wa, ga, va, woa, voa] = ptr.map((p) => new Float32Array(memory.buffer, p, n));
    const [decay, mu, lr] = [f(a.decay), f(a.momentum), f(a.lr)];
    for (let i = n4 * 4; i < n; i++) {
      const gr = decay > 0 ? f(ga![i]! + f(wa![i]! * decay)) : ga![i]!;
      const vn = f(f(va![i]! * mu) + gr);
      voa![i] = vn;
      woa![i] = f(wa![i]! - f((a.nesterov ? f(gr + f(vn * mu)) : vn) * lr));
    }
  }
  return [wOut, vOut];
}

/** w′ and v′ (new tensors, the caller's) by the kernel; the caller checks {@link useFusedMomentum}. */
export function fusedMomentum(w: tf.Tensor, g: tf.Tensor, v: tf.Tensor, attrs: MomentumAttrs): [tf.Tensor, tf.Tensor] {
  return kernel.run<[tf.Tensor, tf.Tensor]>({ w, g, v }, attrs);
}
