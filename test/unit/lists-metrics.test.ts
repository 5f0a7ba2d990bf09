/**
 * PaddleVideo's list files (videos and rawframes lists, root prefix, classInd.txt labels), shards, and the
 * evaluation metrics (top-1/top-5 mean over videos, per-class accuracy, confusion matrix, failed items, merging).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { joinRoot, parseList, parseShard, shardEntries } from '../../src/core/dataset/lists.js';
import { confusionCsv, mergeRecords, parseRecords, summarize, summaryLine, type EvalRecord } from '../../src/core/eval/metrics.js';
import { parseLabels } from '../../src/core/labels.js';
import { isPPTSNError } from '../../src/core/errors.js';

test('videos list: path label, root joined as os.path.join, problems named by line and kept in place', () => {
  const text = 'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi 0\n\n# comment\nArchery/v_Archery_g01_c01.avi   2\r\nbroken_line_without_label\nBand/x.avi 7\n/abs/path.avi 1\n';
  const list = parseList(text, { root: 'data/ucf101/videos', numClasses: 5, source: 'val.list' });
  assert.equal(list.format, 'videos');
  assert.equal(list.entries.length, 5);
  assert.deepEqual(list.entries[0]!.item, { relPath: 'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi', path: 'data/ucf101/videos/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi', label: 0, line: 1 });
  assert.equal(list.entries[1]!.item!.label, 2);
  assert.equal(list.entries[1]!.item!.line, 4);
  assert.match(list.entries[2]!.problem!.message, /^val\.list line 5: expected "path label"/);
  assert.match(list.entries[3]!.problem!.message, /val\.list line 6: label 7 is out of range: the model has 5 classes/);
  assert.equal(list.entries[4]!.item!.path, '/abs/path.avi');
  assert.equal(joinRoot('root/', 'a.avi'), 'root/a.avi');
  assert.equal(joinRoot(undefined, 'a.avi'), 'a.avi');
});

test('rawframes list: frame_dir num_frames label, guessed or forced, paths with spaces', () => {
  const list = parseList('Archery/v_Archery_g01_c01 131 2\nmy clips/a b 40 1\nx 0 1\ny 12\n', { root: '/data/rawframes' });
  assert.equal(list.format, 'rawframes');
  assert.deepEqual(list.entries[0]!.item, { relPath: 'Archery/v_Archery_g01_c01', path: '/data/rawframes/Archery/v_Archery_g01_c01', label: 2, numFrames: 131, line: 1 });
  assert.equal(list.entries[1]!.item!.relPath, 'my clips/a b');
  assert.equal(list.entries[1]!.item!.numFrames, 40);
  assert.match(list.entries[2]!.problem!.message, /line 3: num_frames is 0/);
  assert.match(list.entries[3]!.problem!.message, /line 4: expected "frame_dir num_frames label"/);
  // A videos list read as rawframes, and a rawframes list read as videos, say so on the line.
  const forced = parseList('f 10 1\na.avi 3\n', { format: 'rawframes' }).entries;
  assert.match(forced[1]!.problem!.message, /line 2: expected "frame_dir num_frames label"/);
  assert.throws(() => parseList('a.avi 3\n', { format: 'rawframes', source: 'l.txt' }), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument' && /l\.txt has no usable line \(l\.txt line 1/.test(e.message));
  assert.throws(() => parseList('\n# nothing\n', { source: 'empty.txt' }), /empty\.txt is empty/);
  const asVideos = parseList('ok.avi 1\nframes 30 x\n', { format: 'videos' });
  assert.match(asVideos.entries[1]!.problem!.message, /line 2: expected "path label" with an integer label/);
});

test('UCF101 classInd.txt (1-based) and our 0-based label files index the same classes', () => {
  const ucf = parseLabels(readFileSync(fileURLToPath(new URL('../../weights/labels/ucf101_classInd.txt', import.meta.url)), 'utf8'), 'classInd.txt');
  assert.equal(ucf.length, 101);
  assert.equal(ucf[0], 'ApplyEyeMakeup');
  assert.equal(ucf[100], 'YoYo');
  assert.deepEqual(parseLabels('0 abseiling\n1 air drumming\n'), ['abseiling', 'air drumming']);
  assert.deepEqual(parseLabels('1 A\n2 B\n'), ['A', 'B']);
});

test('shards: position p goes to shard p % n; every entry in exactly one shard', () => {
  const entries = Array.from({ length: 11 }, (_, i) => i);
  const shards = [0, 1, 2].map((i) => shardEntries(entries, i, 3));
  assert.deepEqual(shards[1]!.map((s) => s.position), [1, 4, 7, 10]);
  assert.deepEqual(shards.flat().map((s) => s.position).sort((a, b) => a - b), entries);
  assert.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
  for (const bad of ['4/4', '1', 'a/b', '0/0', '-1/3']) assert.throws(() => parseShard(bad), /--shard must be i\/n/);
});

const labels = ['a', 'b', 'c', 'd', 'e', 'f'];
const top = (...idx: number[]) => idx.map((index, k) => ({ index, label: labels[index]!, score: 0.5 / (k + 1) }));
const rec = (position: number, label: number, t?: number[], error?: string): EvalRecord => ({
  position, line: position + 1, path: `v${position}.avi`, label, ...(t ? { top: top(...t) } : {}), ...(error ? { error: { code: 'decode-failed', message: error } } : {}),
});

test('summary: top-1/top-5 mean over videos, per class, confusion, failures', () => {
  const records = [
    rec(0, 0, [0, 1, 2, 3, 4]), // top-1 hit
    rec(1, 0, [1, 0, 2, 3, 4]), // top-5 hit
    rec(2, 1, [0, 2, 3, 4, 5]), // miss (label 1 is 6th)
    rec(3, 2, [2, 0, 1, 3, 4]), // top-1 hit
    rec(4, 3, undefined, 'missing file x'),
  ];
  const s = summarize(records, labels);
  assert.equal(s.count, 4);
  assert.equal(s.failed, 1);
  assert.equal(s.top1, 2 / 4);
  assert.equal(s.top5, 3 / 4);
  assert.deepEqual(s.perClass.slice(0, 4).map((c) => [c.count, c.correct, c.top1]), [[2, 1, 0.5], [1, 0, 0], [1, 1, 1], [0, 0, null]]);
  assert.equal(s.confusion[0]![0], 1);
  assert.equal(s.confusion[0]![1], 1);
  assert.equal(s.confusion[1]![0], 1);
  assert.equal(s.confusion.flat().reduce((a, b) => a + b, 0), 4);
  assert.deepEqual(s.failures, [{ position: 4, line: 5, path: 'v4.avi', message: 'missing file x' }]);
  assert.deepEqual(Object.keys(summaryLine(s)), ['count', 'top1', 'top5', 'perClass', 'failed']);
  const csv = confusionCsv(s, ['a', 'b,1', 'c', 'd', 'e', 'f']).split('\n');
  assert.equal(csv[0], 'true \\ predicted,a,"b,1",c,d,e,f');
  assert.equal(csv[1], 'a,1,1,0,0,0,0');
  assert.throws(() => summarize([rec(0, 9, [0])], labels), /has label 9 .* 6 classes/);
});

test('merging shards equals the whole; a success is never replaced by a failure; torn last line ignored', () => {
  const all = [rec(0, 0, [0, 1]), rec(1, 1, [0, 1]), rec(2, 2, [2, 0]), rec(3, 1, [1, 2]), rec(4, 0, undefined, 'bad line')];
  const a = all.filter((r) => r.position % 2 === 0);
  const b = all.filter((r) => r.position % 2 === 1);
  assert.deepEqual(summarize(mergeRecords([b, a]), labels), summarize(all, labels));
  const retried = mergeRecords([[rec(1, 1, undefined, 'timeout')], [rec(1, 1, [1])], [rec(1, 1, undefined, 'later failure')]]);
  assert.equal(retried.length, 1);
  assert.ok(!retried[0]!.error);
  const text = all.map((r) => JSON.stringify(r)).join('\n') + '\n{"position": 5, "pa';
  assert.deepEqual(parseRecords(text, 'r.jsonl'), all);
  assert.throws(() => parseRecords('nonsense\n{}\n', 'r.jsonl'), /r\.jsonl line 1 is not JSON/);
  assert.throws(() => parseRecords('{"x":1}\n', 'r.jsonl'), /r\.jsonl line 1 is not an eval record/);
});
