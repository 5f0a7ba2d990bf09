/**
 * Security hygiene (issue 8 §5): model.json shard hashes are written and verified (a tampered or corrupted shard is
 * refused with `integrity`; files without hashes still load), and the library's source never evaluates code
 * (`eval`, `new Function`, string timers), so it runs under a CSP without 'unsafe-eval'.
 *
 * Run: node --import tsx --test test/unit/security.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModelJson, writeModelJson } from '../../src/core/formats/modelJson.js';
import { isPPTSNError } from '../../src/core/errors.js';
import { seededStateDict } from '../helpers/seeded.js';
import { RECOMMENDED_CSP as CSP } from '../../src/csp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function written() {
  // Small shards so the model has several (the hashes are per shard).
  return writeModelJson(seededStateDict(18, 3, 7), { shardBytes: 8 * 1024 * 1024 });
}

test('model.json: every shard carries its SHA-256, and the reader checks it', async () => {
  const { modelJson, shards } = written();
  const group = modelJson.weightsManifest[0]!;
  assert.equal(group.sha256?.length, group.paths.length);
  for (const [i, s] of shards.entries()) assert.equal(group.sha256![i], createHash('sha256').update(s.data).digest('hex'));
  const byPath = new Map(shards.map((s) => [s.path, s.data]));
  const ok = await readModelJson(JSON.parse(JSON.stringify(modelJson)), async (p) => byPath.get(p)!);
  assert.equal(ok.depth, 18);
});

test('model.json: a tampered shard is refused with code "integrity" (same size, one byte changed)', async () => {
  const { modelJson, shards } = written();
  const last = shards.at(-1)!;
  const tampered = new Map(shards.map((s) => [s.path, s.data.slice()]));
  tampered.get(last.path)![100] ^= 0x01;
  await assert.rejects(readModelJson(JSON.parse(JSON.stringify(modelJson)), async (p) => tampered.get(p)!), (e: unknown) => {
    assert.ok(isPPTSNError(e));
    assert.equal(e.code, 'integrity');
    assert.match(e.message, new RegExp(`shard ${last.path}`));
    return true;
  });
});

test('model.json: files without hashes (written before they existed) still load; malformed hashes are refused', async () => {
  const { modelJson, shards } = written();
  const byPath = new Map(shards.map((s) => [s.path, s.data]));
  const old = JSON.parse(JSON.stringify(modelJson));
  delete old.weightsManifest[0].sha256;
  assert.equal((await readModelJson(old, async (p) => byPath.get(p)!)).numClasses, 3);
  const bad = JSON.parse(JSON.stringify(modelJson));
  bad.weightsManifest[0].sha256 = ['nope'];
  await assert.rejects(readModelJson(bad, async (p) => byPath.get(p)!), (e: unknown) => isPPTSNError(e) && e.code === 'model-invalid');
});

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : /\.(ts|js|mjs)$/.test(n) ? [p] : [];
  });
}

test('src/ contains no eval, new Function, or string-evaluating timers', () => {
  const files = sources(join(ROOT, 'src'));
  assert.ok(files.length > 20);
  const banned = [/\beval\s*\(/, /\bnew\s+Function\s*\(/, /(?<![\w.])Function\s*\(\s*['"`]/, /\bset(?:Timeout|Interval)\s*\(\s*['"`]/, /\bimportScripts\s*\(\s*[^'"`)]/];
  const hits: string[] = [];
  for (const f of files) {
    // Comments may mention the words (this hygiene rule is documented in places); code may not use them.
    const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
    code.split('\n').forEach((line, i) => {
      for (const re of banned) if (re.test(line)) hits.push(`${relative(ROOT, f)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(hits, [], `code evaluation found:\n${hits.join('\n')}`);
});

test('src/ makes no synchronous tensor reads (dataSync, arraySync, bufferSync)', () => {
  // On WebGPU tfjs reads synchronously through a canvas; in Chromium (SwiftShader) one such read loses the device
  // ("A valid external Instance reference no longer exists"), and on any GPU it stalls the pipeline. Reads are awaited.
  const hits: string[] = [];
  for (const f of sources(join(ROOT, 'src'))) {
    const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
    code.split('\n').forEach((line, i) => {
      if (/\.(dataSync|arraySync|bufferSync)\s*\(/.test(line)) hits.push(`${relative(ROOT, f)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(hits, [], `synchronous tensor reads found:\n${hits.join('\n')}`);
});

test('README.md documents exactly the CSP the browser test runs under', () => {
  assert.ok(readFileSync(join(ROOT, 'README.md'), 'utf8').includes(CSP), 'update the README\'s Security section from src/csp.ts');
});
