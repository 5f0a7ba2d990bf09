/**
 * Rawframes (SPEC §4): a folder of img_00001.jpg, … extracted with OpenCV as the tutorial does. The JPEG decoder
 * gives PIL's pixels; `classify <frame_dir> --dump-input` matches the PIL-based PaddleVideo reference
 * (test/helpers/paddle_reference.py --decoder rawframes); only the sampled files are read.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededStateDict } from '../helpers/seeded.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';
import { decodeNpy } from '../../src/core/npy.js';
import { countRawframes, rawframeName, readRawframes } from '../../src/core/frames/rawframes.js';
import { readRawframesDir } from '../../src/node/rawframes.js';
import { isPPTSNError } from '../../src/core/errors.js';
import { PRESETS, resolvePreprocessOptions } from '../../src/core/preprocess/presets.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const PYTHON = process.env['PPTSN_PYTHON'] ?? '/usr/bin/python3';
let dir: string;
let frames: string;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-raw-'));
  const video = join(dir, 'clip.avi');
  // 4:3 MPEG-4 Part 2 in AVI, like UCF101; colourful and sharp-edged (a hard case for chroma upsampling).
  run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-frames:v', '45', '-c:v', 'mpeg4', '-q:v', '3', video]);
  frames = join(dir, 'v_clip');
  assert.equal(run(PYTHON, [join(ROOT, 'test/helpers/extract_rawframes.py'), video, frames]).trim(), '45');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('names and counts: img_{idx+1:05}.jpg, other files ignored', () => {
  assert.equal(rawframeName(0), 'img_00001.jpg');
  assert.equal(rawframeName(99999), 'img_100000.jpg');
  assert.equal(countRawframes(['img_00001.jpg', 'img_00002.jpg', 'flow_x_00001.jpg', '.DS_Store', 'img_00003.png']), 2);
});

test('only the sampled files are read; a missing one is named', async () => {
  const read: string[] = [];
  const io = {
    read: async (name: string) => { read.push(name); if (name === 'img_00016.jpg') throw new Error('ENOENT'); return new Uint8Array([1]); },
    decode: async () => ({ width: 4, height: 4, channels: 4 as const, data: new Uint8Array(64) }),
  };
  const clip = await readRawframes(io, 10, 'd', resolvePreprocessOptions({ preset: 'fast', segments: 3 }));
  assert.deepEqual(clip.indices, [1, 5, 8]);
  assert.deepEqual(read.sort(), ['img_00002.jpg', 'img_00006.jpg', 'img_00009.jpg']);
  await assert.rejects(readRawframes(io, 40, 'clips/x', resolvePreprocessOptions({ preset: 'fast', segments: 4 })), (e: unknown) => isPPTSNError(e) && e.code === 'decode-failed' && /clips\/x\/img_00016\.jpg is missing \(L = 40 frames/.test(e.message));
  await assert.rejects(readRawframes(io, 0, 'empty', PRESETS.fast), (e: unknown) => isPPTSNError(e) && e.code === 'video-too-short' && /empty has no img_00001\.jpg/.test(e.message));
});

test('the JPEG decoder gives exactly the pixels PIL gives on OpenCV-written frames', async () => {
  const clip = await readRawframesDir(frames, resolvePreprocessOptions({ preset: 'fast', segments: 3 }));
  assert.deepEqual(clip.indices, [7, 22, 37]);
  const script = `import sys, numpy as np\nfrom PIL import Image\nfor n in sys.argv[1:]:\n    sys.stdout.buffer.write(np.asarray(Image.open(n).convert('RGB')).tobytes())`;
  const pil = spawnSync(PYTHON, ['-c', script, ...clip.indices.map((i) => join(frames, rawframeName(i)))], { maxBuffer: 1 << 26 });
  assert.equal(pil.status, 0, String(pil.stderr));
  let maxDiff = 0;
  clip.frames.forEach((f, k) => {
    assert.equal(f.width, 320);
    for (let p = 0; p < 320 * 240; p++) for (let c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(f.data[p * f.channels + c]! - pil.stdout[k * 320 * 240 * 3 + p * 3 + c]!));
  });
  console.log(`rawframes vs PIL: max |Δ| ${maxDiff} levels`);
  assert.ok(maxDiff <= 1, `max |Δ| ${maxDiff} levels from PIL`);
});

test('classify <frame_dir> --dump-input matches the PIL-based PaddleVideo reference (both presets)', () => {
  const pd = join(dir, 'w.pdparams');
  writeFileSync(pd, writePdparams(seededStateDict(18, 4, 77)));
  assert.equal(cli(['convert', pd, '-o', join(dir, 'model')]).code, 0);
  for (const [preset, segments] of [['fast', '4'], ['accurate', '1']] as const) {
    const ours = join(dir, `ours_${preset}.npy`);
    const ref = join(dir, `ref_${preset}.npy`);
    const r = cli(['classify', frames, '-m', join(dir, 'model'), '--preset', preset, '--segments', segments, '--dump-input', ours, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const meta = JSON.parse(run(PYTHON, [join(ROOT, 'test/helpers/paddle_reference.py'), frames, ref, '--preset', preset, '--segments', segments, '--decoder', 'rawframes']));
    assert.deepEqual(JSON.parse(r.stdout).frameIndices, meta.indices);
    const a = decodeNpy(new Uint8Array(readFileSync(ours)));
    const b = decodeNpy(new Uint8Array(readFileSync(ref)));
    assert.deepEqual(a.shape, b.shape);
    const d = Float64Array.from(a.data, (v, i) => Math.abs(v - b.data[i]!)).sort();
    const mean = d.reduce((s, v) => s + v, 0) / d.length;
    const p99 = d[Math.floor(0.99 * (d.length - 1))]!;
    console.log(`rawframes ${preset}: mean |Δ| ${mean.toExponential(2)}, p99 ${p99.toExponential(2)}`);
    assert.ok(mean <= 0.01 && p99 <= 0.05, `${preset}: mean ${mean}, p99 ${p99}`);
  }
  // A folder missing a sampled frame (L is now the 44 files left): one line naming the file.
  renameSync(join(frames, 'img_00008.jpg'), join(dir, 'moved.jpg'));
  const r = cli(['classify', frames, '-m', join(dir, 'model'), '--preset', 'fast', '--segments', '3']);
  renameSync(join(dir, 'moved.jpg'), join(frames, 'img_00008.jpg'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^pptsn-web: .*v_clip\/img_00008\.jpg is missing \(L = 44 frames/m);
});
