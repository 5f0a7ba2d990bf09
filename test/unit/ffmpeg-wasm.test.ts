/**
 * The CLI's in-process decoder (src/node/ffmpegWasm.ts, ffmpeg.wasm in a worker thread) against the system ffmpeg:
 * the same L, indices and pixels for the files it takes by default, the system ffmpeg for the rest, a working CLI
 * without any system ffmpeg, errors with the file named, and an abort that ends the decode and leaves the next one
 * working. The real-world cases (rotation, edit lists, full range, 10-bit) run on both decoders in ffmpeg.test.ts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readClip } from '../../src/node/frames.js';
import { closeWasmDecoder, decodeFramesWasm, probeVideoWasm } from '../../src/node/ffmpegWasm.js';
import { isPPTSNError } from '../../src/core/errors.js';
import { realworldCases } from '../helpers/realworld.js';
import { PRESETS, resolvePreprocessOptions } from '../../src/core/preprocess/presets.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '../..');
const EXAMPLE = join(HERE, '../fixtures/media/example.mp4');
const EXAMPLE_AVI = join(HERE, '../fixtures/media/example.avi');
const DIR = join(tmpdir(), 'pptsn-web-test-videos', 'wasm');
mkdirSync(DIR, { recursive: true });

after(() => closeWasmDecoder());

function maxDiff(a: { data: ArrayLike<number> }, b: { data: ArrayLike<number> }): number {
  assert.equal(a.data.length, b.data.length);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  return m;
}

test('UCF101-style AVI (MPEG-4 Part 2) and H.264 MP4: auto gives the system ffmpeg\'s frames, bit for bit, on both presets', async () => {
  // The UCF101 shape: 320×240 AVI, MPEG-4 Part 2, as `eval` reads it by the thousand.
  const avi = join(DIR, 'ucf_like.avi');
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-frames:v', '90', '-c:v', 'mpeg4', '-vtag', 'XVID', '-q:v', '5', avi]);
  assert.equal(r.status, 0, r.stderr?.toString());
  for (const file of [avi, EXAMPLE, EXAMPLE_AVI]) {
    for (const preset of ['fast', 'accurate'] as const) {
      const sys = await readClip(file, resolvePreprocessOptions(preset), { decoder: 'ffmpeg' });
      const wasm = await readClip(file, resolvePreprocessOptions(preset), { decoder: 'auto' });
      // MPEG-4 Part 2 is left to the system ffmpeg (its x86 half-pel averaging is not the C one); H.264 is read in-process.
      assert.equal(wasm.decoder, file === EXAMPLE ? 'ffmpeg.wasm' : 'ffmpeg', file);
      assert.equal(sys.decoder, 'ffmpeg');
      assert.deepEqual([wasm.info.frameCount, wasm.info.width, wasm.info.height, wasm.info.codec], [sys.info.frameCount, sys.info.width, sys.info.height, sys.info.codec]);
      assert.deepEqual(wasm.indices, sys.indices);
      assert.equal(wasm.frames.length, sys.frames.length);
      wasm.frames.forEach((f, k) => {
        assert.equal(f.channels, 3, 'RGB like the system ffmpeg\'s rgb24');
        assert.equal(maxDiff(f, sys.frames[k]!), 0, `${file} ${preset} slot ${k}`);
      });
    }
  }
});

test('10-bit forced through ffmpeg.wasm: same L and indices, colour within a few levels and flagged not exact (auto leaves it to the system ffmpeg)', async () => {
  const hi10 = realworldCases().find((c) => c.name === 'hi10')!.path;
  const sys = await readClip(hi10, PRESETS.fast, { decoder: 'ffmpeg' });
  const auto = await readClip(hi10, PRESETS.fast);
  assert.equal(auto.decoder, 'ffmpeg');
  const wasm = await readClip(hi10, PRESETS.fast, { decoder: 'wasm' });
  assert.equal(wasm.decoder, 'ffmpeg.wasm');
  assert.equal(wasm.exactColour, false);
  assert.deepEqual(wasm.indices, sys.indices);
  let sum = 0, n = 0, max = 0;
  wasm.frames.forEach((f, k) => {
    const s = sys.frames[k]!;
    for (let i = 0; i < f.data.length; i++) { const d = Math.abs(f.data[i]! - s.data[i]!); sum += d; n++; max = Math.max(max, d); }
  });
  assert.ok(sum / n < 1.5 && max <= 8, `mean ${sum / n}, max ${max}`);
});

test('without any system ffmpeg on PATH, classify-style reading still works through ffmpeg.wasm (exact for 8-bit 4:2:0)', () => {
  const script = `
    import { readClip } from ${JSON.stringify(join(ROOT, 'src/node/frames.ts'))};
    import { PRESETS } from ${JSON.stringify(join(ROOT, 'src/core/preprocess/presets.ts'))};
    import { closeWasmDecoder } from ${JSON.stringify(join(ROOT, 'src/node/ffmpegWasm.ts'))};
    const out = [];
    for (const f of ${JSON.stringify([EXAMPLE, realworldCases().find((c) => c.name === 'hi10')!.path])}) {
      const c = await readClip(f, PRESETS.fast);
      out.push({ decoder: c.decoder, exact: c.exactColour, indices: c.indices, sum: c.frames.reduce((a, fr) => a + fr.data.reduce((x, y) => x + y, 0), 0) });
    }
    await closeWasmDecoder();
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, PATH: '/nonexistent', PPTSN_FFMPEG: '', PPTSN_FFPROBE: '' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [mp4, hi10] = JSON.parse(r.stdout.trim().split('\n').pop()!) as { decoder: string; exact: boolean; indices: number[]; sum: number }[];
  assert.deepEqual([mp4!.decoder, mp4!.exact], ['ffmpeg.wasm', true]);
  assert.deepEqual([hi10!.decoder, hi10!.exact], ['ffmpeg.wasm', false]);
  assert.ok(mp4!.sum > 0 && hi10!.sum > 0);
});

test('errors name the file: not a video, damaged; an abort ends the decode and the next file decodes', async () => {
  const text = join(DIR, 'notes.avi');
  writeFileSync(text, 'this is not a video file\n'.repeat(40));
  await assert.rejects(probeVideoWasm(text), (e: unknown) => isPPTSNError(e) && e.code === 'unsupported-source' && e.message.includes('notes.avi'));
  // auto: ffmpeg.wasm cannot read it, the system ffmpeg says why.
  await assert.rejects(readClip(text, PRESETS.fast), (e: unknown) => isPPTSNError(e) && e.code === 'unsupported-source' && /notes\.avi/.test(e.message));

  const info = await probeVideoWasm(EXAMPLE);
  const ac = new AbortController();
  const pending = decodeFramesWasm(EXAMPLE, info, [1, 50, 130], ac.signal);
  ac.abort();
  await assert.rejects(pending, (e: unknown) => isPPTSNError(e) && e.code === 'aborted');
  const again = await decodeFramesWasm(EXAMPLE, info, [1, 50, 130]);
  assert.equal(again.frames.length, 3);
  const sys = await readClip(EXAMPLE, PRESETS.fast, { decoder: 'ffmpeg' });
  const wasm = await readClip(EXAMPLE, PRESETS.fast, { decoder: 'wasm' });
  wasm.frames.forEach((f, k) => assert.equal(maxDiff(f, sys.frames[k]!), 0));
});

test('odd heights (97×61, a rotated 61×97, 1×1): auto gives the system ffmpeg\'s frames bit for bit (swscale scales chroma there)', async () => {
  // swscale's unscaled yuv→rgb converter needs an even height; for an odd one the system ffmpeg interpolates chroma.
  const files: string[] = [];
  for (const [name, w, h, rotate] of [['odd97x61', 97, 61, 0], ['odd61x97', 97, 61, 90], ['one1x1', 1, 1, 0]] as const) {
    const file = join(DIR, `${name}.${rotate ? 'mov' : 'mkv'}`);
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-vf', `scale=${w}:${h}`, '-frames:v', '12', '-pix_fmt', 'yuv420p', '-c:v', 'ffv1', ...(rotate ? ['-metadata:s:v', `rotate=${rotate}`] : []), file]);
    assert.equal(r.status, 0, r.stderr?.toString());
    files.push(file);
  }
  for (const file of files) {
    const sys = await readClip(file, PRESETS.fast, { decoder: 'ffmpeg' });
    const auto = await readClip(file, PRESETS.fast);
    assert.deepEqual([auto.info.width, auto.info.height], [sys.info.width, sys.info.height]);
    assert.deepEqual(auto.indices, sys.indices);
    auto.frames.forEach((f, k) => assert.equal(maxDiff(f, sys.frames[k]!), 0, `${file} slot ${k}`));
    assert.equal(auto.exactColour, true);
  }
  // Forced through ffmpeg.wasm, the core's own scaler converts them: close, and not claimed exact.
  const wasm = await readClip(files[0]!, PRESETS.fast, { decoder: 'wasm' });
  const sys = await readClip(files[0]!, PRESETS.fast, { decoder: 'ffmpeg' });
  assert.equal(wasm.exactColour, false);
  wasm.frames.forEach((f, k) => assert.ok(maxDiff(f, sys.frames[k]!) <= 8, `wasm slot ${k}`));
});

test('an interrupt (SIGINT to the CLI alone) during a spooled system-ffmpeg decode exits 130, kills ffmpeg, leaves no temporary folder', async () => {
  // A stand-in ffmpeg that answers -version and then decodes "forever", so the interrupt lands mid-decode.
  const work = mkdtempSync(join(tmpdir(), 'pptsn-sigint-'));
  const tmp = join(work, 'tmp');
  mkdirSync(tmp);
  const fake = join(work, 'ffmpeg');
  const pidFile = join(work, 'ffmpeg.pid');
  writeFileSync(fake, `#!/bin/sh\ncase "$*" in *-version*) echo "ffmpeg version 6.0"; exit 0;; esac\necho $$ > ${JSON.stringify(pidFile)}\nexec sleep 30\n`, { mode: 0o755 });
  const script = `
    import { cleanUpOnInterrupt } from ${JSON.stringify(join(ROOT, 'src/node/cleanup.ts'))};
    import { decodeFfmpegFrames, probeVideo } from ${JSON.stringify(join(ROOT, 'src/node/ffmpeg.ts'))};
    cleanUpOnInterrupt();
    const info = await probeVideo(${JSON.stringify(EXAMPLE)});
    await decodeFfmpegFrames(${JSON.stringify(EXAMPLE)}, [1, 2], { info, spool: true, ffmpegPath: ${JSON.stringify(fake)} });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, TMPDIR: tmp }, stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  let pid = 0;
  try {
    for (let i = 0; i < 300 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (existsSync(pidFile)) pid = Number(readFileSync(pidFile, 'utf8').trim());
    }
    assert.ok(pid > 0, 'the stand-in ffmpeg started');
    assert.equal(readdirSync(tmp).filter((n) => n.startsWith('pptsn-frames-')).length, 1, 'the spool folder exists mid-decode');
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    await new Promise((r) => setTimeout(r, 300));
    const alive = (() => { try { return !/^\d+ \(\S+\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; } })();
    assert.equal(alive, false, 'ffmpeg was killed with the CLI');
    assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('pptsn-')), [], 'no temporary folder left');
  } finally {
    if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    child.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
});

test('MPEG-4 Part 2 (libavcodec\'s, XviD\'s) and WMV go to the system ffmpeg: x86 averages their half-pel blocks unlike ffmpeg.wasm\'s C', async () => {
  const files: string[] = [];
  for (const [name, codec] of [['lavc_mpeg4.avi', 'mpeg4'], ['wmv2.wmv', 'wmv2'], ['xvid.avi', 'libxvid']] as const) {
    const file = join(DIR, name);
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-frames:v', '100', '-pix_fmt', 'yuv420p', '-c:v', codec, file]);
    // libxvid (UCF101's encoder) is an optional part of an ffmpeg build.
    if (codec === 'libxvid' && r.status !== 0) continue;
    assert.equal(r.status, 0, r.stderr?.toString());
    files.push(file);
  }
  for (const file of files) {
    const sys = await readClip(file, PRESETS.fast, { decoder: 'ffmpeg' });
    const auto = await readClip(file, PRESETS.fast);
    assert.equal(auto.decoder, 'ffmpeg', file);
    auto.frames.forEach((f, k) => assert.equal(maxDiff(f, sys.frames[k]!), 0, `${file} slot ${k}`));
    // Forced in-process: a few levels off in some blocks, and flagged so.
    const wasm = await readClip(file, PRESETS.fast, { decoder: 'wasm' });
    assert.equal(wasm.exactColour, false, file);
    const worst = Math.max(...wasm.frames.map((f, k) => maxDiff(f, sys.frames[k]!)));
    assert.ok(worst > 0 && worst <= 4, `${file}: ffmpeg.wasm differs by ${worst}`);
  }
});

test('a file deleted between the probe and the decode: ffmpeg.wasm says it cannot load it (not "damaged"), auto reports it gone, the next file decodes', async () => {
  const gone = join(DIR, 'deleted between.mp4');
  writeFileSync(gone, readFileSync(EXAMPLE));
  const info = await probeVideoWasm(gone);
  rmSync(gone);
  await assert.rejects(decodeFramesWasm(gone, info, [1, 2]), (e: unknown) => isPPTSNError(e) && e.code === 'unsupported-source' && e.message.includes('deleted between.mp4') && /exists/.test(e.message));
  await assert.rejects(readClip(gone, PRESETS.fast), (e: unknown) => isPPTSNError(e) && e.message.includes('deleted between.mp4'));
  const next = await readClip(EXAMPLE, PRESETS.fast, { decoder: 'wasm' });
  assert.equal(next.frames.length, 8);
});

test('an empty (0-byte) file is called empty, a folder named like a video a folder, whichever decoder', async () => {
  const empty = join(DIR, 'empty.mp4');
  writeFileSync(empty, '');
  const folder = join(DIR, 'folder.mp4');
  mkdirSync(folder, { recursive: true });
  for (const decoder of ['auto', 'wasm', 'ffmpeg'] as const) {
    await assert.rejects(readClip(empty, PRESETS.fast, { decoder }), (e: unknown) => isPPTSNError(e) && e.code === 'unsupported-source' && e.message.includes('empty.mp4') && /empty \(0 bytes\)/.test(e.message), decoder);
    await assert.rejects(readClip(folder, PRESETS.fast, { decoder }), (e: unknown) => isPPTSNError(e) && e.code === 'unsupported-source' && e.message.includes('folder.mp4 is a folder, not a video file'), decoder);
  }
});

test('a relative file name with a colon (c:d.avi, pipe:x.avi) is a file to the system ffmpeg too, not a protocol', async () => {
  const file = join(DIR, 'lavc_colon.avi');
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-frames:v', '30', '-pix_fmt', 'yuv420p', '-c:v', 'mpeg4', file]);
  assert.equal(r.status, 0, r.stderr?.toString());
  const ref = await readClip(file, PRESETS.fast, { decoder: 'ffmpeg' });
  const cwd = process.cwd();
  process.chdir(DIR);
  try {
    for (const name of ['c:d.avi', 'pipe:x.avi']) {
      writeFileSync(name, readFileSync(file));
      // MPEG-4 Part 2: auto hands it to the system ffmpeg as well.
      for (const decoder of ['ffmpeg', 'auto'] as const) {
        const clip = await readClip(name, PRESETS.fast, { decoder });
        assert.equal(clip.decoder, 'ffmpeg');
        assert.equal(clip.info.frameCount, 30, `${name} ${decoder}`);
        clip.frames.forEach((f, k) => assert.equal(maxDiff(f, ref.frames[k]!), 0));
      }
    }
  } finally {
    process.chdir(cwd);
  }
});

test('a transport stream cut mid-GOP (frames lost before the first parameter sets): auto refuses it as the system ffmpeg does, not padded', async () => {
  const whole = join(DIR, 'k30.ts');
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-frames:v', '150', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-x264-params', 'keyint=30:bframes=3', whole]);
  assert.equal(r.status, 0, r.stderr?.toString());
  const cut = join(DIR, 'cut mid-GOP.ts');
  writeFileSync(cut, readFileSync(whole).subarray(188 * 200));
  const damaged = (e: unknown) => isPPTSNError(e) && e.code === 'decode-failed' && e.message.includes('cut mid-GOP.ts');
  await assert.rejects(readClip(cut, PRESETS.accurate, { decoder: 'ffmpeg' }), damaged);
  await assert.rejects(readClip(cut, PRESETS.accurate, { decoder: 'wasm' }), damaged);
  await assert.rejects(readClip(cut, PRESETS.accurate), damaged);
});

test('a codec the core lacks (AV1): forced ffmpeg.wasm says so and what to do, auto reads it with the system ffmpeg', async () => {
  const file = join(DIR, 'av1.mkv');
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-frames:v', '20', '-pix_fmt', 'yuv420p', '-c:v', 'libaom-av1', '-cpu-used', '8', '-b:v', '100k', file]);
  assert.equal(r.status, 0, r.stderr?.toString());
  await assert.rejects(readClip(file, PRESETS.fast, { decoder: 'wasm' }), (e: unknown) => isPPTSNError(e) && e.code === 'unsupported-source' && /no decoder for the .*AV1 stream of .*av1\.mkv/.test(e.message) && e.message.includes('--decoder ffmpeg'));
  const auto = await readClip(file, PRESETS.fast);
  assert.equal(auto.decoder, 'ffmpeg');
  assert.equal(auto.frames.length, 8);
});

test('a named pipe given as a video is refused at once by every decoder, not waited on forever', { timeout: 60_000 }, async () => {
  const fifo = join(DIR, 'pipe.mp4');
  rmSync(fifo, { force: true });
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  for (const decoder of ['auto', 'wasm', 'ffmpeg'] as const) {
    await assert.rejects(readClip(fifo, PRESETS.fast, { decoder }), (e: unknown) => isPPTSNError(e) && e.code === 'unsupported-source' && e.message.includes('pipe.mp4 is not a regular file'), decoder);
  }
  await assert.rejects(probeVideoWasm(fifo), (e: unknown) => isPPTSNError(e) && e.code === 'unsupported-source' && /pipe\.mp4.*not a regular file/.test(e.message));
  rmSync(fifo, { force: true });
});

test('a stream that changes frame size mid-way (two .ts joined): auto gives the system ffmpeg\'s frames, forced ffmpeg.wasm refuses, no garbage', async () => {
  const parts = [['320x240', '0'], ['640x360', '1.6']].map(([size, offset], k) => {
    const part = join(DIR, `part${k}.ts`);
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`, '-frames:v', '40', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-output_ts_offset', offset!, part]);
    assert.equal(r.status, 0, r.stderr?.toString());
    return readFileSync(part);
  });
  const joined = join(DIR, 'resolution change.ts');
  writeFileSync(joined, Buffer.concat(parts));
  const sys = await readClip(joined, PRESETS.fast, { decoder: 'ffmpeg' });
  const auto = await readClip(joined, PRESETS.fast);
  assert.deepEqual([auto.info.width, auto.info.height, auto.info.frameCount], [320, 240, 80]);
  assert.deepEqual(auto.indices, sys.indices);
  auto.frames.forEach((f, k) => assert.equal(maxDiff(f, sys.frames[k]!), 0, `slot ${k}`));
  await assert.rejects(readClip(joined, PRESETS.fast, { decoder: 'wasm' }), (e: unknown) => isPPTSNError(e) && e.code === 'decode-failed' && /resolution change\.ts changes frame size mid-stream/.test(e.message));
});

test('AVIs the system ffmpeg decodes reuse ffmpeg.wasm\'s probe (no ffprobe started): the same facts as the system ffprobe, the same frames', async () => {
  // UCF101-like variants: MPEG-4 with and without B-frames, XVID/DX50 tags, MJPEG, audio interleaved, an odd size,
  // B-frames unpacked, and files cut short (no index: both demuxers scan the file).
  const variants: [string, string[], number?][] = [
    ['avi_plain.avi', ['-c:v', 'mpeg4', '-q:v', '4']],
    ['avi_bframes.avi', ['-c:v', 'mpeg4', '-q:v', '6', '-bf', '2']],
    ['avi_xvid_tag.avi', ['-c:v', 'mpeg4', '-vtag', 'XVID', '-q:v', '5', '-bf', '1']],
    ['avi_divx_tag.avi', ['-c:v', 'mpeg4', '-vtag', 'DX50', '-q:v', '4', '-g', '300']],
    ['avi_mjpeg.avi', ['-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', 'yuvj420p']],
    ['avi_odd.avi', ['-c:v', 'mpeg4', '-s', '97x61']],
    ['avi_unpacked.avi', ['-c:v', 'mpeg4', '-bf', '2', '-bsf:v', 'mpeg4_unpack_bframes']],
    ['avi_cut.avi', ['-c:v', 'mpeg4', '-q:v', '6', '-bf', '2'], 0.6],
  ];
  for (const [name, codec, cut] of variants) {
    const file = join(DIR, name);
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '5', ...codec, '-c:a', 'mp3', '-shortest', file]);
    assert.equal(r.status, 0, r.stderr?.toString());
    if (cut) writeFileSync(file, readFileSync(file).subarray(0, Math.floor(readFileSync(file).length * cut)));
    const sys = await readClip(file, PRESETS.fast, { decoder: 'ffmpeg' });
    assert.deepEqual(await probeVideoWasm(file), sys.info, `${name}: ffmpeg.wasm's probe = the system ffprobe's`);
    // An ffprobe that cannot start: the system ffmpeg still decodes the AVI (had auto tried the missing ffprobe, it
    // would have fallen back to ffmpeg.wasm). MJPEG is one of the codecs ffmpeg.wasm decodes exactly itself.
    const auto = await readClip(file, PRESETS.fast, { ffprobePath: join(DIR, 'no-such-ffprobe') });
    assert.equal(auto.decoder, name === 'avi_mjpeg.avi' ? 'ffmpeg.wasm' : 'ffmpeg', name);
    assert.deepEqual(auto.info, sys.info, name);
    assert.deepEqual(auto.indices, sys.indices, name);
    auto.frames.forEach((f, k) => assert.equal(maxDiff(f, sys.frames[k]!), 0, `${name} slot ${k}`));
  }
  // Other containers are probed by the system ffprobe (an MP4's edit list is read by each version in its own way):
  // with that ffprobe missing, a 10-bit MP4 falls back to ffmpeg.wasm.
  const mp4 = await readClip(join(HERE, '../fixtures/realworld/hi10.mp4'), PRESETS.fast, { ffprobePath: join(DIR, 'no-such-ffprobe') });
  assert.equal(mp4.decoder, 'ffmpeg.wasm');
});

test('hundreds of decodes on one process: the core is renewed before it breaks (@ffmpeg/core fails at about the 99th run)', async () => {
  // Before the renewal (EXECS_PER_CORE), the 99th decode on one core failed with "memory access out of bounds"
  // (and with a mix of files, hung): an eval over a data set stopped being in-process after ~100 clips.
  const small = join(DIR, 'renew.mp4');
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '20', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', small]);
  assert.equal(r.status, 0, r.stderr?.toString());
  const first = await readClip(small, PRESETS.fast, { decoder: 'wasm' });
  for (let i = 0; i < 120; i++) {
    const again = await readClip(i % 2 ? small : EXAMPLE, PRESETS.fast, { decoder: 'wasm' });
    assert.equal(again.decoder, 'ffmpeg.wasm', `decode ${i}`);
    if (i % 2) again.frames.forEach((f, k) => assert.equal(maxDiff(f, first.frames[k]!), 0, `decode ${i} slot ${k}`));
  }
});

test('a core that stops answering is given up on (PPTSN_WASM_STALL_S): wasm says so by name, auto falls back to the system ffmpeg, the next call works', () => {
  // A limit far below the core's start-up stands in for a hung core (one hung after ~100 runs before the renewal).
  const script = `
    import { readClip } from ${JSON.stringify(join(ROOT, 'src/node/frames.ts'))};
    import { PRESETS } from ${JSON.stringify(join(ROOT, 'src/core/preprocess/presets.ts'))};
    import { closeWasmDecoder } from ${JSON.stringify(join(ROOT, 'src/node/ffmpegWasm.ts'))};
    const out = {};
    process.env.PPTSN_WASM_STALL_S = '0.001';
    try { await readClip(${JSON.stringify(EXAMPLE)}, PRESETS.fast, { decoder: 'wasm' }); out.wasm = 'decoded'; } catch (e) { out.wasm = e.code + ': ' + e.message; }
    out.auto = (await readClip(${JSON.stringify(EXAMPLE)}, PRESETS.fast)).decoder;
    delete process.env.PPTSN_WASM_STALL_S;
    out.after = (await readClip(${JSON.stringify(EXAMPLE)}, PRESETS.fast, { decoder: 'wasm' })).decoder;
    await closeWasmDecoder();
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { wasm: string; auto: string; after: string };
  assert.match(out.wasm, /^decode-failed: ffmpeg\.wasm stopped responding while reading \S*example\.mp4 \(no answer and no progress for 0\.001 s\).*--decoder ffmpeg/);
  assert.equal(out.auto, 'ffmpeg', 'auto gave the file to the system ffmpeg');
  assert.equal(out.after, 'ffmpeg.wasm', 'a new thread decodes the next call');
});
