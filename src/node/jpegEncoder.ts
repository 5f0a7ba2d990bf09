/**
 * JPEG encoding of rawframes as OpenCV's `cv2.imwrite` writes them (PaddleVideo's `extract_rawframes.py`):
 * quality 95, 4:2:0 chroma subsampling, baseline, the JPEG standard's (Annex K) quantisation tables scaled to
 * quality 95 (the same DQT as cv2's file). The encoder is @jsquash/jpeg (MozJPEG in WebAssembly), already the
 * package's JPEG decoder: a maintained libjpeg-turbo fork rather than our own DCT. Two differences from cv2's
 * file, neither changing what matters (the pixels within a level): the Huffman tables are optimised (lossless;
 * the standard ones trip a MozJPEG bug, see MAX_BLOCK_ERROR), and MozJPEG's trellis quantisation, which this build
 * keeps on whatever the options, picks slightly different coefficients: the decoded pixels are ~0.1–0.5 level
 * (mean) from cv2's JPEG of the same frame (test/unit/prepare.test.ts checks < 1), not byte-identical. The
 * system ffmpeg's mjpeg encoder was the other candidate: it has no IJG quality scale (`-q:v` is an MPEG
 * quantiser), so its tables are never cv2's, and it converts to full-range YUV itself.
 *
 * Encoding (~12 ms of CPU a 320×240 frame, ~2 ms more to check it by decoding it again; OpenCV's extraction takes
 * ~2 ms a frame in all) runs in worker threads, so `--jobs K` uses K cores; each is jpegEncoderWorker.ts (started
 * by workerThread.ts) and imports the codec by the file URLs resolved here.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { PPTSNError } from '../core/errors.js';
import type { JpegReply as Reply, JpegRequest, JpegWorkerData } from './jpegEncoderWorker.js';
import { startWorkerThread } from './workerThread.js';

/** @jsquash/jpeg options for libjpeg's output at quality 95 with 4:2:0 (cv2.imwrite's defaults). */
export const OPENCV_JPEG_OPTIONS = {
  quality: 95,
  baseline: true,
  arithmetic: false,
  progressive: false,
  optimize_coding: true, // lossless entropy coding only (cv2 writes the standard tables); see MAX_BLOCK_ERROR
  smoothing: 0,
  color_space: 3, // YCbCr
  quant_table: 0, // the JPEG standard's tables (libjpeg's), not MozJPEG's default
  trellis_multipass: false,
  trellis_opt_zero: false,
  trellis_opt_table: false,
  trellis_loops: 1,
  auto_subsample: false,
  chroma_subsample: 2, // 4:2:0
  separate_chroma_quality: false,
  chroma_quality: 95,
} as const;

/**
 * Every encoded frame is decoded again and compared with the frame: the worst 8×8 block's mean luma difference.
 * MozJPEG's trellis quantisation (on in this build, whatever the options) was seen to write blocks 100+ levels off
 * on binary noise (ffmpeg's `cellauto`) with the standard Huffman tables; with optimised ones it was not. At
 * quality 95 natural frames stay under ~4 levels in every block (cv2's files alike); pure noise reaches ~20 in
 * cv2's own files. A frame worse than this is encoded again progressively and the closer of the two is kept, so
 * a broken encode is replaced and content that is hard for JPEG costs a second encode, never a failure.
 */
export const MAX_BLOCK_ERROR = 8;

/** A pool of encoder threads. `encode` queues a frame; `close` ends the threads. */
export interface JpegEncoderPool {
  /** RGB24 pixels (`width·height·3` bytes, given up: the buffer is transferred) → the JPEG file's bytes. */
  encode(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array>;
  /** Frames queued or being encoded. */
  readonly pending: number;
  close(): Promise<void>;
}

/**
 * Starts `threads` encoder threads (each frame to the least busy). `attempts` (tests): the option sets tried in
 * turn while a frame's worst block is over MAX_BLOCK_ERROR (default: OPENCV_JPEG_OPTIONS, then progressive).
 */
export function createJpegEncoderPool(threads: number, attempts: readonly object[] = [OPENCV_JPEG_OPTIONS, { ...OPENCV_JPEG_OPTIONS, baseline: false, progressive: true }]): JpegEncoderPool {
  const require = createRequire(import.meta.url);
  const workerData: JpegWorkerData = {
    encodeUrl: pathToFileURL(require.resolve('@jsquash/jpeg/encode.js')).href,
    wasmPath: require.resolve('@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm'),
    decodeUrl: pathToFileURL(require.resolve('@jsquash/jpeg/decode.js')).href,
    decodeWasmPath: require.resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm'),
    attempts,
    maxError: MAX_BLOCK_ERROR,
  };
  const calls = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void; worker: number }>();
  const load: number[] = [];
  let nextId = 0;
  const workers = Array.from({ length: Math.max(1, threads) }, (_, w) => {
    const worker = startWorkerThread(new URL('./jpegEncoderWorker.js', import.meta.url), { workerData });
    load.push(0);
    const fail = (e: Error) => {
      for (const [id, c] of calls) {
        if (c.worker !== w) continue;
        calls.delete(id);
        c.reject(new PPTSNError('internal', `the JPEG encoder thread failed: ${e.message}`));
      }
    };
    worker.on('message', (r: Reply) => {
      const c = calls.get(r.id);
      if (!c) return;
      calls.delete(r.id);
      load[w]!--;
      if (r.ok) c.resolve(new Uint8Array(r.data));
      else c.reject(new PPTSNError('internal', `JPEG encoding failed: ${r.message}`));
    });
    worker.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
    worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    return worker;
  });
  return {
    encode(rgb, width, height) {
      let w = 0;
      for (let i = 1; i < load.length; i++) if (load[i]! < load[w]!) w = i;
      const id = nextId++;
      load[w]!++;
      const done = new Promise<Uint8Array>((resolve, reject) => calls.set(id, { resolve, reject, worker: w }));
      const buffer = rgb.byteOffset === 0 && rgb.byteLength === rgb.buffer.byteLength ? rgb : rgb.slice();
      workers[w]!.postMessage({ id, width, height, rgb: buffer } satisfies JpegRequest, [buffer.buffer as ArrayBuffer]);
      return done;
    },
    get pending() {
      return calls.size;
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
