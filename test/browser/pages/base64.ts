/**
 * Base64 of bytes, for shipping tensors and pixels from a test page to Node compactly. Chunked because
 * String.fromCharCode(...bytes) with more than ~64 K arguments overflows the stack.
 */
export function toBase64(data: ArrayBufferView): string {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
