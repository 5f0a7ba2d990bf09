/**
 * Experiment: our SIMD128 GEMM (gemm.c) against tfjs-backend-wasm's XNNPACK on ResNet50's 1x1 convolutions, one
 * thread each, in Node, interleaved rep by rep. Run: bench/kernels/build.sh && npx tsx bench/kernels/gemm-bench.ts
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';

const memory = new WebAssembly.Memory({ initial: 4096 });
const { instance } = await WebAssembly.instantiate(readFileSync(`${process.env['OUT'] ?? '/tmp'}/pptsn-gemm.wasm`), { env: { memory } });
const k = instance.exports as { gemm(i: number, w: number, b: number, o: number, P: number, C: number, K: number): void; pack(w: number, wp: number, C: number, K: number): void };
await initNodeBackend('wasm');
const SHAPES = [
  { name: 'res2 64→256 (56², 4 img)', h: 56, C: 64, K: 256 },
  { name: 'res3 512→128 (28², 4 img)', h: 28, C: 512, K: 128 },
  { name: 'res4 1024→256 (14², 4 img)', h: 14, C: 1024, K: 256 },
  { name: 'res4 256→1024 (14², 4 img)', h: 14, C: 256, K: 1024 },
  { name: 'res5 2048→512 (7², 4 img)', h: 7, C: 2048, K: 512 },
].map((s) => ({ ...s, P: 4 * s.h * s.h }));
const REPS = Number(process.argv[2] ?? 7);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const s of SHAPES) {
  const rand = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const x = rand(s.P * s.C), w = rand(s.C * s.K), b = rand(s.K);
  const f32 = new Float32Array(memory.buffer);
  const base = 4 << 20;
  const [pin, pw, pwp, pb, pout] = [base, base + x.byteLength, base + x.byteLength + w.byteLength, base + x.byteLength + 2 * w.byteLength, base + x.byteLength + 2 * w.byteLength + 64 * 1024];
  f32.set(x, pin / 4); f32.set(w, pw / 4); f32.set(b, pb / 4);
  k.pack(pw, pwp, s.C, s.K);
  const xt = tf.tensor4d(x, [4, s.h, s.h, s.C]);
  const wt = tf.tensor4d(w, [1, 1, s.C, s.K]);
  const bt = tf.tensor1d(b);
  const ours = () => { const t0 = performance.now(); k.gemm(pin, pwp, pb, pout, s.P, s.C, s.K); return performance.now() - t0; };
  const xnn = async () => { const t0 = performance.now(); const y = tf.fused.conv2d({ x: xt, filter: wt, strides: 1, pad: 0, bias: bt }); await y.data(); const ms = performance.now() - t0; y.dispose(); return ms; };
  ours(); await xnn();
  const a: number[] = [], c: number[] = [];
  for (let i = 0; i < REPS; i++) { a.push(ours()); c.push(await xnn()); }
  const y = tf.fused.conv2d({ x: xt, filter: wt, strides: 1, pad: 0, bias: bt });
  const ref = await y.data();
  y.dispose();
  const got = new Float32Array(memory.buffer, pout, s.P * s.K);
  let err = 0; for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(got[i]! - ref[i]!));
  const macs = s.P * s.C * s.K;
  console.log(`${s.name.padEnd(28)} ours ${(macs / median(a) / 1e6).toFixed(1).padStart(5)} GMAC/s   XNNPACK ${(macs / median(c) / 1e6).toFixed(1).padStart(5)} GMAC/s   ratio ${(median(c) / median(a)).toFixed(2)}   max|Δ| ${err.toExponential(1)}`);
  tf.dispose([xt, wt, bt]);
}
