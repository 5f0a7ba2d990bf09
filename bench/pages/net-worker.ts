/**
 * Bench worker: one runtime's network, set up once, then timed one forward pass at a time so bench/run.ts can
 * interleave runtimes rep by rep (the machine is shared: alternating keeps load swings from favouring one side).
 * tfjs runs through the library's own backend selection (src/worker/backends.ts: threads, flags) and Recognizer;
 * onnxruntime-web runs the same network exported by ../onnx.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expose } from 'comlink';
import { configureWasm, selectBackend, wasmThreadCountNow } from '../../src/worker/backends.js';
import { Recognizer } from '../../src/core/model/recognizer.js';
import type { Depth } from '../../src/core/model/arch.js';
import type { BackendName } from '../../src/api/types.js';
import { seededStateDict } from '../../test/helpers/seeded.js';
import { ppTSNToOnnx } from '../onnx.js';
import { summarizeProfile, type ProfileRow } from '../profile.js';
import { trainStepper } from '../trainStep.js';
import type { TrainableSubset } from '../../src/core/model/trainable.js';
// The trainer's gradients, as the library's trainer worker registers them (src/worker/trainerEngine.ts).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';

const WASM_PATHS = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

export interface NetOptions {
  depth: Depth;
  classes: number;
  size: number;
  /** tfjs wasm: false forces one thread (default: the library's default). onnxruntime-web: numThreads. */
  threads?: boolean;
  numThreads?: number;
  /** kind 'train': the strategy whose training step `time(n)` measures (bench/trainStep.ts). */
  strategy?: TrainableSubset;
}

export interface SetupInfo {
  runtime: string;
  description: string;
  threads: number;
  crossOriginIsolated: boolean;
  setupMs: number;
}

/** Deterministic input in [-2, 2), NHWC: content does not change the timing of a dense network. */
export function benchInput(n: number, size: number): Float32Array {
  const x = new Float32Array(n * size * size * 3);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 4096) / 1024 - 2;
  return x;
}

interface Runner {
  info: SetupInfo;
  run(n: number): Promise<void>;
  check(): Promise<number[]>;
  profile?(n: number): Promise<ProfileRow[]>;
  memory?(): Record<string, number>;
}

let runner: Runner | null = null;

async function tfjsRunner(backend: BackendName, o: NetOptions): Promise<Runner> {
  const t0 = performance.now();
  configureWasm(WASM_PATHS, o.threads);
  const sel = await selectBackend(backend);
  const sd = seededStateDict(o.depth, o.classes, 1234);
  const rec = Recognizer.fromStateDict(sd);
  const fcW = tf.tensor2d(sd.get('head.fc.weight')!.data, [rec.arch.featureDim, o.classes]);
  const fcB = tf.tensor1d(sd.get('head.fc.bias')!.data);
  const inputs = new Map<number, tf.Tensor4D>();
  const forward = (n: number, size = o.size) => {
    const key = n * 100000 + size;
    if (!inputs.has(key)) inputs.set(key, tf.tensor4d(benchInput(n, size), [n, size, size, 3]));
    const x = inputs.get(key)!; // made outside the tidy, which would dispose it
    return tf.tidy(() => tf.add(tf.matMul(rec.features(x), fcW), fcB));
  };
  const info: SetupInfo = {
    runtime: `tfjs-${sel.backend}`,
    description: sel.report.find((r) => r.status === 'selected')?.reason ?? '',
    threads: sel.backend === 'wasm' ? wasmThreadCountNow() : 1,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    setupMs: performance.now() - t0,
  };
  return {
    info,
    async run(n) {
      const y = forward(n);
      await y.data();
      y.dispose();
    },
    async check() {
      const y = forward(1, 64);
      const v = Array.from(await y.data()).slice(0, 8);
      y.dispose();
      return v;
    },
    async profile(n) {
      const info = await tf.profile(() => forward(n));
      return summarizeProfile(info.kernels as never);
    },
    memory() {
      const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
      const b = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
      return { numTensors: m.numTensors, numBytes: m.numBytes, ...(m.numBytesInGPU !== undefined ? { numBytesInGPU: m.numBytesInGPU } : {}), ...(b.wasm ? { wasmHeapBytes: b.wasm.HEAPU8.buffer.byteLength } : {}) };
    },
  };
}

