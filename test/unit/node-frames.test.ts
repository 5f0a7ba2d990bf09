/**
 * The Node frame reader (src/node/frames.ts), which `classify`, `eval` and `train` share: a folder is a rawframes
 * clip and a file a video (or as a list's format says, with its num_frames), and `ReadAhead` hands each read over
 * once, holding its error until then; `train --unlabeled`'s plain path lists take the same folder/file rule.
 * Tiny inputs made with ffmpeg (6 frames of 64×48).
 */
import { resolvePreprocessOptions } from '../../src/core/preprocess/presets.js';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPPTSNError } from '../../src/core/errors.js';
import { ReadAhead, readFrames } from '../../src/node/frames.js';
import { readRawframesDir } from '../../src/node/rawframes.js';
import { readUnlabelled } from '../../src/node/train/unlabelled.js';

let dir: string;
let folder: string;
let video: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-node-frames-'));
  folder = join(dir, 'v_clip');
  video = join(dir, 'clip.mp4');
  mkdirSync(folder);
  for (const args of [
    ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '6', join(folder, 'img_%05d.jpg')],
    ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '6', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', video],
  ]) {
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

const preset = resolvePreprocessOptions({ preset: 'fast', segments: 3 });

test('readFrames: a folder is read as rawframes, a file as a video; a list\'s format and num_frames are taken as given', async () => {
  const rf = await readFrames(folder, preset);
  if ('info' in rf) assert.fail('a folder is a rawframes clip');
  const direct = await readRawframesDir(folder, preset);
  assert.deepEqual(rf.indices, direct.indices);
  assert.equal(rf.frameCount, 6);
  assert.deepEqual(rf.frames.map((f) => f.data), direct.frames.map((f) => f.data));
  assert.deepEqual(rf.indices, [1, 3, 5]);
  // L from the list (PaddleVideo's FrameDataset trusts num_frames): the sampler draws over 4 frames, not 6.
  const listed = await readFrames(folder, preset, { format: 'rawframes', numFrames: 4 });
  if ('info' in listed) assert.fail('a rawframes clip');
  assert.equal(listed.frameCount, 4);
  assert.deepEqual(listed.indices, [0, 2, 3]);
  const v = await readFrames(video, preset, { decoder: 'ffmpeg' });
  assert.ok('info' in v && v.decoder === 'ffmpeg', 'a video clip');
  assert.equal(v.frames.length, 3);
  assert.equal(v.frames[0]!.width, 64);
});

test('a plain path list (train --unlabeled) is rawframes when its first path is a folder, videos when a file', async () => {
  writeFileSync(join(dir, 'folders.txt'), 'v_clip\n');
  writeFileSync(join(dir, 'files.txt'), 'clip.mp4\n');
  assert.equal((await readUnlabelled(join(dir, 'folders.txt'), { root: dir })).format, 'rawframes');
  assert.equal((await readUnlabelled(join(dir, 'files.txt'), { root: dir })).format, 'videos');
});

test('readFrames refuses, by name, a folder read as a video and a path that does not exist', async () => {
  await assert.rejects(readFrames(folder, preset, { format: 'videos', decoder: 'ffmpeg' }), (e: unknown) => isPPTSNError(e) && e.code === 'unsupported-source' && /v_clip is a folder, not a video file/.test(e.message));
  await assert.rejects(readFrames(join(dir, 'gone.mp4'), preset), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument' && /gone\.mp4 does not exist/.test(e.message));
});

test('ReadAhead: a started read is handed over once; an error waits for its take; settle waits for reads nobody took', async () => {
  const started: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const ahead = new ReadAhead(async (key: string) => {
    started.push(key);
    if (key === 'bad') throw new Error('bad input');
    if (key === 'slow') await gate;
    return `frames of ${key}`;
  });
  ahead.start('a');
  ahead.start('a'); // already pending: not read twice
  ahead.start('bad'); // its rejection must not be unhandled before the take
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(await ahead.take('a'), 'frames of a');
  assert.deepEqual(started, ['a', 'bad']);
  // Taken once: a second take reads again.
  assert.equal(await ahead.take('a'), 'frames of a');
  assert.deepEqual(started, ['a', 'bad', 'a']);
  await assert.rejects(ahead.take('bad'), /bad input/);
  // Not started ahead: read on take.
  assert.equal(await ahead.take('b'), 'frames of b');
  ahead.start('slow');
  let settled = false;
  const s = ahead.settle().then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(settled, false, 'settle waits for the pending read');
  release();
  await s;
  assert.equal(settled, true);
  // Settled reads are forgotten: taking it again reads anew.
  const before = started.length;
  await ahead.take('slow');
  assert.equal(started.length, before + 1);
});
