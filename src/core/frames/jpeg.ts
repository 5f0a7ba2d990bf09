/**
 * JPEG decoding with the pixels PIL gives (docs/contract.md §4: rawframes are "decoded by PIL as RGB"). PIL uses libjpeg(-turbo)
 * with its defaults: ISLOW integer IDCT and "fancy" (triangular) chroma upsampling. @jsquash/jpeg is MozJPEG (a
 * libjpeg-turbo fork) compiled to WebAssembly with the same defaults, so it runs in Node and in the browser and
 * matches PIL bit for bit on OpenCV-written frames (checked in test/unit/rawframes.test.ts). ffmpeg's mjpeg
 * decoder + swscale was measured too and is off by up to ~0.2 (p99) on the normalised tensor at colour edges.
 *
 * The wasm module is initialised by the caller (`initJpeg`), since Node and the bundlers locate it differently.
 */
import decodeJpeg, { init } from '@jsquash/jpeg/decode.js';
import type { FramePixels } from './pixels.js';

let ready: Promise<void> | undefined;

/** Initialises the decoder with a compiled module (Node) or lets it fetch its own `.wasm` (bundlers); idempotent. */
export function initJpeg(module?: WebAssembly.Module): Promise<void> {
  // init(module) is accepted by the JS (a compiled WebAssembly.Module) though its .d.ts only lists the options form.
  ready ??= module ? (init as unknown as (m: WebAssembly.Module) => Promise<void>)(module) : init();
  return ready;
}

/** Decodes a baseline or progressive JPEG to RGBA pixels (alpha 255), EXIF orientation ignored as PIL does. */
export async function decodeJpegPixels(bytes: Uint8Array): Promise<FramePixels> {
  if (!(bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8)) throw new Error('not a JPEG file (no SOI marker)');
  if (isTruncatedJpeg(bytes)) {
    // libjpeg pads a cut file with grey and carries on; PIL (PaddleVideo's reader) raises instead.
    throw new Error('the JPEG is truncated (its image data has no end-of-image marker), which PIL refuses too ("image file is truncated"): extract the frame again');
  }
  await initJpeg();
  const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
  const img = await decodeJpeg(buffer);
  return { width: img.width, height: img.height, channels: 4, data: img.data };
}

/**
 * True when the file ends inside its image data: no EOI marker (FF D9) after the last start-of-scan (FF DA). Inside
 * entropy-coded data a 0xFF byte is always stuffed (FF 00), so FF D9 there is the real end; an EXIF thumbnail's
 * own EOI comes before the main image's last scan, so it does not count.
 */
export function isTruncatedJpeg(bytes: Uint8Array): boolean {
  let lastScan = -1;
  let lastEnd = -1;
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] !== 0xff) continue;
    const m = bytes[i + 1];
    if (m === 0xda) lastScan = i;
    else if (m === 0xd9) lastEnd = i;
  }
  return lastScan >= 0 && lastEnd < lastScan;
}
