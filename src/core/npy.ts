/**
 * A minimal NumPy `.npy` reader/writer (format versions 1.0–3.0) for tensors exchanged with PaddleVideo/Python:
 * the CLI's `--tensor` input and `--dump-input` output, and the parity tests. Writes float32 little-endian C-order;
 * reads float32/float64/int32/uint8 (little-endian or byte-order-free), C order, converting to float32.
 */
import { PPTSNError } from './errors.js';

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Encodes float32 data of `shape` as a version 1.0 .npy file (header padded to a multiple of 64 bytes). */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new PPTSNError('invalid-argument', `npy: shape [${shape.join(', ')}] holds ${count} values, data has ${data.length}.`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // magic(6) + version(2) + header length(2) + header + '\n' must be a multiple of 64.
  const pad = (64 - ((10 + header.length + 1) % 64)) % 64;
  header = header + ' '.repeat(pad) + '\n';
  if (header.length > 65535) throw new PPTSNError('invalid-argument', 'npy: header too long.');
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const body = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < data.length; i++) body.setFloat32(i * 4, data[i]!, true);
  return out;
}

function bad(msg: string): never {
  throw new PPTSNError('invalid-argument', `Not a supported .npy file: ${msg}.`);
}

/** Decodes a .npy file to float32 (see module doc for accepted dtypes). Refuses Fortran order and object arrays. */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) bad('missing \\x93NUMPY magic');
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) bad('truncated header');
    headerLen = dv.getUint32(8, true);
    offset = 12;
  } else bad(`format version ${major}`);
  if (offset + headerLen > bytes.length) bad('truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(offset, offset + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1] ?? bad('no descr');
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] ?? bad('no fortran_order');
  if (fortran === 'True') bad('Fortran order is not supported');
  const shapeMatch = /'shape'\s*:\s*\(([^)]*)\)/.exec(header) ?? bad('no shape');
  const shape = shapeMatch[1]!.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    const n = Number(s.replace(/L$/, ''));
    if (!Number.isInteger(n) || n < 0) bad(`bad dimension ${s}`);
    return n;
  });
  const count = shape.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  const kinds: Record<string, { size: number; read: (o: number) => number }> = {
    '<f4': { size: 4, read: (o) => dv.getFloat32(o, true) },
    '<f8': { size: 8, read: (o) => dv.getFloat64(o, true) },
    '<i4': { size: 4, read: (o) => dv.getInt32(o, true) },
    '|u1': { size: 1, read: (o) => dv.getUint8(o) },
    '<u1': { size: 1, read: (o) => dv.getUint8(o) },
  };
  const kind = kinds[descr] ?? bad(`dtype ${descr} (expected <f4, <f8, <i4 or |u1)`);
  if (start + count * kind.size > bytes.length) bad(`data truncated: ${count} values of ${descr} need ${count * kind.size} bytes, ${bytes.length - start} present`);
  const data = new Float32Array(count);
  if (descr === '<f4' && (bytes.byteOffset + start) % 4 === 0) {
    // Fast path: aligned little-endian float32 (all platforms tfjs runs on are little-endian).
    data.set(new Float32Array(bytes.buffer, bytes.byteOffset + start, count));
  } else {
    for (let i = 0; i < count; i++) data[i] = kind.read(start + i * kind.size);
  }
  return { shape, data };
}
