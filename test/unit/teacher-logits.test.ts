/**
 * Teacher-logits files (src/core/train/teacherLogits.ts, src/node/teacherLogits.ts): the JSON Lines of
 * `classify --json` (made by its own writer, classifyJson.ts) and of `eval --out` (records as evaluate.ts makes
 * them; the end-to-end file is read in eval.test.ts) are keyed by input path; bad records, old records without
 * logits and a class-count mismatch are refused naming the file and the line.
 *
 *   node --import tsx --test test/unit/teacher-logits.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatJsonLines } from '../../src/cli/classifyJson.js';
import { parseTeacherLogits, teacherKey } from '../../src/core/train/teacherLogits.js';
import { readTeacherLogits } from '../../src/node/teacherLogits.js';
import { isPPTSNError } from '../../src/core/errors.js';

const top = (k: number) => [{ index: k, label: `c${k}`, score: 0.5 }];
const evalLine = (position: number, path: string, logits: number[] | undefined, extra: object = {}) =>
  JSON.stringify({ position, line: position + 1, path, label: 0, labelName: 'c0', classes: 3, ...(logits ? { top: top(1), logits } : {}), run: 'fast T=8 center keep-ratio, model abc', ...extra });
const refused = (text: string, re: RegExp, numClasses?: number) =>
  assert.throws(() => parseTeacherLogits(text, 'teacher.jsonl', numClasses !== undefined ? { numClasses } : {}), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument' && re.test(e.message), re.source);

test('classify --json records (video, rawframes folder, --tensor batch) are keyed by the path given', () => {
  const text = [
    formatJsonLines('videos/a.mp4', { logits: [[1, 2.5, -0.25]], top: [top(1)], backend: 'onnx', frameIndices: [1, 2], decoder: 'ffmpeg' }),
    formatJsonLines('frames/b/', { logits: [[0, 0, 1]], top: [top(2)], backend: 'onnx' }),
    formatJsonLines('batch.npy', { logits: [[1, 0, 0], [0, 1, 0]], top: [top(0), top(1)], backend: 'cpu' }),
  ].join('\n') + '\n';
  const t = parseTeacherLogits(text, 'teacher.jsonl');
  assert.equal(t.numClasses, 3);
  assert.equal(t.size, 4);
  assert.deepEqual(Array.from(t.get('videos/a.mp4')!), [1, 2.5, -0.25]);
  // Normal forms name the same clip; a batch's clips by number.
  assert.deepEqual(Array.from(t.get('./videos//a.mp4')!), [1, 2.5, -0.25]);
  assert.deepEqual(Array.from(t.get('frames/b')!), [0, 0, 1]);
  assert.deepEqual(Array.from(t.get('batch.npy', 1)!), [0, 1, 0]);
  assert.equal(t.get('batch.npy'), undefined);
  assert.equal(t.get('videos/other.mp4'), undefined);
  assert.deepEqual(Array.from(t.lookup(['a.mp4', 'videos/a.mp4'])!), [1, 2.5, -0.25]);
  assert.deepEqual(t.labelNames, ['c0', 'c1', 'c2']);
  assert.deepEqual(t.producedBy, ['classify (onnx)', 'classify (cpu)']);
  assert.equal(teacherKey('/abs//x/./y/'), '/abs/x/y');
});

test('eval --out records: failures and an unfinished last line skipped, a retried item replaces its failure', () => {
  const text = [
    evalLine(0, 'A/x.avi', [0.5, 1, 2]),
    evalLine(1, 'A/missing.avi', undefined, { error: { code: 'invalid-argument', message: 'line 2: A/missing.avi does not exist' } }),
    evalLine(1, 'A/missing.avi', [3, 2, 1]),
    evalLine(2, 'B/y.avi', undefined, { error: { code: 'decode-failed', message: 'line 3: bad' } }),
    '{"position": 3, "pa',
  ].join('\n');
  const t = parseTeacherLogits(text, 'run.jsonl', { numClasses: 3 });
  assert.equal(t.size, 2);
  assert.deepEqual(Array.from(t.get('A/missing.avi')!), [3, 2, 1]);
  assert.deepEqual(t.skipped.map((s) => [s.line, s.path]), [[2, 'A/missing.avi'], [4, 'B/y.avi'], [5, '']]);
  assert.deepEqual(t.producedBy, ['fast T=8 center keep-ratio, model abc']);
});

test('bad records are refused naming the file and the line', () => {
  const ok = evalLine(0, 'A/x.avi', [0.5, 1, 2]);
  refused(`${ok}\nnot json\n${ok}`, /^teacher\.jsonl line 2: is not JSON/);
  refused(`${ok}\n[1, 2]\n`, /^teacher\.jsonl line 2: is not a classify --json or eval --out record/);
  refused(`${ok}\n{"logits": [1, 2, 3]}\n`, /^teacher\.jsonl line 2: has no "path"/);
  // An eval --out record of a version that did not write logits.
  refused(`${ok}\n${evalLine(1, 'A/old.avi', undefined, { top: top(0) })}\n`, /^teacher\.jsonl line 2: \(A\/old\.avi\) has no "logits": it was written by a pptsn-web that did not record them/);
  refused(`${evalLine(0, 'A/x.avi', [1, null as unknown as number, 2])}\n`, /^teacher\.jsonl line 1: \(A\/x\.avi\) "logits" is not a list of finite numbers/);
  refused(`${evalLine(0, 'A/x.avi', [1, 2])}\n`, /^teacher\.jsonl line 1: \(A\/x\.avi\) has 2 logits but says "classes": 3/);
  refused(`${JSON.stringify({ path: 'a', clip: -1, logits: [1] })}\n`, /line 1: \(a\) "clip" is not a clip number/);
  // Class counts: the first record's, or the student's.
  refused(`${JSON.stringify({ path: 'a', logits: [1, 2, 3] })}\n${JSON.stringify({ path: 'b', logits: [1, 2] })}\n`, /^teacher\.jsonl line 2: \(b\) has 2 logits but line 1 has 3: the teacher and the student must have the same classes/);
  refused(`${ok}\n`, /^teacher\.jsonl line 1: \(A\/x\.avi\) has 3 logits but the student has 4 classes/, 4);
  refused('\n\n', /^teacher\.jsonl holds no teacher logits:/);
  refused(`${evalLine(0, 'A/m.avi', undefined, { error: { code: 'x', message: 'gone' } })}\n`, /holds no teacher logits \(1 failed item\(s\), e\.g\. line 1\)/);
});

test('readTeacherLogits reads the file, and names it when it cannot', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pptsn-teacher-'));
  try {
    const file = join(dir, 't.jsonl');
    writeFileSync(file, `${evalLine(0, 'A/x.avi', [0.5, 1, 2])}\n`);
    assert.deepEqual(Array.from((await readTeacherLogits(file)).get('A/x.avi')!), [0.5, 1, 2]);
    await assert.rejects(readTeacherLogits(join(dir, 'none.jsonl')), /cannot read the teacher logits .*none\.jsonl: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
