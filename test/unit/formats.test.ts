/**
 * Weight-file formats: every shared fixture against expected.json, the same weights through every format,
 * round trips through .pdparams and model.json, float16 tolerance, and Python reading what we write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPdparams, readPdparamsRaw } from '../../src/core/formats/pdparams.js';
import { readPdiparams, readPdiparamsInfo, readPdiparamsRaw, readPdiparamsTensors } from '../../src/core/formats/pdiparams.js';
import { writePdparams, writePdparamsRaw } from '../../src/core/formats/pdparamsWriter.js';
import { readModelJson, writeModelJson, SHARD_BYTES } from '../../src/core/formats/modelJson.js';
import { loadWeightFile, sniffWeightFormat } from '../../src/core/formats/load.js';
import { sha256Hex, sha256HexSync } from '../../src/core/formats/sha256.js';
import { decodeFloat16, encodeFloat16, float16BitsToFloat32, float32ToFloat16Bits } from '../../src/core/formats/float16.js';
import { isPPTSNError } from '../../src/core/errors.js';
import { archSpec, paramSpecs } from '../../src/core/model/arch.js';
import type { StateDict } from '../../src/core/stateDict.js';
import { seededStateDict } from '../helpers/seeded.js';

const FIX = new URL('../fixtures/formats/', import.meta.url);
const HOSTILE = new URL('../fixtures/hostile/', import.meta.url);
const read = (name: string, dir = FIX): Uint8Array => new Uint8Array(readFileSync(new URL(name, dir)));

interface ExpectedTensor { name: string; shape: number[]; first4: number[]; sum: number }
interface ExpectedFile { file: string; parameter_names?: Record<string, string>; structured_names?: Record<string, string>; tensors: ExpectedTensor[] }
const expected = JSON.parse(readFileSync(new URL('expected.json', FIX), 'utf8')) as ExpectedFile[];
const pdiExpected = expected.find((e) => e.file.endsWith('.pdiparams'))!;
const structuredNames = new Map(Object.entries(pdiExpected.structured_names!));

function sum(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

function assertMatches(got: Map<string, { shape: number[]; data: Float32Array }>, tensors: ExpectedTensor[], label: string): void {
  assert.equal(got.size, tensors.length, `${label}: tensor count`);
  for (const t of tensors) {
    const x = got.get(t.name);
    assert.ok(x, `${label}: ${t.name} missing`);
    assert.deepEqual(x.shape, t.shape, `${label}: ${t.name} shape`);
    assert.deepEqual([...x.data.subarray(0, 4)], t.first4, `${label}: ${t.name} first4`);
    // Summed in double in file order, as the fixture generator did: equal to the last bit in practice.
    assert.ok(Math.abs(sum(x.data) - t.sum) <= 1e-9 * Math.max(1, Math.abs(t.sum)), `${label}: ${t.name} sum ${sum(x.data)} vs ${t.sum}`);
  }
}

function tensorsEqual(a: ReadonlyMap<string, { shape: number[]; data: Float32Array }>, b: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, x] of a) {
    const y = b.get(k)!;
    assert.deepEqual(x.shape, y.shape, k);
    assert.ok(Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength).equals(Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength)), `${k}: bytes differ`);
  }
}

/** A .pdiparams in Paddle's layout (sorted internal names), so full-model reading can be tested without big fixtures. */
function writePdiparams(sd: StateDict, dtypeCode: 4 | 5 = 5): Uint8Array {
  const { depth, numClasses } = { depth: sd.has('backbone.bb_3_1.conv1._conv.weight') && !sd.has('backbone.bb_0_0.conv2._conv.weight') ? 18 : 50, numClasses: sd.get('head.fc.bias')!.shape[0]! } as const;
  const specs = paramSpecs(archSpec(depth, numClasses)).sort((a, b) => (a.internal < b.internal ? -1 : 1));
  const parts: Uint8Array[] = [];
  for (const p of specs) {
    const t = sd.get(p.key)!;
    const desc = [0x08, dtypeCode, ...t.shape.flatMap((d) => [0x10, ...varint(d)])];
    const head = new Uint8Array(12 + 8 + desc.length);
    const dv = new DataView(head.buffer);
    dv.setInt32(16, desc.length, true);
    head.set(desc, 20);
    parts.push(head, dtypeCode === 5 ? new Uint8Array(t.data.slice().buffer) : new Uint8Array(encodeFloat16(t.data).buffer));
  }
  return Buffer.concat(parts);
}
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

