/**
 * The raw tensor type the readers return before any architecture check, and the conversions from the
 * element types weight files use (float32, float16, float64, bfloat16) to float32.
 */
import { PPTSNError } from '../errors.js';
import { decodeFloat16 } from './float16.js';

/** Element type a tensor was stored with in its file (it is always returned as float32). */
export type StoredDtype = 'float32' | 'float16' | 'float64' | 'bfloat16';

/** A tensor as read from a file: Paddle layout, row-major, converted to float32. */
export interface RawTensor {
  shape: number[];
  data: Float32Array;
  /** What the file stored; `data` is float32 regardless. */
  dtype: StoredDtype;
}

/** Whether typed arrays on this machine are little-endian (every browser and Node on x86/ARM; checked, not assumed). */
export const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Converts `bytes` (exactly `count` elements of `dtype`) to a new Float32Array. The caller has already checked
 * that `bytes.length` matches, so this never reads out of range.
 */
export function toFloat32(bytes: Uint8Array, dtype: StoredDtype, littleEndian: boolean, count: number): Float32Array {
  const itemsize = dtype === 'float32' ? 4 : dtype === 'float64' ? 8 : 2;
  if (bytes.length !== count * itemsize) throw new PPTSNError('internal', `toFloat32: ${bytes.length} bytes for ${count} × ${dtype}`);
  const out = new Float32Array(count);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'float32':
      if (littleEndian && hostLittleEndian) new Uint8Array(out.buffer).set(bytes);
      else for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, littleEndian);
      break;
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(i * 8, littleEndian);
      break;
    case 'float16': {
      const bits = new Uint16Array(count);
      for (let i = 0; i < count; i++) bits[i] = dv.getUint16(i * 2, littleEndian);
      out.set(decodeFloat16(bits));
      break;
    }
    case 'bfloat16': {
      // bfloat16 is the top half of a float32.
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(i * 2, littleEndian) << 16;
      break;
    }
  }
  return out;
}

/** Reorders a column-major (Fortran) array of `shape` into row-major order. */
export function fortranToC(data: Float32Array, shape: readonly number[]): Float32Array {
  const rank = shape.length;
  if (rank < 2) return data;
  const out = new Float32Array(data.length);
  // Fortran strides: the first axis is contiguous.
  const fStride: number[] = [];
  let s = 1;
  for (let d = 0; d < rank; d++) {
    fStride.push(s);
    s *= shape[d]!;
  }
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = data[src]!;
    // Advance the row-major multi-index (last axis fastest) and keep the Fortran offset in step.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      src += fStride[d]!;
      if (idx[d]! < shape[d]!) break;
      src -= fStride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/** `[a, b, c]` as in messages: "expected [128, 64, 3, 3], found [64, 64, 3, 3]". */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
