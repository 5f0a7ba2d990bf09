/**
 * Experiment (issue 23): the stride-1 conv filter gradient on tfjs-backend-wasm, our SIMD tap kernel
 * (src/core/model/filterGradSimd.ts via PPTSNConv2DBackpropFilter) against the per-tap path it replaces
 * (transpose + StridedSlice + plain matMul per tap), on ResNet50's shapes at 4 images, one thread, in Node,
 * interleaved rep by rep; medians. Also register blocks other than the one shipped, and the plain-SIMD variant
 * beside the relaxed one where the runtime has relaxed SIMD.
 *
 *   npx tsx bench/kernels/dw-bench.ts [reps=7]
 */
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/node/backends.js';
import { tapsFilterGrad } from '../../src/core/model/convGrad.js';
import { BLOCK, Block, DwTap, KERNEL_EXPORT, tapModule } from '../../src/core/model/filterGradSimd.js';
import { filterGradInto, simdFilterGrad, simdVariant } from '../../src/core/model/filterGradWasm.js';

await initNodeBackend('wasm');
const backend = tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } }; dataIdMap: { get(id: object): { memoryOffset: number } } };
const memory = backend.wasm.asm.memory;
const variant = simdVariant();
console.log(`node ${process.version}, SIMD variant: ${variant}`);

const tapWith = (relaxed: boolean, block: Block): DwTap =>
  new WebAssembly.Instance(new WebAssembly.Module(tapModule(relaxed, false, block)), { env: { memory } }).exports[KERNEL_EXPORT] as unknown as DwTap;
const chunks = [32, 128, 256];
const blocks: Block[] = [{ ib: 2, ob: 16 }, { ib: 8, ob: 8 }];

const SHAPES = [
  { h: 56, I: 64, O: 64, K: 3 },
  { h: 28, I: 128, O: 128, K: 3 },
  { h: 14, I: 256, O: 256, K: 3 },
  { h: 7, I: 512, O: 512, K: 3 },
  { h: 56, I: 64, O: 256, K: 1 },
  { h: 28, I: 512, O: 128, K: 1 },
  { h: 28, I: 128, O: 512, K: 1 },
  { h: 14, I: 256, O: 1024, K: 1 },
  { h: 14, I: 1024, O: 256, K: 1 },
  { h: 7, I: 512, O: 2048, K: 1 },
];
const REPS = Number(process.argv[2] ?? 7);
const n = 4;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const time = (f: () => tf.Tensor) => {
  const t0 = performance.now();
  const t = f();
  const ms = performance.now() - t0;
  t.dispose();
  return ms;
};

for (const { h, I, O, K } of SHAPES) {
  const p = (K - 1) >> 1;
  const x = tf.randomNormal([n, h, h, I]) as tf.Tensor4D;
  const dy = tf.randomNormal([n, h, h, O]) as tf.Tensor4D;
  const ptr = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset;
  const raw = (tap: DwTap, chunk?: number) => () => {
    const out = tf.zeros([K, K, I, O]);
    filterGradInto(tap, memory, { x: ptr(x), dy: ptr(dy), out: ptr(out) }, x.shape, dy.shape, K, p, chunk);
    return out;
  };
  const variants: Array<[string, () => tf.Tensor]> = [
    ['taps', () => tapsFilterGrad(x, dy, [K, K, I, O], 1, p)],
    [`ours ${BLOCK.ib}×${BLOCK.ob} ${variant}`, () => simdFilterGrad(x, dy, K, p)],
    ...(variant === 'relaxed' ? [[`ours ${BLOCK.ib}×${BLOCK.ob} simd`, raw(tapWith(false, BLOCK))] as [string, () => tf.Tensor]] : []),
    ...chunks.map((c): [string, () => tf.Tensor] => [`ours chunk ${c}`, raw(tapWith(variant === 'relaxed', BLOCK), c)]),
    ...blocks.filter((b) => I % b.ib === 0 && O % b.ob === 0).map((b): [string, () => tf.Tensor] => [`ours ${b.ib}×${b.ob} ${variant}`, raw(tapWith(variant === 'relaxed', b))]),
  ];
  const ref = tapsFilterGrad(x, dy, [K, K, I, O], 1, p);
  const errs = variants.map(([, f]) => {
    const t = f();
    const e = tf.max(tf.abs(tf.sub(t, ref))).dataSync()[0]! / tf.max(tf.abs(ref)).dataSync()[0]!;
    t.dispose();
    return e;
  });
  const ms: number[][] = variants.map(() => []);
  for (let r = 0; r < REPS; r++) variants.forEach(([, f], i) => ms[i]!.push(time(f)));
  const macs = K * K * n * h * h * I * O;
  console.log(`${h}×${h}×${I}→${O} ${K}×${K}: ` + variants.map(([name], i) => `${name} ${median(ms[i]!).toFixed(1)} ms ${(macs / median(ms[i]!) / 1e6).toFixed(1)} GMAC/s (rel.err ${errs[i]!.toExponential(0)})`).join(' | '));
  tf.dispose([x, dy, ref]);
}
