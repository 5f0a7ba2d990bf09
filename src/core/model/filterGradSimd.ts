/**
 * Our WebAssembly SIMD kernel for one tap of a stride-1 convolution's filter gradient, read straight from the NHWC
 * input and dy in tfjs-backend-wasm's heap (no StridedSlice, transpose or copy):
 *
 *   out[i, o] += Σ_{img < imgs, r < rows, c < cols} a[img·aImg + r·aRow + c·aCol + i] · b[img·bImg + r·bRow + c·bCol + o]
 *
 * with `a` the input at the tap's offset and `b` dy (strides in bytes; `out` `[I, O]`, one tap of dW `[K, K, I, O]`).
 * The caller ({@link ./filterGradWasm.ts}) cuts the rows and columns that would read the zero padding, so the loop
 * has no bounds test. Register-blocked: a block of IB input channels × OB output channels (IB·OB/4 f32x4
 * accumulators) is loaded from `out`, accumulated over every (img, r, c) position — per position one v128 load
 * per 4 of OB, one load-and-splat per input channel, IB·OB/4 multiply-adds — and stored back. Needs I % IB = 0 and
 * O % OB = 0. The multiply-add is `f32x4.relaxed_madd` where the runtime validates it (a fused multiply-add on
 * hardware with FMA), else `f32x4.mul` + `f32x4.add`.
 */
import { Code, FuncSpec, I32, V128, moduleBytes } from './wasmAsm.js';

/** Register block: input channels (broadcast scalars) × output channels (f32x4 lanes). */
export interface Block { ib: number; ob: number }

/** The block used: 4 × 8 = 8 accumulators + 2 dy vectors + 1 splat, within x64's 16 vector registers. */
export const BLOCK: Block = { ib: 4, ob: 8 };

export const KERNEL_EXPORT = 'dwTap';

/** Parameters, in call order (all i32; pointers and strides in bytes). */
const P = { ap0: 0, bp0: 1, op: 2, imgs: 3, rows: 4, cols: 5, aImg: 6, bImg: 7, aRow: 8, bRow: 9, aCol: 10, bCol: 11, I: 12, O: 13 } as const;
const PARAMS = 14;
/** i32 arguments of one call of the kernel (what a helper thread is handed per call, parallelExecutor.ts). */
export const TAP_ARGS = PARAMS;

/** The exported function's signature in JS. */
export type DwTap = (ap0: number, bp0: number, op: number, imgs: number, rows: number, cols: number, aImg: number, bImg: number, aRow: number, bRow: number, aCol: number, bCol: number, I: number, O: number) => void;

/** The tap kernel as a function spec (see the file comment), with `relaxed` choosing the multiply-add. */
export function tapKernel(relaxed: boolean, block: Block = BLOCK): FuncSpec {
  const { ib: IB, ob: OB } = block;
  if (OB % 4 !== 0 || IB < 1) throw new RangeError(`tapKernel: block ${IB}×${OB} needs OB a multiple of 4`);
  const OV = OB / 4;
  // i32 locals after the parameters
  let next = PARAMS;
  const L = { ib: next++, ob: next++, ap: next++, bp: next++, apImg: next++, bpImg: next++, apRow: next++, bpRow: next++, im: next++, r: next++, c: next++, optr: next++, tmp: next++, oRow: next++ };
  const i32Count = next - PARAMS;
  const acc = (i: number, j: number) => next + i * OV + j;
  const bv = (j: number) => next + IB * OV + j;
  const av = next + IB * OV + OV;
  const code = new Code();
  const countDown = (local: number) => code.get(local).i32(1).sub().tee(local).i32(0).ne();

  code.get(P.O).i32(4).mul().set(L.oRow);
  code.i32(0).set(L.ob).loop(); // over output-channel blocks
  code.i32(0).set(L.ib).loop(); // over input-channel blocks
  // optr = op + (ib·O + ob)·4; the accumulators are out's IB rows × OB columns there
  code.get(P.op).get(L.ib).get(P.O).mul().get(L.ob).add().i32(4).mul().add().set(L.optr);
  code.get(L.optr).set(L.tmp);
  for (let i = 0; i < IB; i++) {
    for (let j = 0; j < OV; j++) code.get(L.tmp).v128Load(16 * j).set(acc(i, j));
    code.inc(L.tmp, { local: L.oRow });
  }
  code.get(P.ap0).get(L.ib).i32(4).mul().add().set(L.apImg);
  code.get(P.bp0).get(L.ob).i32(4).mul().add().set(L.bpImg);
  code.get(P.imgs).set(L.im).loop(); // images
  code.get(L.apImg).set(L.apRow).get(L.bpImg).set(L.bpRow);
  code.get(P.rows).set(L.r).loop(); // rows
  code.get(L.apRow).set(L.ap).get(L.bpRow).set(L.bp);
  code.get(P.cols).set(L.c).loop(); // columns: the hot loop
  for (let j = 0; j < OV; j++) code.get(L.bp).v128Load(16 * j).set(bv(j));
  for (let i = 0; i < IB; i++) {
    code.get(L.ap).load32Splat(4 * i).set(av);
    for (let j = 0; j < OV; j++) {
      if (relaxed) code.get(av).get(bv(j)).get(acc(i, j)).f32x4RelaxedMadd().set(acc(i, j));
      else code.get(acc(i, j)).get(av).get(bv(j)).f32x4Mul().f32x4Add().set(acc(i, j));
    }
  }
  code.inc(L.ap, { local: P.aCol }).inc(L.bp, { local: P.bCol });
  countDown(L.c).brIf(0).end();
  code.inc(L.apRow, { local: P.aRow }).inc(L.bpRow, { local: P.bRow });
  countDown(L.r).brIf(0).end();
  code.inc(L.apImg, { local: P.aImg }).inc(L.bpImg, { local: P.bImg });
  countDown(L.im).brIf(0).end();
  code.get(L.optr).set(L.tmp);
  for (let i = 0; i < IB; i++) {
    for (let j = 0; j < OV; j++) code.get(L.tmp).get(acc(i, j)).v128Store(16 * j);
    code.inc(L.tmp, { local: L.oRow });
  }
  code.inc(L.ib, IB).get(L.ib).get(P.I).ltU().brIf(0).end();
  code.inc(L.ob, OB).get(L.ob).get(P.O).ltU().brIf(0).end();
  return { name: KERNEL_EXPORT, params: PARAMS, locals: [{ count: i32Count, type: I32 }, { count: IB * OV + OV + 1, type: V128 }], body: code };
}

/** Module bytes of the tap kernel importing `env.memory` (shared for a threaded heap). */
export function tapModule(relaxed: boolean, sharedMemory: boolean, block: Block = BLOCK): Uint8Array<ArrayBuffer> {
  return moduleBytes(tapKernel(relaxed, block), sharedMemory);
}
