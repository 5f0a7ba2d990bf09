/**
 * Which stream is read (core/frames/streamChoice.ts, libavformat's av_find_best_stream as decord calls it) and
 * what the browser reads from a file's first bytes (src/video/sniff.ts): the MPEG-TS video codec mediabunny skips,
 * and where a Matroska Segment ends (a WebM cut short ends before it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bestVideoStream, type StreamCandidate } from '../../src/core/frames/streamChoice.js';
import { matroskaSegmentEnd, matroskaTailCut, sniffContainer } from '../../src/video/sniff.js';
import { REALWORLD2_DIR, realworld2Generated } from '../helpers/realworld2.js';
import { tmpdir } from 'node:os';

const s = (index: number, o: Partial<StreamCandidate> = {}): StreamCandidate => ({ index, decodable: true, isDefault: false, frameCount: 100, bitRate: 0, ...o });

test('av_find_best_stream: disposition, then a moving stream over a still, then bit rate, then frames, then the first', () => {
  assert.equal(bestVideoStream([]), null);
  assert.equal(bestVideoStream([s(0, { decodable: false })]), null, 'no decoder: skipped');
  // A one-frame cover first, neither default: the moving stream (min(5, frames) decides).
  assert.equal(bestVideoStream([s(0, { frameCount: 1 }), s(1, { frameCount: 50 })]), 1);
  // The default disposition beats everything after it, even a still (as ffmpeg does).
  assert.equal(bestVideoStream([s(0, { frameCount: 1, isDefault: true }), s(1, { frameCount: 50 })]), 0);
  // A hearing- or visually-impaired stream loses a point: default + impaired ties a plain stream (the first stays).
  assert.equal(bestVideoStream([s(0, { visualImpaired: true }), s(1)]), 1);
  assert.equal(bestVideoStream([s(0, { isDefault: true, hearingImpaired: true }), s(1)]), 0);
  // Five frames or more count alike; then the higher bit rate (a small preview first, the main second).
  assert.equal(bestVideoStream([s(0, { frameCount: 6, bitRate: 100_000 }), s(1, { frameCount: 300, bitRate: 900_000 })]), 1);
  // No bit rate on either (Matroska): the longer stream, and on a full tie the first.
  assert.equal(bestVideoStream([s(0, { frameCount: 40 }), s(1, { frameCount: 60 })]), 1);
  assert.equal(bestVideoStream([s(3), s(5)]), 3);
  assert.equal(bestVideoStream([s(0, { decodable: false, isDefault: true }), s(2)]), 2);
});

test('sniff: the video codec of an MPEG-TS from its PMT (mediabunny skips MPEG-2 and MPEG-4 Part 2), AVI kept', async () => {
  const ts = (p: string) => sniffContainer(new Blob([readFileSync(p)]));
  assert.deepEqual(await ts(join(REALWORLD2_DIR, 'interlaced_mpeg2.mpegts')), { container: 'MPEG-TS', codec: 'MPEG-2', empty: false });
  assert.deepEqual(await ts(join(REALWORLD2_DIR, 'interlaced_h264.mpegts')), { container: 'MPEG-TS', codec: 'H.264', empty: false });
  const mpeg4 = realworld2Generated(join(tmpdir(), 'pptsn-web-test-videos', 'realworld2')).find((c) => c.name === 'rw2_mpeg4_ts_audio.mpegts')!;
  assert.deepEqual(await ts(mpeg4.path), { container: 'MPEG-TS', codec: 'MPEG-4 Part 2', empty: false });
  assert.equal((await ts(join(REALWORLD2_DIR, '../media/example.avi'))).container, 'AVI');
});

test('a Matroska Segment that ends past the file: a WebM cut short; a whole one ends at its size', () => {
  const cut = readFileSync(join(REALWORLD2_DIR, 'cut.webm'));
  const whole = readFileSync(join(REALWORLD2_DIR, 'oddw_vp8.webm'));
  assert.ok(matroskaSegmentEnd(cut.subarray(0, 64))! > cut.length);
  assert.equal(matroskaSegmentEnd(whole.subarray(0, 64)), whole.length);
  assert.equal(matroskaSegmentEnd(new Uint8Array(64)), null, 'not Matroska');
});

test('a live recording\'s WebM (no declared sizes) cut short: its last cluster runs past the end; a whole one does not', () => {
  const dir = join(tmpdir(), 'pptsn-web-test-videos', 'realworld2');
  const cutCase = realworld2Generated(dir).find((c) => c.name.startsWith('live WebM'))!;
  const cut = readFileSync(cutCase.path);
  const whole = readFileSync(join(dir, 'rw2_live30.webm'));
  assert.equal(matroskaSegmentEnd(whole.subarray(0, 64)), null, 'no declared Segment size');
  assert.equal(matroskaTailCut(whole, 0, whole.length), false);
  assert.equal(matroskaTailCut(cut, 0, cut.length), true);
  // From a tail window only, as the browser reads it.
  const start = cut.length - 20_000;
  assert.equal(matroskaTailCut(cut.subarray(start), start, cut.length), true);
});
