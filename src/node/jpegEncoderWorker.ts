/**
 * A JPEG encoder thread of `createJpegEncoderPool` (jpegEncoder.ts): @jsquash/jpeg's MozJPEG encoder and decoder,
 * imported by the file URLs the pool resolved, each frame encoded with the option sets tried in turn until its worst
 * 8×8 block is within `maxError` levels (jpegEncoder.ts's MAX_BLOCK_ERROR says why), the closest kept.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

/** What the pool passes to each thread. */
export interface JpegWorkerData {
  encodeUrl: string;
  wasmPath: string;
  decodeUrl: string;
  decodeWasmPath: string;
  attempts: readonly object[];
  maxError: number;
}

export interface JpegRequest { id: number; width: number; height: number; rgb: Uint8Array }
export type JpegReply = { id: number; ok: true; data: ArrayBuffer } | { id: number; ok: false; message: string };

type Encode = (image: { data: Uint8ClampedArray; width: number; height: number; colorSpace: 'srgb' }, options: object) => Promise<ArrayBuffer>;
type Decode = (jpeg: ArrayBuffer) => Promise<{ data: Uint8ClampedArray }>;

const data = workerData as JpegWorkerData;
const port = parentPort!;

const ready = (async () => {
  const enc = (await import(data.encodeUrl)) as { default: Encode; init(module: WebAssembly.Module): Promise<unknown> };
  await enc.init(await WebAssembly.compile(readFileSync(data.wasmPath)));
  const dec = (await import(data.decodeUrl)) as { default: Decode; init(module: WebAssembly.Module): Promise<unknown> };
  await dec.init(await WebAssembly.compile(readFileSync(data.decodeWasmPath)));
  return { encode: enc.default, decode: dec.default };
})();

/** The worst 8×8 block's mean absolute luma difference (levels, BT.601) between the decoded JPEG and the frame. */
function worstBlock(rgb: Uint8Array, rgba: Uint8ClampedArray, width: number, height: number): number {
  const bw = Math.ceil(width / 8), bh = Math.ceil(height / 8);
  const sums = new Float64Array(bw * bh), counts = new Float64Array(bw * bh);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 3 * (y * width + x), j = 4 * (y * width + x), b = (y >> 3) * bw + (x >> 3);
      sums[b]! += Math.abs(0.299 * (rgb[i]! - rgba[j]!) + 0.587 * (rgb[i + 1]! - rgba[j + 1]!) + 0.114 * (rgb[i + 2]! - rgba[j + 2]!));
      counts[b]!++;
    }
  }
  let worst = 0;
  for (let b = 0; b < sums.length; b++) worst = Math.max(worst, sums[b]! / counts[b]!);
  return worst;
}

port.on('message', async (msg: JpegRequest) => {
  try {
    const { encode, decode } = await ready;
    const { width, height, rgb } = msg;
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
      rgba[j] = rgb[i]!; rgba[j + 1] = rgb[i + 1]!; rgba[j + 2] = rgb[i + 2]!; rgba[j + 3] = 255;
    }
    let out: ArrayBuffer | undefined;
    let error = Infinity;
    for (const options of data.attempts) {
      const jpeg = await encode({ data: rgba, width, height, colorSpace: 'srgb' }, options);
      const e = worstBlock(rgb, (await decode(jpeg)).data, width, height);
      if (e < error) { out = jpeg; error = e; }
      if (error <= data.maxError) break;
    }
    port.postMessage({ id: msg.id, ok: true, data: out! } satisfies JpegReply, [out!]);
  } catch (e) {
    port.postMessage({ id: msg.id, ok: false, message: e instanceof Error ? e.message : String(e) } satisfies JpegReply);
  }
});