const hasPython = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

test('every .pdparams fixture matches expected.json (names, shapes, first4, sums, name table)', () => {
  for (const e of expected.filter((x) => x.file.endsWith('.pdparams'))) {
    const raw = readPdparamsRaw(read(e.file));
    assertMatches(raw.tensors, e.tensors, e.file);
    assert.deepEqual([...raw.tensors.keys()], e.tensors.map((t) => t.name), `${e.file}: file order`);
    assert.deepEqual(Object.fromEntries(raw.parameterNames!), e.parameter_names, `${e.file}: StructuredToParameterName@@`);
    assert.equal(raw.protocol, e.file.includes('_p2_') ? 2 : 4);
  }
});

test('the .pdiparams fixture matches expected.json, named by its .pdiparams.info or by an explicit list', () => {
  const bytes = read(pdiExpected.file);
  const byInternal = readPdiparamsRaw(bytes, structuredNames.keys());
  assertMatches(byInternal, pdiExpected.tensors, 'pdiparams (internal names)');
  assert.deepEqual([...byInternal.keys()], pdiExpected.tensors.map((t) => t.name), 'sorted internal-name order');
  const info = readPdiparamsInfo(read('partial_r18.pdiparams.info', HOSTILE));
  assert.deepEqual(info, structuredNames);
  const structured = readPdiparamsRaw(bytes, info.keys(), info);
  assert.ok(structured.has('backbone.bb_1_0.short._conv.weight'));
  assert.equal(readPdiparamsTensors(bytes).length, 12);
});

test('p2 / p4 / numpy1 / numpy2 / pdiparams hold identical tensors', () => {
  const files = expected.filter((x) => x.file.endsWith('.pdparams')).map((e) => readPdparamsRaw(read(e.file)).tensors);
  const info = readPdiparamsInfo(read('partial_r18.pdiparams.info', HOSTILE));
  files.push(readPdiparamsRaw(read(pdiExpected.file), info.keys(), info));
  for (const f of files.slice(1)) tensorsEqual(files[0]!, f);
});

test('partial files are refused by the full readers, naming what is missing', async () => {
  await assert.rejects(loadWeightFile(read('partial_r18_p4_numpy2.pdparams'), { fileName: 'partial.pdparams' }), (e: unknown) => isPPTSNError(e) && e.code === 'model-invalid' && /partial\.pdparams is not a complete PP-TSN state dict/.test(e.message));
  await assert.rejects(loadWeightFile(read(pdiExpected.file), { fileName: 'p.pdiparams' }), (e: unknown) => isPPTSNError(e) && /holds 12 tensors, which fits no PP-TSN depth/.test(e.message));
  await assert.rejects(loadWeightFile(read(pdiExpected.file), { fileName: 'p.pdiparams', info: read('partial_r18.pdiparams.info', HOSTILE) }), (e: unknown) => isPPTSNError(e) && e.code === 'model-invalid');
});

test('valid edge cases: f2/f8/big-endian/Fortran arrays, OrderedDict, protocol 3, split big parameters, FP16/FP64/packed-dims .pdiparams', () => {
  const ref = Float32Array.from({ length: 24 }, (_, i) => Math.fround(i / 7 - 1));
  const refF16 = decodeFloat16(encodeFloat16(ref));
  const p2 = readPdparamsRaw(read('ok_dtypes_p2.pdparams', HOSTILE));
  assert.deepEqual([...p2.tensors.keys()], ['f4', 'f2', 'f8', 'be_f4', 'fortran', 'scalar_shape']);
  for (const k of ['f4', 'f8', 'be_f4', 'fortran']) {
    assert.deepEqual(p2.tensors.get(k)!.shape, [2, 3, 4], k);
    assert.deepEqual(p2.tensors.get(k)!.data, ref, k);
  }
  assert.deepEqual(p2.tensors.get('f2')!.data, refF16);
  assert.equal(p2.tensors.get('f2')!.dtype, 'float16');
  assert.deepEqual(p2.tensors.get('scalar_shape')!.shape, []);
  assert.deepEqual([...p2.tensors.get('scalar_shape')!.data], [3.5]);
  const p3 = readPdparamsRaw(read('ok_dtypes_p3.pdparams', HOSTILE));
  assert.deepEqual(p3.tensors.get('fortran')!.data, ref);
  assert.equal(p3.protocol, 3);
  const split = readPdparamsRaw(read('ok_split_p2.pdparams', HOSTILE));
  assert.deepEqual([...split.tensors.keys()], ['head.fc.weight']);
  assert.deepEqual(split.tensors.get('head.fc.weight')!.shape, [6, 4]);
  assert.deepEqual(split.tensors.get('head.fc.weight')!.data, ref);
  const pdi = readPdiparamsTensors(read('ok_dtypes.pdiparams', HOSTILE));
  assert.deepEqual(pdi.map((t) => t.dtype), ['float32', 'float16', 'float64']);
  assert.deepEqual(pdi[0]!.data, ref);
  assert.deepEqual(pdi[1]!.data, refF16);
  assert.deepEqual(pdi[2]!.data, ref);
  for (const t of pdi) assert.deepEqual(t.shape, [2, 3, 4]);
});