/** One training step per `run(n)` (bench/trainStep.ts), on the library's backend selection as the trainer. */
async function trainRunner(backend: BackendName, o: NetOptions): Promise<Runner> {
  const t0 = performance.now();
  configureWasm(WASM_PATHS, o.threads);
  const sel = await selectBackend(backend);
  const stepper = trainStepper(o.depth, o.classes, o.size, o.strategy ?? 'full');
  return {
    info: {
      runtime: `chromium-${sel.backend}`,
      description: `tfjs ${sel.backend} in a bench worker, ${o.strategy ?? 'full'}: ${sel.report.find((r) => r.status === 'selected')?.reason ?? ''}`,
      threads: sel.backend === 'wasm' ? wasmThreadCountNow() : 1,
      crossOriginIsolated: globalThis.crossOriginIsolated,
      setupMs: performance.now() - t0,
    },
    async run(n) {
      await stepper.step(n);
    },
    async check() {
      return [];
    },
    profile: (n) => stepper.profile(n),
    memory() {
      const b = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
      return { numTensors: tf.memory().numTensors, ...(b.wasm ? { wasmHeapBytes: b.wasm.HEAPU8.buffer.byteLength } : {}) };
    },
  };
}

async function ortRunner(o: NetOptions): Promise<Runner> {
  const t0 = performance.now();
  const ort = await import('onnxruntime-web/wasm');
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  ort.env.wasm.numThreads = o.numThreads ?? 2;
  ort.env.wasm.simd = true;
  const sd = seededStateDict(o.depth, o.classes, 1234);
  const session = await ort.InferenceSession.create(ppTSNToOnnx(sd, o.depth, o.classes), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  // The same pixels as the tfjs runs, in NCHW.
  const nchw = (n: number, size: number) => {
    const nhwc = benchInput(n, size);
    const out = new Float32Array(nhwc.length);
    for (let i = 0; i < n; i++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++) {
      out[((i * 3 + c) * size + y) * size + x] = nhwc[((i * size + y) * size + x) * 3 + c]!;
    }
    return new ort.Tensor('float32', out, [n, 3, size, size]);
  };
  const inputs = new Map<number, InstanceType<typeof ort.Tensor>>();
  return {
    info: {
      runtime: 'onnxruntime-web-wasm',
      description: `onnxruntime-web ${ort.env.versions.web ?? ''} WASM SIMD, numThreads ${String(ort.env.wasm.numThreads)}`,
      threads: Number(ort.env.wasm.numThreads),
      crossOriginIsolated: globalThis.crossOriginIsolated,
      setupMs: performance.now() - t0,
    },
    async run(n) {
      if (!inputs.has(n)) inputs.set(n, nchw(n, o.size));
      const r = await session.run({ x: inputs.get(n)! });
      r.logits!.dispose();
    },
    async check() {
      const r = await session.run({ x: nchw(1, 64) });
      return Array.from(r.logits!.data as Float32Array).slice(0, 8);
    },
  };
}

const api = {
  async setup(kind: 'tfjs' | 'ort' | 'train', backend: BackendName, o: NetOptions): Promise<SetupInfo> {
    runner = kind === 'tfjs' ? await tfjsRunner(backend, o) : kind === 'train' ? await trainRunner(backend, o) : await ortRunner(o);
    return runner.info;
  },
  /** Seconds of one forward pass of `n` images (input prepared beforehand, output read back). */
  async time(n: number): Promise<number> {
    const t0 = performance.now();
    await runner!.run(n);
    return (performance.now() - t0) / 1000;
  },
  check(): Promise<number[]> {
    return runner!.check();
  },
  async profile(n: number): Promise<ProfileRow[] | null> {
    return runner!.profile ? runner!.profile(n) : null;
  },
  memory(): Record<string, number> | null {
    return runner!.memory?.() ?? null;
  },
};

export type NetWorkerApi = typeof api;
expose(api);
