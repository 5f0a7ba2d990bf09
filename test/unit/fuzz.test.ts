/**
 * Fixed-seed fuzzing of the weight-file readers: bit flips, truncations, splices and huge length fields applied
 * to the shared fixtures. Every case must end in a PPTSNError or a valid result, never another exception, hang
 * or huge allocation. Prints counts so a regression in error quality is visible in the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readPdparams, readPdparamsRaw } from '../../src/core/formats/pdparams.js';
import { readPdiparams, readPdiparamsTensors, readPdiparamsInfo } from '../../src/core/formats/pdiparams.js';
import { isPPTSNError } from '../../src/core/errors.js';

const FIX = new URL('../fixtures/formats/', import.meta.url);
const HOSTILE = new URL('../fixtures/hostile/', import.meta.url);
const load = (name: string, dir = FIX): Uint8Array => new Uint8Array(readFileSync(new URL(name, dir)));

/** mulberry32: the fuzz corpus is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const CASES = 5000;
const BUDGET_MS = 20_000;

test(`fuzz: ${CASES} mutated weight files end in PPTSNError or a valid result`, () => {
  const sources: { name: string; bytes: Uint8Array; kind: 'pickle' | 'pdiparams' }[] = [
    ...['partial_r18_p2_numpy1.pdparams', 'partial_r18_p4_numpy1.pdparams', 'partial_r18_p4_numpy2.pdparams'].map((n) => ({ name: n, bytes: load(n), kind: 'pickle' as const })),
    { name: 'partial_r18.pdiparams', bytes: load('partial_r18.pdiparams'), kind: 'pdiparams' },
    { name: 'ok_dtypes_p2.pdparams', bytes: load('ok_dtypes_p2.pdparams', HOSTILE), kind: 'pickle' },
    { name: 'ok_split_p2.pdparams', bytes: load('ok_split_p2.pdparams', HOSTILE), kind: 'pickle' },
    { name: 'ok_dtypes.pdiparams', bytes: load('ok_dtypes.pdiparams', HOSTILE), kind: 'pdiparams' },
    { name: 'partial_r18.pdiparams.info', bytes: load('partial_r18.pdiparams.info', HOSTILE), kind: 'pickle' },
  ];
  const r = rng(20240607);
  const int = (n: number): number => Math.floor(r() * n);
  const HUGE = [0xffffffff, 0x7fffffff, 0x80000000, 0x40000000, 0xfffffff0, 1 << 20];
  // Opcodes followed by a length (pickle) — where "huge length" mutations hit hardest.
  const LENGTH_OPS = new Set([0x42, 0x58, 0x8d, 0x8e, 0x43, 0x8c, 0x95, 0x54, 0x8b, 0x72, 0x6a]);

  const mutate = (src: Uint8Array): { bytes: Uint8Array; how: string } => {
    const kind = int(5);
    if (kind === 0) {
      const out = src.slice();
      const flips = 1 + int(8);
      for (let i = 0; i < flips; i++) out[int(out.length)]! ^= 1 << int(8);
      return { bytes: out, how: 'bitflip' };
    }
    if (kind === 1) return { bytes: src.slice(0, int(src.length)), how: 'truncate' };
    if (kind === 2) {
      // Splice: a chunk of some fixture replaces a range of this one (opcodes land in the middle of data and back).
      const other = sources[int(sources.length)]!.bytes;
      const from = int(other.length);
      const len = int(Math.min(2048, other.length - from));
      const at = int(src.length);
      const cut = int(Math.min(2048, src.length - at));
      const out = new Uint8Array(src.length - cut + len);
      out.set(src.subarray(0, at));
      out.set(other.subarray(from, from + len), at);
      out.set(src.subarray(at + cut), at + len);
      return { bytes: out, how: 'splice' };
    }
    if (kind === 3) {
      // Huge length: after a length-taking opcode when one is found near a random spot, else anywhere.
      const out = src.slice();
      let at = int(out.length);
      for (let k = 0; k < 64 && at < out.length; k++, at++) if (LENGTH_OPS.has(out[at]!)) break;
      at = Math.min(at + 1, Math.max(0, out.length - 8));
      const dv = new DataView(out.buffer);
      if (r() < 0.5 && at + 8 <= out.length) dv.setBigUint64(at, BigInt(HUGE[int(HUGE.length)]!) << BigInt(int(33)), true);
      else if (at + 4 <= out.length) dv.setUint32(at, HUGE[int(HUGE.length)]!, true);
      return { bytes: out, how: 'huge-length' };
    }
    // Byte runs: a random range overwritten with one value (0x00, 0xff, MARK, EMPTY_LIST …).
    const out = src.slice();
    const at = int(out.length);
    out.fill([0x00, 0xff, 0x28, 0x5d, 0x94, 0x80][int(6)]!, at, at + 1 + int(64));
    return { bytes: out, how: 'run' };
  };

  const errorsByClass = new Map<string, number>();
  const byHow = new Map<string, number>();
  let valid = 0;
  let slowest = { ms: 0, how: '', source: '' };
  const failures: string[] = [];
  const t0 = performance.now();
  let run = 0;
  for (; run < CASES; run++) {
    const src = sources[run % sources.length]!;
    const { bytes, how } = mutate(src.bytes);
    byHow.set(how, (byHow.get(how) ?? 0) + 1);
    const c0 = performance.now();
    try {
      if (src.kind === 'pdiparams') {
        const ts = readPdiparamsTensors(bytes);
        if (run % 7 === 0) try { readPdiparams(bytes); } catch (e) { if (!isPPTSNError(e)) throw e; }
        for (const t of ts) assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
      } else if (src.name.endsWith('.info')) {
        readPdiparamsInfo(bytes);
      } else {
        const raw = readPdparamsRaw(bytes);
        for (const t of raw.tensors.values()) assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
        if (run % 7 === 0) try { readPdparams(bytes); } catch (e) { if (!isPPTSNError(e)) throw e; }
      }
      valid++;
    } catch (e) {
      if (isPPTSNError(e)) {
        // Message class: the message without numbers, names and quoted parts, first few words.
        const cls = `${e.code}: ${e.message.replace(/0x[0-9a-f]+|'[^']*'|"[^"]*"|\[[^\]]*\]|\S*[.@_]\S*|\d+/g, '#').split(/\s+/).slice(0, 9).join(' ')}`;
        errorsByClass.set(cls, (errorsByClass.get(cls) ?? 0) + 1);
      } else failures.push(`${src.name} ${how} case ${run}: ${e instanceof Error ? e.stack : String(e)}`);
    }
    const ms = performance.now() - c0;
    if (ms > slowest.ms) slowest = { ms, how, source: src.name };
    if (performance.now() - t0 > BUDGET_MS) break;
  }
  const total = performance.now() - t0;
  const errors = [...errorsByClass.values()].reduce((a, b) => a + b, 0);
  console.log(`fuzz: ${run} cases in ${total.toFixed(0)} ms (${[...byHow].map(([k, v]) => `${k} ${v}`).join(', ')}); valid ${valid}, PPTSNError ${errors}, other ${failures.length}`);
  console.log(`fuzz: slowest case ${slowest.ms.toFixed(1)} ms (${slowest.how} of ${slowest.source})`);
  console.log(`fuzz: ${errorsByClass.size} error classes:\n${[...errorsByClass].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${String(v).padStart(5)}  ${k}`).join('\n')}`);
  assert.deepEqual(failures.slice(0, 5), []);
  assert.ok(run >= 1000, `only ${run} cases ran within ${BUDGET_MS} ms`);
});
