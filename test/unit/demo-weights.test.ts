/**
 * `npm start`'s weight step (demo/fetch-weights.ts) against a local stand-in for PaddleVideo's host: the first run
 * downloads and converts into the folder (Kinetics-400 labels, SHA-256 recorded), the second says they are there,
 * and an unreachable host is one line and exit 0 (the demo starts without network; CI has none).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';
import { seededStateDict } from '../helpers/seeded.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const weights = writePdparams(seededStateDict(18, 400, 9));
let server: Server;
let base: string;
let dir: string;

/** Runs the prestart step (async: the stand-in server lives in this process). */
function prestart(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'demo/fetch-weights.ts')], { cwd: ROOT, env: { ...process.env, ...env } });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-prestart-'));
  server = createServer((req, res) => {
    if (req.url !== '/PaddleVideo-release2.2/ppTSN_k400.pdparams') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': weights.byteLength }).end(weights);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('npm start fetches the K400 weights once, converted with their SHA-256, and then skips', async () => {
  const out = join(dir, 'pptsn-k400');
  const env = { PPTSN_WEIGHTS_URL: `${base}/PaddleVideo-release2.2/ppTSN_k400.pdparams`, PPTSN_WEIGHTS_DIR: out, PPTSN_SKIP_WEIGHTS: '' };
  const first = await prestart(env);
  assert.equal(first.code, 0, first.stderr);
  const meta = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')).pptsn;
  assert.equal(meta.numClasses, 400);
  assert.equal(meta.labels[5], 'archery');
  assert.equal(meta.source.sha256, createHash('sha256').update(weights).digest('hex'));
  assert.match(first.stderr, /sha256 [0-9a-f]{64}/);
  assert.deepEqual(readdirSync(out).filter((f) => /\.(pdparams|part)$/.test(f)), [], 'only the converted model stays');
  const second = await prestart(env);
  assert.equal(second.code, 0);
  assert.deepEqual(second.stderr.trim().split('\n'), [`pptsn-web demo: PP-TSN K400 weights present in ${out}`]);
});

test('offline: one clear line, exit 0, nothing left behind', async () => {
  const out = join(dir, 'offline');
  // Port 9 (discard) on localhost refuses the connection at once, as an offline machine's DNS failure would.
  for (const url of ['http://127.0.0.1:9/ppTSN_k400.pdparams', `${base}/missing.pdparams`]) {
    const r = await prestart({ PPTSN_WEIGHTS_URL: url, PPTSN_WEIGHTS_DIR: out, PPTSN_SKIP_WEIGHTS: '' });
    assert.equal(r.code, 0, 'npm start goes on');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /could not download the K400 weights .*starting without them/);
    assert.ok(!existsSync(out) || readdirSync(out).length === 0, 'no partial file');
  }
});
