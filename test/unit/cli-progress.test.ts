/**
 * The CLI's progress line (src/cli/progress.ts) on a fake clock: silent for calls under ~2 s, then images done /
 * total with the running top-1, ended by a newline; never a half line when nothing was drawn.
 *
 *   node --import tsx --test test/unit/cli-progress.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROGRESS_AFTER_MS, progressLine } from '../../src/cli/progress.js';

const LABELS = ['walking', 'running', 'jumping'];

function harness() {
  let t = 0;
  const out: string[] = [];
  const line = progressLine(LABELS, (s) => out.push(s), () => t);
  return { line, out, advance: (ms: number) => (t += ms) };
}

test('a short call prints nothing', () => {
  const h = harness();
  h.advance(500);
  h.line.onChunk({ done: 5, total: 10, logits: Float32Array.of(0, 1, 0) });
  h.advance(500);
  h.line.onChunk({ done: 10, total: 10, logits: Float32Array.of(0, 1, 0) });
  h.line.done();
  assert.deepEqual(h.out, []);
});

test('a long call shows done/total, rate and the running top-1 after ~2 s, then ends the line', () => {
  const h = harness();
  h.advance(1000);
  h.line.onChunk({ done: 10, total: 250, logits: Float32Array.of(0, 3, 0) });
  assert.equal(h.out.length, 0, 'nothing before the threshold');
  h.advance(PROGRESS_AFTER_MS);
  h.line.onChunk({ done: 30, total: 250, logits: Float32Array.of(5, 0, 0) });
  assert.equal(h.out.length, 1);
  assert.match(h.out[0]!, /^\r\x1b\[Kclassifying: 30\/250 images \(12 %, 10\.0 images\/s\), so far: walking 98\.7 %$/);
  h.advance(1000);
  h.line.onChunk({ done: 250, total: 250, logits: Float32Array.of(0, 0, 5) });
  assert.match(h.out[1]!, /250\/250 images \(100 %.*jumping/);
  h.line.done();
  assert.equal(h.out.at(-1), '\n');
  h.line.done();
  assert.equal(h.out.filter((s) => s === '\n').length, 1, 'one newline only');
});
