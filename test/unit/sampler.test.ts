/**
 * PaddleVideo's Sampler as pure functions (docs/contract.md §4): test/valid (select_left), train, linspace.
 * GOLDEN was computed with Python/numpy from PaddleVideo's expressions:
 *   valid:    int(L/T/2.0 + L/T*x) % L if L > T else 0
 *   linspace: np.clip(np.linspace(0, L-1, T), 0, L-1).astype(np.int64)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleValidIndices, sampleTrainIndices, sampleLinspaceIndices, sampleIndices } from '../../src/core/preprocess/sampler.js';
import { mulberry32, randint, type Rng } from '../../src/core/random.js';
import { isPPTSNError } from '../../src/core/errors.js';

const GOLDEN: Record<string, [number[], number[]]> = {"1,1":[[0],[0]],"1,3":[[0,0,0],[0,0,0]],"1,8":[[0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0]],"1,25":[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]],"5,1":[[2],[0]],"5,3":[[0,2,4],[0,2,4]],"5,8":[[0,0,0,0,0,0,0,0],[0,0,1,1,2,2,3,4]],"5,25":[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[0,0,0,0,0,0,1,1,1,1,1,1,2,2,2,2,2,2,3,3,3,3,3,3,4]],"8,1":[[4],[0]],"8,3":[[1,4,6],[0,3,7]],"8,8":[[0,0,0,0,0,0,0,0],[0,1,2,3,4,5,6,7]],"8,25":[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[0,0,0,0,1,1,1,2,2,2,2,3,3,3,4,4,4,4,5,5,5,6,6,6,7]],"9,1":[[4],[0]],"9,3":[[1,4,7],[0,4,8]],"9,8":[[0,1,2,3,5,6,7,8],[0,1,2,3,4,5,6,8]],"9,25":[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[0,0,0,1,1,1,2,2,2,3,3,3,4,4,4,5,5,5,6,6,6,7,7,7,8]],"24,1":[[12],[0]],"24,3":[[4,12,20],[0,11,23]],"24,8":[[1,4,7,10,13,16,19,22],[0,3,6,9,13,16,19,23]],"24,25":[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[0,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23]],"25,1":[[12],[0]],"25,3":[[4,12,20],[0,12,24]],"25,8":[[1,4,7,10,14,17,20,23],[0,3,6,10,13,17,20,24]],"25,25":[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24]],"26,1":[[13],[0]],"26,3":[[4,13,21],[0,12,25]],"26,8":[[1,4,8,11,14,17,21,24],[0,3,7,10,14,17,21,25]],"26,25":[[0,1,2,3,4,5,6,7,8,9,10,11,13,14,15,16,17,18,19,20,21,22,23,24,25],[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,25]],"100,1":[[50],[0]],"100,3":[[16,50,83],[0,49,99]],"100,8":[[6,18,31,43,56,68,81,93],[0,14,28,42,56,70,84,99]],"100,25":[[2,6,10,14,18,22,26,30,34,38,42,46,50,54,58,62,66,70,74,78,82,86,90,94,98],[0,4,8,12,16,20,24,28,33,37,41,45,49,53,57,61,66,70,74,78,82,86,90,94,99]],"131,1":[[65],[0]],"131,3":[[21,65,109],[0,65,130]],"131,8":[[8,24,40,57,73,90,106,122],[0,18,37,55,74,92,111,130]],"131,25":[[2,7,13,18,23,28,34,39,44,49,55,60,65,70,75,81,86,91,96,102,107,112,117,123,128],[0,5,10,16,21,27,32,37,43,48,54,59,65,70,75,81,86,92,97,102,108,113,119,124,130]],"300,1":[[150],[0]],"300,3":[[50,150,250],[0,149,299]],"300,8":[[18,56,93,131,168,206,243,281],[0,42,85,128,170,213,256,299]],"300,25":[[6,18,30,42,54,66,78,90,102,114,126,138,150,162,174,186,198,210,222,234,246,258,270,282,294],[0,12,24,37,49,62,74,87,99,112,124,137,149,161,174,186,199,211,224,236,249,261,274,286,299]],"1001,1":[[500],[0]],"1001,3":[[166,500,834],[0,500,1000]],"1001,8":[[62,187,312,437,563,688,813,938],[0,142,285,428,571,714,857,1000]],"1001,25":[[20,60,100,140,180,220,260,300,340,380,420,460,500,540,580,620,660,700,740,780,820,860,900,940,980],[0,41,83,125,166,208,250,291,333,375,416,458,500,541,583,625,666,708,750,791,833,875,916,958,1000]]};

/** An RNG that returns the given values in turn. */
function scripted(values: number[]): Rng {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error('scripted RNG exhausted');
    return values[i++]!;
  };
}

