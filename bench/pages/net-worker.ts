/**
 * Bench worker: network throughput of one runtime, in a fresh worker per measurement so backend and thread
 * settings start clean. tfjs runs through the library's own backend selection (src/worker/backends.ts) and
 * Recognizer, so it measures what `PPTSN` runs; onnxruntime-web runs the same network exported by ../onnx.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expose } from 'comlink';
import { configureWasm, selectBackend } from '../../src/worker/backends.js';
import { Recognizer } from '../../src/core/model/recognizer.js';
import type { Depth } from '../../src/core/model/arch.js';
import type { BackendName } from '../../src/api/types.js';
import { seededStateDict } from '../../test/helpers/seeded.js';
import { ppTSNToOnnx } from '../onnx.js';
import { summarizeProfile, type ProfileRow } from '../profile.js';

const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

export interface NetOptions {
  depth: Depth;
  classes: number;
  size: number;
  chunkSizes: number[];
  reps: number;
  /** wasm: use threads when the page allows (undefined = the library's default). */
  threads?: boolean;
  profile?: boolean;
  threadsCount?: number;
}

export interface ChunkResult {
  chunkSize: number;
  /** Seconds per forward pass of the chunk, one per repetition. */
  seconds: number[];
  imagesPerSecond: number;
}

export interface NetResult {
  runtime: string;
  description: string;
  threads: number;
  crossOriginIsolated: boolean;
  setupMs: number;
  chunks: ChunkResult[];
  profile?: ProfileRow[];
  /** Logits of a fixed input, for the cross-runtime agreement check. */
  check: number[];
  wasmHeapBytes?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Deterministic input in [-2, 2): content does not change the timing of a dense network. */
function input(n: number, size: number): Float32Array {
  const x = new Float32Array(n * size * size * 3);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 4096) / 1024 - 2;
  return x;
}

async function timeChunks(chunkSizes: number[], reps: number, run: (n: number) => Promise<void>): Promise<ChunkResult[]> {
  const out: ChunkResult[] = [];
  for (const c of chunkSizes) {
    await run(c); // warm-up: first-call allocations, operator creation, shader compilation
    const seconds: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      await run(c);
      seconds.push((performance.now() - t0) / 1000);
    }
    out.push({ chunkSize: c, seconds, imagesPerSecond: c / median(seconds) });
  }
  return out;
}

const api = {
  async tfjs(backend: BackendName, o: NetOptions): Promise<NetResult> {
    const t0 = performance.now();
    configureWasm(WASM_PATHS, o.threads);
    if (o.threadsCount) (await import('@tensorflow/tfjs-backend-wasm')).setThreadsCount(o.threadsCount);
    const sel = await selectBackend(backend);
    const sd = seededStateDict(o.depth, o.classes, 1234);
    const rec = Recognizer.fromStateDict(sd);
    const setupMs = performance.now() - t0;
    const fcW = tf.tensor2d(sd.get('head.fc.weight')!.data, [rec.arch.featureDim, o.classes]);
    const fcB = tf.tensor1d(sd.get('head.fc.bias')!.data);
    const inputs = new Map<number, tf.Tensor4D>();
    const x = (n: number) => {
      if (!inputs.has(n)) inputs.set(n, tf.tensor4d(input(n, o.size), [n, o.size, o.size, 3]));
      return inputs.get(n)!;
    };
    const forward = (n: number) => {
      const xn = x(n); // created outside the tidy, which would dispose it
      return tf.tidy(() => tf.add(tf.matMul(rec.features(xn), fcW), fcB));
    };
    const chunks = await timeChunks(o.chunkSizes, o.reps, async (n) => {
      const y = forward(n);
      await y.data();
      y.dispose();
    });
    let profile: ProfileRow[] | undefined;
    if (o.profile) {
      const n = o.chunkSizes[0]!;
      const info = await tf.profile(() => {
        const y = forward(n);
        return y;
      });
      profile = await summarizeProfile(info.kernels, n);
    }
    const chk = tf.tidy(() => tf.add(tf.matMul(rec.features(tf.tensor4d(input(1, 64), [1, 64, 64, 3])), fcW), fcB));
    const check = Array.from(await chk.data()).slice(0, 8);
    chk.dispose();
    const b = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
    let threads = 1;
    if (sel.backend === 'wasm') {
      const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
      threads = getThreadsCount();
    }
    return {
      runtime: `tfjs-${sel.backend}`,
      description: sel.report.find((r) => r.status === 'selected')?.reason ?? '',
      threads,
      crossOriginIsolated: globalThis.crossOriginIsolated,
      setupMs,
      chunks,
      ...(profile ? { profile } : {}),
      check,
      ...(b.wasm ? { wasmHeapBytes: b.wasm.HEAPU8.buffer.byteLength } : {}),
    };
  },

  async ort(o: NetOptions & { threads?: boolean; numThreads?: number }): Promise<NetResult> {
    const t0 = performance.now();
    const ort = await import('onnxruntime-web/wasm');
    ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
    ort.env.wasm.numThreads = o.numThreads ?? 2;
    ort.env.wasm.simd = true;
    const sd = seededStateDict(o.depth, o.classes, 1234);
    const model = ppTSNToOnnx(sd, o.depth, o.classes);
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const setupMs = performance.now() - t0;
    // The same pixels as the tfjs run, transposed to NCHW.
    const nchw = (n: number, size: number) => {
      const nhwc = input(n, size);
      const out = new Float32Array(nhwc.length);
      for (let i = 0; i < n; i++) for (let y = 0; y < size; y++) for (let xx = 0; xx < size; xx++) for (let c = 0; c < 3; c++) {
        out[((i * 3 + c) * size + y) * size + xx] = nhwc[((i * size + y) * size + xx) * 3 + c]!;
      }
      return new ort.Tensor('float32', out, [n, 3, size, size]);
    };
    const inputs = new Map<number, InstanceType<typeof ort.Tensor>>();
    const chunks = await timeChunks(o.chunkSizes, o.reps, async (n) => {
      if (!inputs.has(n)) inputs.set(n, nchw(n, o.size));
      const r = await session.run({ x: inputs.get(n)! });
      void r.logits!.data;
    });
    const r = await session.run({ x: nchw(1, 64) });
    const check = Array.from(r.logits!.data as Float32Array).slice(0, 8);
    await session.release();
    return {
      runtime: 'onnxruntime-web-wasm',
      description: `onnxruntime-web ${ort.env.versions.web ?? ''} WASM SIMD, numThreads ${ort.env.wasm.numThreads}`,
      threads: Number(ort.env.wasm.numThreads),
      crossOriginIsolated: globalThis.crossOriginIsolated,
      setupMs,
      chunks,
      check,
    };
  },
};

export type NetWorkerApi = typeof api;
expose(api);
