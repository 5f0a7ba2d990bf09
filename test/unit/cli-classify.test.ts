/**
 * `pptsn-web classify` as a newcomer meets it: `--json` is JSON Lines with one flat record per file (per clip of a
 * tensor batch), and a path that does not exist or a folder without rawframes is refused by name, not through
 * ffprobe. Runs the CLI on a seeded ResNet18-vd (cpu backend).
 *
 * Run: node --import tsx --test test/unit/cli-classify.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededInput, seededStateDict } from '../helpers/seeded.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';
import { encodeNpy } from '../../src/core/npy.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
let dir: string;
let model: string;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PPTSN_PROGRESS: '' }, timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `classify --json` output: JSON Lines, one record per clip. */
interface JsonRecord { path: string; file: string; clip?: number; top: { index: number; label: string; score: number }[]; logits: number[]; backend: string; frameIndices?: number[]; frameCount?: number; rotation?: number; decoder?: string; stream?: number }
function jsonLines(stdout: string): JsonRecord[] {
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonRecord);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-cli-classify-'));
  const pd = join(dir, 'seeded18.pdparams');
  writeFileSync(pd, writePdparams(seededStateDict(18, 5, 1234)));
  model = join(dir, 'seeded18');
  const conv = cli(['convert', pd, '-o', model]);
  assert.equal(conv.code, 0, conv.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('classify --json prints JSON Lines: one flat object per file (per clip of a tensor batch), fields kept', () => {
  const video = join(ROOT, 'test/fixtures/media/example.mp4');
  const copy = join(dir, 'json_copy.mp4');
  writeFileSync(copy, readFileSync(video));
  const args = ['-m', model, '--backend', 'wasm', '--preset', 'fast', '--segments', '2', '--top-k', '3', '--json'];
  const checkVideoLine = (l: JsonRecord, path: string) => {
    assert.deepEqual(Object.keys(l), ['path', 'file', 'top', 'logits', 'backend', 'frameIndices', 'frameCount', 'rotation', 'decoder', 'stream']);
    assert.equal(l.stream, 0, 'the stream read (ffmpeg\'s index)');
    assert.equal(l.decoder, 'ffmpeg.wasm', 'an 8-bit 4:2:0 video is read in-process by default');
    assert.equal(l.path, path);
    assert.equal(l.file, path);
    assert.equal(l.top.length, 3);
    for (const t of l.top) assert.deepEqual(Object.keys(t).sort(), ['index', 'label', 'score']);
    assert.equal(l.logits.length, 5);
    assert.ok(l.logits.every((v) => typeof v === 'number'), 'logits is a flat [classes] array');
    assert.equal(l.top[0]!.index, l.logits.indexOf(Math.max(...l.logits)));
    assert.deepEqual([l.backend, l.frameIndices, l.frameCount, l.rotation], ['wasm', [32, 98], 131, 0]);
  };
  const one = cli(['classify', video, ...args]);
  assert.equal(one.code, 0, one.stderr);
  assert.ok(one.stdout.endsWith('}\n'), 'each record ends its line');
  const oneLines = one.stdout.split('\n').filter(Boolean);
  assert.equal(oneLines.length, 1);
  checkVideoLine(JSON.parse(oneLines[0]!), video);
  const two = cli(['classify', video, copy, ...args]);
  assert.equal(two.code, 0, two.stderr);
  const twoLines = two.stdout.split('\n').filter(Boolean);
  assert.equal(twoLines.length, 2, 'one line per file');
  const records = twoLines.map((l) => JSON.parse(l) as JsonRecord);
  checkVideoLine(records[0]!, video);
  checkVideoLine(records[1]!, copy);
  assert.deepEqual(records[1]!.logits, records[0]!.logits);
  // A --tensor batch [2, …]: one line per clip, told apart by `clip`; no frame fields.
  const npy = join(dir, 'json_batch.npy');
  writeFileSync(npy, encodeNpy(seededInput([2, 2, 3, 32, 32], 3), [2, 2, 3, 32, 32]));
  const batch = cli(['classify', '--tensor', npy, '-m', model, '--backend', 'cpu', '--json']);
  assert.equal(batch.code, 0, batch.stderr);
  // tfjs-backend-cpu's "install our node backend" banner (tfjs-node is not what we run on) is kept off stderr.
  assert.doesNotMatch(batch.stderr, /TensorFlow\.js in Node\.js|node backend/);
  const clips = jsonLines(batch.stdout);
  assert.deepEqual(clips.map((c) => [c.path, c.clip, c.top.length, c.logits.length]), [[npy, 0, 5, 5], [npy, 1, 5, 5]]);
  assert.deepEqual(Object.keys(clips[0]!), ['path', 'file', 'clip', 'top', 'logits', 'backend']);
});

test('classify on a missing path or a folder without rawframes says so by name, not through ffprobe (exit 1)', () => {
  const missing = join(dir, 'no_such_video.mp4');
  const empty = join(dir, 'empty_folder');
  mkdirSync(empty, { recursive: true });
  const jpegs = join(dir, 'other_jpegs');
  mkdirSync(jpegs, { recursive: true });
  for (const n of ['frame_0001.jpg', 'frame_0002.jpg']) writeFileSync(join(jpegs, n), readFileSync(join(ROOT, 'test/fixtures/media/example.mp4')).subarray(0, 16));
  const layout = /A rawframes folder holds img_00001\.jpg, img_00002\.jpg, …/;
  const cases: [string, RegExp[]][] = [
    [missing, [/^pptsn-web: \S*no_such_video\.mp4 does not exist: give a video file, or a rawframes folder of img_00001\.jpg/]],
    [empty, [/^pptsn-web: \S*empty_folder is a folder but not a rawframes folder: it has no img_00001\.jpg-style frames \(it is empty\)/, layout]],
    [jpegs, [/^pptsn-web: \S*other_jpegs is a folder but not a rawframes folder: .*\(it holds 2 other files: frame_0001\.jpg, frame_0002\.jpg\)/, layout]],
  ];
  for (const [path, patterns] of cases) {
    const r = cli(['classify', path, '-m', model, '--backend', 'cpu']);
    assert.equal(r.code, 1, `${path}: exit ${r.code} (${r.stderr})`);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('pptsn-web:'));
    assert.equal(lines.length, 1, r.stderr);
    for (const p of patterns) assert.match(lines[0]!, p);
    assert.ok(lines[0]!.includes(path), `the message names ${path}`);
    assert.doesNotMatch(r.stderr, /ffprobe|ffmpeg/);
    assert.equal(r.stdout, '');
  }
  // Among several inputs each fails alone, with the same message.
  const many = cli(['classify', missing, empty, '-m', model, '--backend', 'cpu', '--json']);
  assert.equal(many.code, 1, many.stderr);
  assert.match(many.stderr, /no_such_video\.mp4 does not exist/);
  assert.match(many.stderr, /empty_folder is a folder but not a rawframes folder/);
  assert.match(many.stderr, /2 of 2 files could not be classified/);
  assert.doesNotMatch(many.stderr, /ffprobe/);
});

