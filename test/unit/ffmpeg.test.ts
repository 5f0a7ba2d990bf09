/**
 * The Node frame reader (src/node/frames.ts over the system ffmpeg of src/node/ffmpeg.ts) on generated videos whose frames carry their index
 * (test/helpers/videos.ts, helpers/realworld.ts): it must return exactly the sampled frames in display orientation,
 * count the frames the edit list presents, convert colour
 * with BT.601, and fail with the right PPTSNError codes. Videos are tiny (≤ 128 px, ≤ 60 frames) and cached in
 * the OS temp folder so reruns skip the encoding.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeIndexedVideo, readFrameIndex, stripeFrame, type VideoSpec } from '../helpers/videos.js';
import { probeVideo, decodeFfmpegFrames, checkFfmpeg } from '../../src/node/ffmpeg.js';
import { readClip } from '../../src/node/frames.js';
import { sampleValidIndices } from '../../src/core/preprocess/sampler.js';
import { isPPTSNError, type PPTSNError, type PPTSNErrorCode } from '../../src/core/errors.js';
import { bandsFromPixels } from '../helpers/bands.js';
import { ffmpegReference, realworldCases } from '../helpers/realworld.js';
import { realworld2Fixtures, realworld2Generated, realworld2Refusals } from '../helpers/realworld2.js';
import { closeWasmDecoder } from '../../src/node/ffmpegWasm.js';
import { PRESETS } from '../../src/core/preprocess/presets.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const EXAMPLE = join(HERE, '../fixtures/media/example.mp4');
const DIR = join(tmpdir(), 'pptsn-web-test-videos');
mkdirSync(DIR, { recursive: true });
after(() => closeWasmDecoder());

const SPECS: VideoSpec[] = [
  { frames: 40, width: 64, height: 48, fps: 25, codec: 'h264', container: 'mp4' },
  { frames: 24, width: 64, height: 48, fps: 30, codec: 'av1', container: 'mp4' },
  { frames: 30, width: 97, height: 61, fps: 12, codec: 'vp8', container: 'webm' },
  { frames: 45, width: 64, height: 112, fps: 25, codec: 'vp9', container: 'webm' },
  { frames: 5, width: 64, height: 48, fps: 25, codec: 'h264', container: 'mp4' },
  { frames: 60, width: 128, height: 96, fps: 30, codec: 'h264', container: 'mp4' },
  { frames: 33, width: 97, height: 61, fps: 25, codec: 'vp9', container: 'webm' },
];

async function rejectsWith(p: Promise<unknown>, code: PPTSNErrorCode, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isPPTSNError(e), `expected a PPTSNError, got ${String(e)}`);
    assert.equal(e.code, code, `code (message: ${e.message})`);
    if (re) assert.match(e.message, re);
    return true;
  });
}

test('ffmpeg is available', async () => {
  const v = await checkFfmpeg();
  assert.match(v.version, /ffmpeg version/);
});

for (const spec of SPECS) {
  const name = `${spec.codec}/${spec.container} ${spec.width}x${spec.height} ${spec.fps} fps, ${spec.frames} frames`;
  test(`exact frames by index: ${name}`, async () => {
    const path = makeIndexedVideo(DIR, spec);
    const info = await probeVideo(path);
    assert.equal(info.frameCount, spec.frames, 'frame count = packets');
    assert.equal(info.width, spec.width);
    assert.equal(info.height, spec.height);
    assert.equal(info.codec, spec.codec === 'h264' ? 'h264' : spec.codec);
    assert.ok(Math.abs(info.fps - spec.fps) < 1e-6, `fps ${info.fps}`);
    assert.equal(info.colorMatrix, 'bt601');
    for (const T of [8, 25]) {
      const indices = sampleValidIndices(info.frameCount, T);
      const frames = await decodeFfmpegFrames(path, indices, { info });
      assert.equal(frames.length, T);
      frames.forEach((f, k) => {
        assert.equal(f.width, spec.width);
        assert.equal(f.height, spec.height);
        assert.equal(f.channels, 3);
        assert.equal(f.data.length, spec.width * spec.height * 3);
        assert.equal(readFrameIndex(f.data, f.width, f.height, 3), indices[k], `T=${T} slot ${k}`);
      });
    }
    // Any order, duplicates, first and last frame.
    const odd = [spec.frames - 1, 0, Math.floor(spec.frames / 2), 0, spec.frames - 1];
    const got = await decodeFfmpegFrames(path, odd, { info });
    assert.deepEqual(got.map((f) => readFrameIndex(f.data, f.width, f.height, 3)), odd);
  });
}

test('fewer frames than segments: 5 frames, T = 8 → frame 0 eight times (PaddleVideo zeros)', async () => {
  const path = makeIndexedVideo(DIR, SPECS[4]!);
  const { indices, frames, info, config } = await readClip(path, PRESETS.fast);
  assert.equal(info.frameCount, 5);
  assert.equal(config.segments, 8);
  assert.deepEqual(indices, [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(frames.map((f) => readFrameIndex(f.data, f.width, f.height, 3)), indices);
});

test('colour: BT.601 limited range, like decord (gradient within a few levels of the source RGB)', async () => {
  const spec = SPECS[5]!; // 128x96 H.264
  const path = makeIndexedVideo(DIR, spec);
  const [f] = await decodeFfmpegFrames(path, [17]);
  const src = stripeFrame(17, spec.width, spec.height);
  // The bottom half (gradient, away from the stripes' edge and chroma-subsampled borders).
  let sum = 0;
  let n = 0;
  for (let y = Math.floor(spec.height / 2) + 4; y < spec.height - 2; y++) {
    for (let x = 2; x < spec.width - 2; x++) {
      for (let c = 0; c < 3; c++) {
        const o = (y * spec.width + x) * 3 + c;
        sum += Math.abs(f!.data[o]! - src[o]!);
        n++;
      }
    }
  }
  const mean = sum / n;
  // BT.709 decoding of this BT.601-encoded stream would be off by several levels on average (docs/contract.md §4: 4–7).
  assert.ok(mean < 2.5, `mean |Δ| ${mean.toFixed(2)} levels`);
});

test('example.mp4: probe and accurate clip (131 packets, 25 frames 320x240)', async () => {
  const clip = await readClip(EXAMPLE, PRESETS.accurate);
  assert.equal(clip.info.frameCount, 131);
  assert.equal(clip.info.fps, 25);
  assert.equal(clip.info.codec, 'h264');
  assert.match(clip.info.container, /mp4/);
  assert.equal(clip.indices.length, 25);
  assert.deepEqual(clip.indices.slice(0, 4), [2, 7, 13, 18]);
  assert.equal(clip.frames.length, 25);
  assert.deepEqual([clip.frames[0]!.width, clip.frames[0]!.height], [320, 240]);
});

// Issue 12: display orientation, edit lists, full range, 10-bit — the CLI's frames are ffmpeg's default decode.
// Both Node decoders: the system ffmpeg, and the default (ffmpeg.wasm in-process for 8-bit 4:2:0, the system ffmpeg
// for the rest: 10-bit and 4:4:4 would be the core's C swscale, not the x86 converter).
for (const c of realworldCases()) for (const decoder of ['ffmpeg', 'auto'] as const) {
  test(`real-world ${c.name} (decoder ${decoder}): L, indices, rotation and pixels equal ffmpeg's autorotated, edit-list-applied decode`, async () => {
    const ref = ffmpegReference(c.path);
    const clip = await readClip(c.path, PRESETS.fast, { decoder });
    const eightBit420 = /^yuvj?420p$/.test(clip.info.pixelFormat);
    assert.equal(clip.decoder, decoder === 'auto' && eightBit420 ? 'ffmpeg.wasm' : 'ffmpeg', `${c.name} is ${clip.info.pixelFormat}`);
    assert.equal(clip.exactColour, true);
    assert.equal(clip.info.frameCount, ref.frames.length, 'L = presented frames');
    assert.deepEqual(clip.indices, sampleValidIndices(ref.frames.length, 8));
    assert.equal(clip.info.rotation, ref.rotation);
    assert.deepEqual([clip.info.width, clip.info.height], [ref.width, ref.height]);
    if (c.expect) {
      assert.equal(clip.info.frameCount, c.expect.frameCount);
      assert.deepEqual(clip.indices, c.expect.indices);
      assert.deepEqual([clip.info.width, clip.info.height], [c.expect.width, c.expect.height]);
    }
    clip.frames.forEach((f, k) => {
      const want = ref.frames[clip.indices[k]!]!;
      assert.deepEqual([f.width, f.height], [ref.width, ref.height]);
      assert.ok(Buffer.from(f.data).equals(Buffer.from(want)), `${c.name} slot ${k}: pixels differ from ffmpeg's frame ${clip.indices[k]}`);
      if (c.bands) {
        const band = bandsFromPixels(f, clip.info.rotation);
        assert.equal(band, bandsFromPixels({ width: ref.width, height: ref.height, channels: 3, data: want }, ref.rotation));
        if (c.expect?.sourceFrames) assert.equal(band, c.expect.sourceFrames[k], `${c.name} slot ${k}: source frame`);
      }
    });
  });
}

test('real-world: full range converted as full range, untagged as limited (rotation reported, not ignored)', async () => {
  const cases = realworldCases();
  const byName = (n: string) => cases.find((c) => c.name === n)!.path;
  const full = await probeVideo(byName('fullrange_grad'));
  assert.equal(full.fullRange, true);
  assert.equal(full.colorMatrix, 'bt601');
  const full709 = await probeVideo(byName('fullrange_709'));
  assert.deepEqual([full709.fullRange, full709.colorMatrix], [true, 'bt709']);
  const rot = await probeVideo(byName('rot90'));
  assert.deepEqual([rot.rotation, rot.codedWidth, rot.codedHeight, rot.width, rot.height], [90, 320, 240, 240, 320]);
  const trim = await probeVideo(byName('editlist'));
  assert.deepEqual([trim.packetCount, trim.frameCount], [60, 47]);
});

test('errors: ffmpeg missing, not a video, audio only, damaged, bad indices, aborted', async () => {
  const dir = join(DIR, 'bad');
  mkdirSync(dir, { recursive: true });
  const good = makeIndexedVideo(DIR, SPECS[0]!);

  await rejectsWith(probeVideo(good, { ffmpegPath: '/nonexistent/bin/ffmpeg' }), 'ffmpeg-missing', /apt-get install ffmpeg/);
  await rejectsWith(decodeFfmpegFrames(good, [0], { ffmpegPath: '/nonexistent/bin/ffmpeg', ffprobePath: 'ffprobe' }), 'ffmpeg-missing', /PPTSN_FFMPEG/);
  await rejectsWith(checkFfmpeg({ ffmpegPath: '/nonexistent/ffmpeg' }), 'ffmpeg-missing');

  const text = join(dir, 'notes.mp4');
  writeFileSync(text, 'this is not a video file\n'.repeat(20));
  await rejectsWith(probeVideo(text), 'unsupported-source', /notes\.mp4/);

  const audio = join(dir, 'tone.m4a');
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=duration=0.2', audio]);
  assert.equal(r.status, 0, r.stderr?.toString());
  await rejectsWith(probeVideo(audio), 'no-video-stream', /no video stream/);

  // Frames overwritten with noise after the header: ffmpeg decodes a few, then fails.
  const bytes = readFileSync(makeIndexedVideo(DIR, SPECS[5]!));
  let seed = 1;
  for (let i = 3000; i < bytes.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    bytes[i] = seed >>> 24;
  }
  const broken = join(dir, 'noise.mp4');
  writeFileSync(broken, bytes);
  const info = await probeVideo(broken);
  await rejectsWith(decodeFfmpegFrames(broken, [info.frameCount - 1], { info }), 'decode-failed', /H\.264.*QuickTime \/ MOV|damaged/);

  await rejectsWith(decodeFfmpegFrames(good, [-1]), 'invalid-argument');
  await rejectsWith(decodeFfmpegFrames(good, [1.5]), 'invalid-argument');
  assert.deepEqual(await decodeFfmpegFrames(good, []), []);
  const ac = new AbortController();
  ac.abort();
  await rejectsWith(decodeFfmpegFrames(good, [0], { signal: ac.signal }), 'aborted');
});

test('spool: frames written to a temporary file (eval prefetch) are the pipe\'s frames, and the file is removed', async () => {
  const indices = [2, 7, 13, 18, 130, 7];
  const piped = await decodeFfmpegFrames(EXAMPLE, indices);
  const before = spawnSync('sh', ['-c', `ls ${tmpdir()} | grep -c '^pptsn-frames-' || true`], { encoding: 'utf8' }).stdout.trim();
  const spooled = await decodeFfmpegFrames(EXAMPLE, indices, { spool: true });
  const after = spawnSync('sh', ['-c', `ls ${tmpdir()} | grep -c '^pptsn-frames-' || true`], { encoding: 'utf8' }).stdout.trim();
  assert.equal(spooled.length, piped.length);
  spooled.forEach((f, i) => assert.ok(Buffer.from(f.data).equals(Buffer.from(piped[i]!.data)), `frame ${indices[i]} differs`));
  assert.equal(after, before, 'no temporary folder left');
});

// Issue 25: the stream decord reads (av_find_best_stream), odd sizes, MPEG-TS, 4:2:2 MJPEG, files cut short, on
// every Node decoder: L and indices as decord's (fixture README), pixels equal to the plain ffmpeg's decode of that
// stream, the stream reported.
const RW2 = [...realworld2Fixtures(), ...realworld2Generated(join(DIR, 'realworld2'))];
for (const decoder of ['ffmpeg', 'wasm', 'auto'] as const) {
  test(`real-world round two (decoder ${decoder}): decord's stream, L, indices and ffmpeg's pixels; refusals typed alike`, async () => {
    const report: string[] = [];
    for (const c of RW2) {
      let ref: ReturnType<typeof ffmpegReference> | null = null;
      try { ref = ffmpegReference(c.path, c.stream); } catch { /* ffmpeg decodes nothing from it */ }
      const L = ref?.frames.length ?? 0;
      const clip = await readClip(c.path, PRESETS.fast, { decoder }).catch((e: unknown) => e as PPTSNError);
      if (clip instanceof Error) {
        // A file cut short may be refused (MP4 whose index outlives the file), with the same code on every decoder.
        assert.ok(isPPTSNError(clip) && clip.code === 'decode-failed' && /incomplete/.test(clip.message) && /MP4/.test(c.name), `${c.name}: ${String(clip)}`);
        report.push(`${c.name}: refused`);
        continue;
      }
      assert.ok(ref, `${c.name}: read although ffmpeg decodes nothing`);
      assert.equal(clip.info.streamIndex, c.stream, `${c.name}: stream`);
      assert.equal(clip.info.frameCount, L, `${c.name}: L`);
      assert.deepEqual(clip.indices, sampleValidIndices(L, 8), `${c.name}: indices`);
      if (c.expect) assert.deepEqual([clip.info.frameCount, clip.indices], [c.expect.frameCount, c.expect.indices], `${c.name}: README values`);
      clip.frames.forEach((f, k) => {
        const want = ref!.frames[clip.indices[k]!]!;
        assert.deepEqual([f.width, f.height], [ref!.width, ref!.height], `${c.name}: size`);
        assert.ok(Buffer.from(f.data).equals(Buffer.from(want)), `${c.name} slot ${k}: pixels differ from ffmpeg's frame ${clip.indices[k]} (${clip.decoder})`);
        if (c.bands) assert.equal(bandsFromPixels(f, 0), bandsFromPixels({ width: ref!.width, height: ref!.height, channels: 3, data: want }, 0), `${c.name} slot ${k}: bands`);
      });
      report.push(`${c.name}: ${clip.decoder}`);
    }
    for (const r of realworld2Refusals()) await rejectsWith(readClip(r.path, PRESETS.fast, { decoder }), r.code as PPTSNErrorCode, r.message);
    console.log(`round two, ${decoder}:`, report.join('; '));
  });
}
