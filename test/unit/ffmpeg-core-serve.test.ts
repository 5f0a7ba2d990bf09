/**
 * The dev servers serve ffmpeg.wasm (the browser's fallback decoder) where the worker asks for it when it runs from
 * source: `/src/worker/ffmpeg-core.{js,wasm}` in the tests' servers, and the same under Vite's `/@fs/<repository>`
 * prefix in the demo's (demo/ is its root, src/ is outside it). The latter was missed, so the demo under
 * `npm start` could not read an AVI ("The ffmpeg.wasm fallback could not be loaded").
 *
 *   node --import tsx --test test/unit/ffmpeg-core-serve.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { serveFfmpegCore } from '../../tools/ffmpegCore.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** Runs the middleware on `url`: the headers and bytes it answered with, or that it passed the request on. */
function get(url: string): Promise<{ passed: true } | { passed: false; headers: Record<string, string>; bytes: number }> {
  return new Promise((resolve, reject) => {
    const res = new PassThrough() as PassThrough & { setHeader(k: string, v: string): void };
    const headers: Record<string, string> = {};
    res.setHeader = (k, v) => void (headers[k.toLowerCase()] = v);
    let bytes = 0;
    res.on('data', (c: Buffer) => (bytes += c.length));
    res.on('end', () => resolve({ passed: false, headers, bytes }));
    res.on('error', reject);
    serveFfmpegCore({ url } as never, res as never, () => resolve({ passed: true }));
  });
}

test('ffmpeg-core.js and .wasm are served at /src/worker/ and under the demo server\'s /@fs/ prefix', async () => {
  for (const url of ['/src/worker/ffmpeg-core.js', `/@fs${ROOT}/src/worker/ffmpeg-core.js`, `/@fs${ROOT}/src/worker/ffmpeg-core.wasm?v=1`]) {
    const r = await get(url);
    assert.equal(r.passed, false, `${url} is answered`);
    if (r.passed) continue;
    assert.equal(r.headers['content-type'], url.includes('.wasm') ? 'application/wasm' : 'text/javascript', url);
    assert.equal(r.bytes, Number(r.headers['content-length']), `${url}: the whole file`);
    assert.ok(r.bytes > 1000, url);
  }
  for (const url of ['/src/worker/other.js', '/ffmpeg-core.js', '/@fs/x/src/worker/ffmpeg-core.json']) assert.equal((await get(url)).passed, true, `${url} is passed on`);
});