test('several inputs: the next one is read while the current one runs (a file removed after the first run still classifies); order and errors kept', async () => {
  const { loadClassifier } = await import('../../src/cli/classify.js');
  const video = join(ROOT, 'test/fixtures/media/example.mp4');
  const avi = join(ROOT, 'test/fixtures/media/example.avi');
  const second = join(dir, 'ahead.avi');
  writeFileSync(second, readFileSync(avi));
  const frames = join(dir, 'ahead_frames');
  mkdirSync(frames, { recursive: true });
  const py = spawnSync(process.env['PPTSN_PYTHON'] ?? '/usr/bin/python3', [join(ROOT, 'test/helpers/extract_rawframes.py'), video, frames], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  // wasm: deterministic in Node (one thread), as the logits' equality below needs, and far quicker than cpu.
  const classifier = await loadClassifier({ modelDir: model, backend: 'wasm', preset: 'fast', segments: 2, log: () => {} });
  try {
    const alone = await classifier.run({ video: second });
    const first = await classifier.run({ video }, {}, { video: second });
    // The AVI's read started during the run above (ffprobe + ffmpeg, well under the 3 s given here; no speed is
    // asserted): removed from disk now, its run still has its frames. Without the read ahead it would fail below.
    await new Promise((r) => setTimeout(r, 3000));
    rmSync(second);
    const ahead = await classifier.run({ video: second }, {}, { video: frames });
    assert.deepEqual(ahead.logits, alone.logits, 'the frames read ahead are the file\'s');
    const fromFrames = await classifier.run({ video: frames }, {}, { video: join(dir, 'never_there.mp4') });
    assert.equal(fromFrames.frameIndices?.length, 2);
    assert.equal(first.top[0]!.length, 5);
    // A read ahead that fails is reported by its own run, by name.
    await assert.rejects(classifier.run({ video: join(dir, 'never_there.mp4') }), /never_there\.mp4 does not exist/);
    // Without a read ahead the file is read when its run comes (the AVI is gone now).
    await assert.rejects(classifier.run({ video: second }), /ahead\.avi does not exist/);
  } finally {
    await classifier.dispose();
  }
});