test('valid (select_left): example.mp4, 131 frames, T = 25', () => {
  const idx = sampleValidIndices(131, 25);
  assert.deepEqual(idx.slice(0, 7), [2, 7, 13, 18, 23, 28, 34]);
  assert.deepEqual(idx.slice(-2), [123, 128]);
  assert.equal(idx.length, 25);
});

test('valid and linspace match the numpy golden table', () => {
  for (const [key, [valid, lin]] of Object.entries(GOLDEN)) {
    const [L, T] = key.split(',').map(Number) as [number, number];
    assert.deepEqual(sampleValidIndices(L, T), valid, `valid L=${L} T=${T}`);
    assert.deepEqual(sampleLinspaceIndices(L, T), lin, `linspace L=${L} T=${T}`);
    assert.deepEqual(sampleIndices('valid', L, T), valid);
    assert.deepEqual(sampleIndices('linspace', L, T), lin);
  }
});

test('valid: L <= T gives zeros (5 frames, T = 8; 8 frames, T = 8)', () => {
  assert.deepEqual(sampleValidIndices(5, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(sampleValidIndices(8, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(sampleValidIndices(9, 8), [0, 1, 2, 3, 5, 6, 7, 8]);
});

test('valid: formula floor(avg/2 + avg*x) for many L, T', () => {
  for (let L = 1; L <= 400; L += 7) {
    for (const T of [1, 2, 3, 7, 8, 16, 25, 32]) {
      const idx = sampleValidIndices(L, T);
      const avg = L / T;
      idx.forEach((v, x) => {
        assert.equal(v, L > T ? Math.floor(avg / 2 + avg * x) : 0);
        assert.ok(v >= 0 && v < L, `L=${L} T=${T} v=${v}`);
      });
      if (L > T) for (let x = 1; x < T; x++) assert.ok(idx[x]! > idx[x - 1]!, 'strictly increasing');
    }
  }
});

test('train: x*floor(L/T) + randint(floor(L/T)) with an injected RNG', () => {
  // L = 131, T = 3: avg_dur = 43; rng 0 → offset 0, rng 0.999 → 42, rng 0.5 → 21.
  assert.deepEqual(sampleTrainIndices(131, 3, scripted([0, 0.999, 0.5])), [0, 43 + 42, 86 + 21]);
  // Every index stays in its segment for any RNG.
  const rng = mulberry32(7);
  for (let k = 0; k < 200; k++) {
    const L = 3 + Math.floor(rng() * 500);
    const T = 1 + Math.floor(rng() * 30);
    const idx = sampleTrainIndices(L, T, rng);
    const d = Math.floor(L / T);
    idx.forEach((v, x) => {
      if (d > 0) assert.ok(v >= x * d && v < (x + 1) * d, `L=${L} T=${T} x=${x} v=${v}`);
      else assert.equal(v, 0);
    });
  }
});

test('train: L < T gives zeros (elif L > T branch unreachable when floor(L/T) = 0 and L > T is impossible)', () => {
  assert.deepEqual(sampleTrainIndices(5, 8, scripted([])), new Array(8).fill(0));
  assert.deepEqual(sampleTrainIndices(8, 8, scripted(new Array(8).fill(0.5))), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('randint stays in [0, n) even for rng() = 1 - 1e-17 and 1', () => {
  assert.equal(randint(() => 0.9999999999999999, 5), 4);
  assert.equal(randint(() => 1, 5), 4);
  assert.equal(randint(() => 0, 5), 0);
});

test('linspace: endpoints and T = 1', () => {
  assert.deepEqual(sampleLinspaceIndices(131, 1), [0]);
  const idx = sampleLinspaceIndices(131, 8);
  assert.equal(idx[0], 0);
  assert.equal(idx[7], 130);
});

test('mulberry32 is the fixtures README stream', () => {
  // Element 1 of seed 1234 by the README's formula, computed independently here.
  const s = (1234 + 1 * 0x6d2b79f5) >>> 0;
  let t = Math.imul(s ^ (s >>> 15), s | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  const r = (t ^ (t >>> 14)) >>> 0;
  assert.equal(mulberry32(1234)(), (r >>> 8) / 2 ** 24);
});

test('bad arguments throw PPTSNError', () => {
  for (const f of [() => sampleValidIndices(0, 8), () => sampleTrainIndices(0, 3), () => sampleLinspaceIndices(-1, 3)]) {
    assert.throws(f, (e) => isPPTSNError(e) && e.code === 'video-too-short');
  }
  assert.throws(() => sampleValidIndices(10, 0), (e) => isPPTSNError(e) && e.code === 'invalid-argument');
  assert.throws(() => sampleValidIndices(10, 2.5), (e) => isPPTSNError(e) && e.code === 'invalid-argument');
  assert.throws(() => sampleIndices('bogus' as never, 10, 3), (e) => isPPTSNError(e) && e.code === 'invalid-argument');
});
