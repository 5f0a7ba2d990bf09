/**
 * The `pptsn-web` command line as users of other Unix tools expect it: `--version`, per-command `--help`, exit 2
 * with the usage line for a command line we cannot run, progress on stderr only on a terminal (or `--progress`),
 * Ctrl-C leaving no `.part` file, several videos in one `classify`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededStateDict } from '../helpers/seeded.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const VIDEO = join(ROOT, 'test/fixtures/media/example.mp4');
let dir: string;
let server: Server;
let base: string;
const weights = writePdparams(seededStateDict(18, 400, 5));

/**
 * Runs a command without blocking this process: the stand-in server below lives in it (spawnSync would deadlock).
 * Returns the exit status and what it printed.
 */
function exec(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, PPTSN_PROGRESS: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const cli = (args: string[]) => exec(process.execPath, ['--import', 'tsx', MAIN, ...args]);

/** Runs the CLI with stdout and stderr on a pseudo-terminal (util-linux `script`); `output` is all it printed. */
async function onTty(args: string[]) {
  const cmd = [process.execPath, '--import', 'tsx', MAIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = await exec('script', ['-qec', cmd, '/dev/null']);
  return { code: r.code, output: r.stdout };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-cli-conv-'));
  // A stand-in for PaddleVideo's host: the whole file in 1 MB pieces, or half of it and then silence.
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-length': weights.byteLength });
    if (req.url === '/stall.pdparams') return void res.write(weights.subarray(0, weights.byteLength >> 1));
    let o = 0;
    const step = () => { if (o >= weights.byteLength) return res.end(); res.write(weights.subarray(o, o + (1 << 20))); o += 1 << 20; setImmediate(step); };
    step();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('--version prints the package version; --help lists every command; no arguments is a usage error', async () => {
  const v = await cli(['--version']);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  assert.equal(v.stderr, '');
  const h = await cli(['--help']);
  assert.equal(h.code, 0);
  for (const c of ['convert', 'classify', 'eval', 'export', 'download']) assert.match(h.stdout, new RegExp(`pptsn-web ${c} `));
  // The README's CLI block is the CLI's own usage, line for line (it had drifted: options missing from it).
  const usage = h.stdout.split('Usage:\n')[1]!.split('\n\n')[0]!.split('\n').map((l) => l.trim());
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf('## The CLI')).split('```')[1]!.trim().split('\n').map((l) => l.trim());
  assert.deepEqual(block, usage, "README.md's CLI block = pptsn-web --help's usage lines");
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Usage:/);
});

test('<command> --help prints that command\'s usage and nothing else', async () => {
  const r = await cli(['classify', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pptsn-web classify <video\|frame_dir>… -m <dir>/);
  assert.match(r.stdout, /pptsn-web classify --tensor <x\.npy>/);
  assert.doesNotMatch(r.stdout, /pptsn-web (convert|download|export) /);
  const d = await cli(['download', '-h']);
  assert.equal(d.code, 0);
  assert.match(d.stdout, /pptsn-web download pptsn-k400/);
  assert.doesNotMatch(d.stdout, /classify/);
});

test('unknown options, another command\'s options, missing and malformed values exit 2 with the usage line', async () => {
  const cases: [string[], RegExp][] = [
    [['classify', VIDEO, '-m', dir, '--bogus'], /unknown option --bogus for classify/],
    [['classify', VIDEO, '-m', dir, '--distilled'], /--distilled for classify \(it belongs to download\)/],
    [['export', dir, '-o', 'x.pdparams', '--labels', 'kinetics400'], /--labels for export \(it belongs to convert, eval, train\)/],
    [['classify', VIDEO, '-m'], /argument missing/],
    [['convert', 'w.pdparams', '-o', '--dtype', 'float16'], /ambiguous/],
    [['classify', VIDEO, '-m', dir, '--top-k', 'many'], /--top-k must be a positive integer, got "many"/],
    [['classify', VIDEO, '-m', dir, '--min-score', '2'], /--min-score must be a number between 0 and 1/],
    [['convert', 'w.pdparams', '-o', dir, '--dtype', 'int8'], /--dtype must be one of float32, float16/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ];
  for (const [args, pattern] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code} (${r.stderr})`);
    assert.equal(r.stdout, '', 'usage errors go to stderr');
    assert.match(r.stderr, pattern, args.join(' '));
    const command = args[0] === 'frobnicate' ? '<command>' : args[0]!;
    assert.match(r.stderr, new RegExp(`usage: pptsn-web ${command}`), `${args.join(' ')}: the usage line`);
  }
});

test('progress is drawn on stderr on a terminal or with --progress, never into a pipe by default', async () => {
  const url = `${base}/ppTSN_k400.pdparams`;
  const tty = await onTty(['download', 'pptsn-k400', '-o', join(dir, 'tty'), '--url', url]);
  assert.equal(tty.code, 0, tty.output);
  assert.match(tty.output, /\rdownloading .*100%/);
  assert.match(tty.output, /converting ppTSN_k400\.pdparams: .*done 100%/);
  const piped = await cli(['download', 'pptsn-k400', '-o', join(dir, 'piped'), '--url', url]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.doesNotMatch(piped.stderr, /%/, 'no meter into a pipe');
  assert.match(piped.stderr, /downloaded .*sha256/);
  const asked = await cli(['download', 'pptsn-k400', '-o', join(dir, 'asked'), '--url', url, '--progress']);
  assert.equal(asked.code, 0, asked.stderr);
  assert.match(asked.stderr, /downloading .*100%/);
  // classify draws images through the backbone (a terminal's default waits ~2 s, so a short call stays quiet; an
  // explicit --progress draws from the first chunk); the result on stdout stays clean JSON.
  const model = join(dir, 'tty');
  const c = await onTty(['classify', VIDEO, '-m', model, '--preset', 'fast', '--segments', '3', '--json', '--progress']);
  assert.equal(c.code, 0, c.output);
  assert.match(c.output, /classifying: 3\/3 images \(100 %/);
  const p = await cli(['classify', VIDEO, '-m', model, '--preset', 'fast', '--segments', '3', '--json', '--progress']);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /classifying: 3\/3 images \(100 %, [\d.]+ images\/s\), so far: /);
  assert.equal(JSON.parse(p.stdout).top.length, 5);
  const quiet = await cli(['classify', VIDEO, '-m', model, '--preset', 'fast', '--segments', '3', '--json']);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /images/, 'no progress into a pipe by default');
});

test('classify takes several videos: one model load, one JSON line each; a bad one fails alone', async () => {
  const model = join(dir, 'tty');
  if (!existsSync(join(model, 'model.json'))) assert.equal((await cli(['download', 'pptsn-k400', '-o', model, '--url', `${base}/ppTSN_k400.pdparams`])).code, 0);
  const other = join(dir, 'copy.mp4');
  writeFileSync(other, readFileSync(VIDEO));
  const missing = join(dir, 'missing.mp4');
  const r = await cli(['classify', VIDEO, missing, other, '-m', model, '--preset', 'fast', '--segments', '2', '--json', '--min-score', '0.001']);
  assert.equal(r.code, 1, 'a failed file makes the exit status 1');
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { path: string; file: string; logits: number[]; top: { score: number }[] });
  assert.deepEqual(lines.map((l) => l.path), [VIDEO, other]);
  assert.deepEqual(lines.map((l) => l.file), [VIDEO, other]);
  assert.deepEqual(lines[0]!.logits, lines[1]!.logits, 'the same bytes give the same logits');
  for (const l of lines) {
    assert.ok(l.top.every((t) => t.score >= 0.001));
    for (let i = 1; i < l.top.length; i++) assert.ok(l.top[i - 1]!.score >= l.top[i]!.score, 'top stays sorted');
  }
  assert.match(r.stderr, /missing\.mp4/);
  assert.match(r.stderr, /1 of 3 files could not be classified/);
});

test('Ctrl-C (SIGINT) during a download removes the .part file and exits 130', async () => {
  const out = join(dir, 'interrupted');
  const p = spawn(process.execPath, ['--import', 'tsx', MAIN, 'download', 'pptsn-k400', '-o', out, '--url', `${base}/stall.pdparams`], { cwd: ROOT });
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
  // Wait until half the file sits in the .part file, then interrupt as a terminal's Ctrl-C would.
  const deadline = Date.now() + 60_000;
  const part = () => (existsSync(out) ? readdirSync(out).filter((f) => f.endsWith('.part')) : []);
  while (part().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(part().length, 1, `a .part file appears (${stderr})`);
  p.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.deepEqual(readdirSync(out), [], 'nothing left behind');
});