test('round trip: seeded depth-18 → .pdparams → read → model.json fp32 → read → .pdparams, identical bytes', async () => {
  const sd = seededStateDict(18, 5, 1234);
  const first = writePdparams(sd);
  assert.equal(sniffWeightFormat(first), 'pdparams');
  const loaded = await loadWeightFile(first, { fileName: 'r18.pdparams' });
  assert.equal(loaded.depth, 18);
  assert.equal(loaded.numClasses, 5);
  assert.equal(loaded.source.format, 'pdparams');
  assert.equal(loaded.source.sha256, createHash('sha256').update(first).digest('hex'));
  tensorsEqual(loaded.stateDict, sd);
  assert.deepEqual([...loaded.stateDict.keys()], [...sd.keys()], 'state-dict order');

  const { modelJson, shards } = writeModelJson(loaded.stateDict, { labels: ['a', 'b', 'c', 'd', 'e'], source: loaded.source });
  const total = shards.reduce((a, s) => a + s.data.length, 0);
  assert.equal(total, sd.size && [...sd.values()].reduce((a, t) => a + t.data.length * 4, 0));
  assert.ok(shards.every((s, i) => s.data.length <= SHARD_BYTES && (i === shards.length - 1 || s.data.length === SHARD_BYTES)));
  assert.deepEqual(modelJson.weightsManifest[0]!.paths, shards.map((s, i) => `group1-shard${i + 1}of${shards.length}.bin`));
  assert.deepEqual(modelJson.pptsn, { version: 1, depth: 18, numClasses: 5, labels: ['a', 'b', 'c', 'd', 'e'], preset: 'accurate', source: loaded.source, layout: 'paddle' });
  // Through JSON text, as it would be stored.
  const json = JSON.parse(JSON.stringify(modelJson)) as unknown;
  const byName = new Map(shards.map((s) => [s.name, s.data]));
  const back = await readModelJson(json, async (p) => byName.get(p)!);
  assert.equal(back.depth, 18);
  assert.deepEqual(back.labels, ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(back.source, loaded.source);
  tensorsEqual(back.stateDict, sd);
  const second = writePdparams(back.stateDict);
  assert.ok(Buffer.from(first).equals(Buffer.from(second)), 'the .pdparams bytes are identical');

  // The same weights as a .pdiparams: names and depth come from the architecture.
  const pdi = writePdiparams(sd);
  assert.equal(sniffWeightFormat(pdi), 'pdiparams');
  const fromPdi = await loadWeightFile(pdi, { fileName: 'r18.pdiparams' });
  assert.equal(fromPdi.depth, 18);
  assert.equal(fromPdi.numClasses, 5);
  tensorsEqual(fromPdi.stateDict, sd);
  assert.deepEqual([...fromPdi.stateDict.keys()], [...sd.keys()]);
});

test('wrong shapes, missing and unknown keys are named', async () => {
  const sd = seededStateDict(18, 5, 1);
  const bad: StateDict = new Map(sd);
  bad.set('backbone.bb_1_0.conv0._conv.weight', { shape: [64, 64, 3, 3], data: new Float32Array(64 * 64 * 9) });
  bad.set('backbone.extra.weight', { shape: [1], data: new Float32Array(1) });
  bad.delete('backbone.bb_2_0.short._batch_norm._mean');
  const bytes = writePdparamsRaw(bad);
  await assert.rejects(loadWeightFile(bytes, { fileName: 'bad.pdparams' }), (e: unknown) => {
    assert.ok(isPPTSNError(e) && e.code === 'model-invalid');
    assert.match(e.message, /backbone\.bb_1_0\.conv0\._conv\.weight: expected \[128, 64, 3, 3\], found \[64, 64, 3, 3\]/);
    assert.match(e.message, /backbone\.bb_2_0\.short\._batch_norm\._mean: missing/);
    assert.match(e.message, /backbone\.extra\.weight: unknown key/);
    return true;
  });
  // The fc's input width must match the depth too.
  const badFc: StateDict = new Map(sd);
  badFc.set('head.fc.weight', { shape: [2048, 5], data: new Float32Array(2048 * 5) });
  assert.throws(() => writePdparams(badFc), /head\.fc\.weight: expected \[512, 5\], found \[2048, 5\]/);
  // A .pdiparams with one tensor of the wrong size.
  const pdiBad: StateDict = new Map(sd);
  pdiBad.set('backbone.conv1_1._conv.weight', { shape: [32, 3, 3, 2], data: new Float32Array(32 * 18) });
  await assert.rejects(loadWeightFile(writePdiparams(pdiBad), { fileName: 'bad.pdiparams' }), /backbone\.conv1_1\._conv\.weight: expected \[32, 3, 3, 3\], found \[32, 3, 3, 2\]/);
});

test('internal-name keyed .pdparams (static-graph era) map to structured keys', () => {
  const sd = seededStateDict(18, 3, 7);
  const specs = paramSpecs(archSpec(18, 3));
  const byInternal = new Map(specs.map((p) => [p.internal, sd.get(p.key)!]));
  const r = readPdparams(writePdparamsRaw(byInternal));
  assert.equal(r.depth, 18);
  tensorsEqual(r.stateDict, sd);
});

test('Python pickle.load + numpy reads what writePdparams writes, identical arrays', { skip: !hasPython && 'python3 with numpy not available' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pptsn-fmt-'));
  try {
    const sd = seededStateDict(18, 4, 99);
    const path = join(dir, 'w.pdparams');
    writeFileSync(path, writePdparams(sd));
    const script = `
import pickle, hashlib, json, sys, warnings
warnings.simplefilter('error')  # numpy 2 must resolve numpy.core.multiarray without complaint
import numpy as np
with open(sys.argv[1], 'rb') as f:
    d = pickle.load(f)
names = d.pop('StructuredToParameterName@@')
out = {k: [str(v.dtype), list(v.shape), hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest(), float(v.astype(np.float64).sum())] for k, v in d.items()}
print(json.dumps({'keys': list(d.keys()), 'arrays': out, 'names': names}))
`;
    const r = spawnSync('python3', ['-c', script, path], { encoding: 'utf8', maxBuffer: 1 << 24 });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { keys: string[]; arrays: Record<string, [string, number[], string, number]>; names: Record<string, string> };
    assert.deepEqual(got.keys, [...sd.keys()]);
    for (const [k, t] of sd) {
      const [dtype, shape, sha] = got.arrays[k]!;
      assert.equal(dtype, 'float32');
      assert.deepEqual(shape, t.shape);
      assert.equal(sha, sha256HexSync(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)), k);
    }
    assert.deepEqual(got.names, Object.fromEntries(paramSpecs(archSpec(18, 4)).map((p) => [p.key, p.internal])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('float16: round-to-nearest-even bit-exact against numpy, and exact special cases', { skip: !hasPython && 'python3 with numpy not available' }, () => {
  const cases = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519.99, 65520, 2 ** -24, 2 ** -25, 2 ** -25 * 1.5, 3 * 2 ** -26, 6.1e-5, -0, NaN, Infinity, -Infinity, 1e-8];
  assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00, 'tie → even (down)');
  assert.equal(float32ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02, 'tie → even (up)');
  assert.equal(float32ToFloat16Bits(65520), 0x7c00, 'overflow → Infinity');
  assert.equal(float16BitsToFloat32(0x0001), 2 ** -24);
  let s = 12345;
  const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const values = new Float32Array(20000);
  values.set(cases);
  for (let i = cases.length; i < values.length; i++) values[i] = (rand() - 0.5) * 2 ** Math.floor(rand() * 40 - 28);
  const r = spawnSync('python3', ['-c', 'import sys, numpy as np; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(np.frombuffer(d, "<f4").astype("<f2").tobytes())'], { input: Buffer.from(values.buffer), maxBuffer: 1 << 24 });
  assert.equal(r.status, 0, String(r.stderr));
  const numpyBits = new Uint16Array(new Uint8Array(r.stdout).buffer);
  const ours = encodeFloat16(values);
  let mismatches = 0;
  for (let i = 0; i < values.length; i++) if (ours[i] !== numpyBits[i] && !(Number.isNaN(values[i]))) mismatches++;
  assert.equal(mismatches, 0);
  const back = decodeFloat16(ours);
  for (let i = 0; i < values.length; i++) if (!Object.is(back[i], Math.fround(float16BitsToFloat32(ours[i]!)))) assert.fail(`decode ${ours[i]}`);
});

test('model.json float16: within tolerance (incl. BN statistics and folded BN scale), half the bytes, decodable by tf.io.decodeWeights', async () => {
  const sd = seededStateDict(18, 5, 1234);
  // Give one tensor values beyond float16's range: it must stay float32.
  const fcb = sd.get('head.fc.bias')!;
  const bigBias = { shape: fcb.shape, data: Float32Array.from(fcb.data, (v, i) => (i === 0 ? 1e6 : v)) };
  const sdBig: StateDict = new Map(sd);
  sdBig.set('head.fc.bias', bigBias);
  const { modelJson, shards } = writeModelJson(sdBig, { dtype: 'float16', preset: 'fast' });
  const weights = modelJson.weightsManifest[0]!.weights;
  assert.equal(weights.find((w) => w.name === 'head.fc.bias')!.quantization, undefined);
  assert.ok(weights.filter((w) => w.name !== 'head.fc.bias').every((w) => w.quantization?.dtype === 'float16' && w.dtype === 'float32'));
  const total = shards.reduce((a, s) => a + s.data.length, 0);
  const params = [...sd.values()].reduce((a, t) => a + t.data.length, 0);
  assert.equal(total, (params - 5) * 2 + 5 * 4);
  const byName = new Map(shards.map((s) => [s.path, s.data]));
  const back = await readModelJson(JSON.parse(JSON.stringify(modelJson)), async (p) => byName.get(p)!);
  assert.equal(back.meta.preset, 'fast');
  let worstRel = 0;
  for (const [k, t] of sdBig) {
    const y = back.stateDict.get(k)!.data;
    for (let i = 0; i < t.data.length; i++) {
      const x = t.data[i]!;
      const err = Math.abs(y[i]! - x);
      // Half precision: relative 2^-11 for normal values, absolute 2^-25 in the subnormal range.
      if (!(err <= Math.max(Math.abs(x) * 2 ** -11, 2 ** -25))) assert.fail(`${k}[${i}]: ${x} → ${y[i]}`);
      if (Math.abs(x) > 1e-3) worstRel = Math.max(worstRel, err / Math.abs(x));
    }
  }
  assert.equal(back.stateDict.get('head.fc.bias')!.data[0], 1e6);
  // What the network actually uses from BN: scale / sqrt(var + eps) and the shifted offset.
  for (const p of paramSpecs(archSpec(18, 5)).filter((q) => q.kind === 'bn_variance')) {
    const base = p.key.slice(0, -'_variance'.length);
    const fold = (d: StateDict, i: number): [number, number] => {
      const g = d.get(`${base}weight`)!.data[i]!, b = d.get(`${base}bias`)!.data[i]!, m = d.get(`${base}_mean`)!.data[i]!, v = d.get(`${base}_variance`)!.data[i]!;
      const s = g / Math.sqrt(v + 1e-5);
      return [s, b - m * s];
    };
    for (let i = 0; i < p.shape[0]!; i++) {
      const [s0, o0] = fold(sd, i);
      const [s1, o1] = fold(back.stateDict, i);
      if (!(Math.abs(s1 - s0) <= 1e-3 * Math.abs(s0) && Math.abs(o1 - o0) <= 1e-3)) assert.fail(`${base}[${i}] folded BN`);
    }
  }
  assert.ok(worstRel <= 2 ** -11);

  // tfjs reads the same shards as one buffer with the manifest's weight specs.
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const buffer = Buffer.concat(shards.map((s) => s.data));
  const decoded = tf.io.decodeWeights(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength), weights as never);
  try {
    for (const k of ['backbone.conv1_1._conv.weight', 'backbone.bb_3_1.conv1._batch_norm._variance', 'head.fc.weight', 'head.fc.bias']) {
      assert.deepEqual(decoded[k]!.shape, back.stateDict.get(k)!.shape);
      assert.deepEqual(decoded[k]!.dataSync(), back.stateDict.get(k)!.data, k);
    }
  } finally {
    tf.dispose(Object.values(decoded));
  }
});

test('model.json: shard sizes, shapes, meta and paths are checked before any tensor is allocated', async () => {
  const sd = seededStateDict(18, 2, 5);
  const { modelJson, shards } = writeModelJson(sd, { shardBytes: 1 << 20 });
  const byName = new Map(shards.map((s) => [s.name, s.data]));
  const fetch = async (p: string): Promise<Uint8Array> => byName.get(p)!;
  const mutate = (f: (j: Record<string, any>) => void): unknown => {
    const j = JSON.parse(JSON.stringify(modelJson)) as Record<string, any>;
    f(j);
    return j;
  };
  const rejects = (json: unknown, re: RegExp, fetchShard = fetch) => assert.rejects(readModelJson(json, fetchShard), (e: unknown) => isPPTSNError(e) && e.code === 'model-invalid' && re.test(e.message));
  await rejects(mutate((j) => { j.weightsManifest[0].weights[0].shape = [32, 3, 3, 4]; }), /backbone\.conv1_1\._conv\.weight: expected \[32, 3, 3, 3\], found \[32, 3, 3, 4\]/);
  await rejects(mutate((j) => { j.weightsManifest[0].weights[5].shape = [1e9, 1e9, 1e9]; }), /too large/);
  await rejects(mutate((j) => { j.pptsn.depth = 34; }), /does not match PP-TSN ResNet34-vd/);
  await rejects(mutate((j) => { j.pptsn.numClasses = 3; }), /head\.fc\.weight: expected \[512, 3\], found \[512, 2\]/);
  await rejects(mutate((j) => { delete j.pptsn; }), /no "pptsn" block/);
  await rejects(mutate((j) => { j.weightsManifest[0].paths[0] = '../../etc/passwd'; }), /bad shard path/);
  await rejects(mutate((j) => { j.weightsManifest[0].paths[0] = 'https://evil.example/x.bin'; }), /bad shard path/);
  await rejects(mutate((j) => { j.weightsManifest[0].weights[0].quantization = { dtype: 'uint8', min: 0, scale: 1 }; }), /unsupported quantization/);
  await rejects(mutate((j) => { j.pptsn.labels = ['only one']; }), /1 labels for 2 classes/);
  await rejects(modelJson, /truncated or missing/, async (p) => (p === shards[3]!.name ? byName.get(p)!.subarray(0, 100) : byName.get(p)!));
  await rejects(modelJson, /more than the/, async (p) => (p === shards[0]!.name ? new Uint8Array(shards[0]!.data.length + (1 << 24)) : byName.get(p)!));
  // Shapes are checked before any shard is fetched.
  let fetched = 0;
  await rejects(mutate((j) => { j.weightsManifest[0].weights[0].shape = [1]; }), /expected/, async (p) => { fetched++; return byName.get(p)!; });
  assert.equal(fetched, 0);
  await assert.rejects(readModelJson(modelJson, async () => { throw new Error('offline'); }), (e: unknown) => isPPTSNError(e) && e.code === 'network');
  assert.equal((await readModelJson(modelJson, fetch)).numClasses, 2);
});

test('sha256: WebCrypto and the pure implementation agree with node:crypto', async () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_003]) {
    const b = new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);
    const want = createHash('sha256').update(b).digest('hex');
    assert.equal(sha256HexSync(b), want, `pure, ${n} bytes`);
    assert.equal(await sha256Hex(b), want, `async, ${n} bytes`);
  }
});

test('sniffing: zip archives, model.json and junk get a clear error', async () => {
  await assert.rejects(loadWeightFile(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0]), { fileName: 'x.pt' }), /zip archive/);
  await assert.rejects(loadWeightFile(new TextEncoder().encode(' {"format": 1}'), { fileName: 'model.json' }), /readModelJson/);
  await assert.rejects(loadWeightFile(new Uint8Array([1, 2, 3]), { fileName: 'junk.bin' }), (e: unknown) => isPPTSNError(e) && e.code === 'model-invalid');
  await assert.rejects(loadWeightFile(new ArrayBuffer(0), { fileName: 'empty' }), (e: unknown) => isPPTSNError(e) && e.code === 'model-invalid');
});
