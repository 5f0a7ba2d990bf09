/**
 * The CLI's list reader (src/node/datasetList.ts): PaddleVideo's `suffix`, the missing-extension hint, and UCF101's
 * own split files (trainlist0N.txt with 1-based ids, testlist0N.txt without labels), read with the label from the
 * class folder through classInd.txt or refused, never shifted by one. The last test runs `eval` on trainlist01.txt.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseList } from '../../src/core/dataset/lists.js';
import { parseClassInd, ucf101SplitKind } from '../../src/core/dataset/ucf101.js';
import { isPPTSNError } from '../../src/core/errors.js';
import { parseRecords } from '../../src/core/eval/metrics.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';
import { missingFileMessage, readDatasetList } from '../../src/node/datasetList.js';
import { seededStateDict } from '../helpers/seeded.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const CLASSES = ['ApplyEyeMakeup', 'Archery', 'Bowling'];
const CRLF = (lines: string[]) => lines.map((l) => l + '\r\n').join('');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-lists-'));
  mkdirSync(join(dir, 'annotations'));
  mkdirSync(join(dir, 'bare'));
  // UCF101 ships these with CRLF line ends.
  writeFileSync(join(dir, 'annotations', 'classInd.txt'), CRLF(CLASSES.map((c, i) => `${i + 1} ${c}`)));
  const train = ['Archery/v_Archery_g01_c01.avi 2', 'Bowling/v_Bowling_g01_c01.avi 3', 'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi 1'];
  const testLines = ['Bowling/v_Bowling_g01_c01.avi', 'Archery/v_Archery_g01_c01.avi'];
  writeFileSync(join(dir, 'annotations', 'trainlist01.txt'), CRLF(train));
  writeFileSync(join(dir, 'annotations', 'testlist01.txt'), CRLF(testLines));
  writeFileSync(join(dir, 'bare', 'trainlist01.txt'), CRLF(train));
  writeFileSync(join(dir, 'bare', 'renamed.txt'), CRLF(train));
  writeFileSync(join(dir, 'bare', 'renamed_test.txt'), CRLF(testLines));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('suffix: appended to videos paths before the root (VideoDataset); rawframes accept only img_{:05}.jpg', () => {
  const list = parseList('Archery/v_Archery_g01_c01 0\n', { root: '/data/videos', suffix: '.avi' });
  assert.equal(list.entries[0]!.item!.path, '/data/videos/Archery/v_Archery_g01_c01.avi');
  assert.equal(list.entries[0]!.item!.relPath, 'Archery/v_Archery_g01_c01');
  assert.equal(parseList('a/b 10 0\n', { suffix: 'img_{:05}.jpg', root: '/r' }).entries[0]!.item!.path, '/r/a/b');
  assert.throws(() => parseList('a/b 10 0\n', { suffix: '.avi' }), (e: unknown) => isPPTSNError(e) && /frame file template/.test(e.message));
});

test('UCF101 split files are recognised by name and by content; PaddleVideo lists are not', () => {
  const classInd = parseClassInd(readFileSync(join(dir, 'annotations', 'classInd.txt'), 'utf8'));
  assert.deepEqual([...classInd], [['ApplyEyeMakeup', 0], ['Archery', 1], ['Bowling', 2]]);
  const train = readFileSync(join(dir, 'annotations', 'trainlist01.txt'), 'utf8');
  assert.equal(ucf101SplitKind('x/trainlist02.txt', 'anything'), 'trainlist');
  assert.equal(ucf101SplitKind('testlist03.txt', 'anything'), 'testlist');
  assert.equal(ucf101SplitKind('mine.txt', train), 'trainlist'); // CRLF, no id 0
  assert.equal(ucf101SplitKind('mine.txt', train.replace(/\r/g, ''), classInd), 'trainlist'); // ids = classInd's
  assert.equal(ucf101SplitKind('mine.txt', 'Archery/v_Archery_g01_c01.avi 1\nBowling/v_Bowling_g01_c01.avi 2\n', classInd), undefined); // 0-based
  assert.equal(ucf101SplitKind('mine.txt', 'Archery/v_Archery_g01_c01.avi\n'), 'testlist');
  assert.equal(ucf101SplitKind('val.txt', '/abs/videos/Archery/v_Archery_g01_c01 1\n'), undefined);
  assert.equal(ucf101SplitKind('val.txt', 'Archery/v_Archery_g01_c01 131 1\n'), undefined);
});

test('readDatasetList: trainlist/testlist labels from the class folder via classInd.txt beside them (never id as label)', async () => {
  for (const name of ['trainlist01.txt', 'testlist01.txt']) {
    const list = await readDatasetList(join(dir, 'annotations', name), { root: '/v', labels: CLASSES });
    const items = list.entries.map((e) => e.item!);
    for (const it of items) assert.equal(it.label, CLASSES.indexOf(it.relPath.split('/')[0]!), `${name} ${it.relPath}`);
    assert.equal(items[0]!.path, `/v/${items[0]!.relPath}`);
    assert.match(list.notes.join('\n'), /read as UCF101's split file.*classInd\.txt/);
  }
  // A mismatching id is a problem on its line, not a guess.
  writeFileSync(join(dir, 'annotations', 'trainlist02.txt'), CRLF(['Archery/v_Archery_g01_c01.avi 1', 'Bowling/v_Bowling_g01_c01.avi 3']));
  const two = await readDatasetList(join(dir, 'annotations', 'trainlist02.txt'));
  assert.match(two.entries[0]!.problem!.message, /class id 1 does not match classInd\.txt's 2 for Archery/);
  assert.equal(two.entries[1]!.item!.label, 2);
  // --class-ind for a split file elsewhere; a model with other class names is refused.
  const given = await readDatasetList(join(dir, 'bare', 'renamed.txt'), { classInd: join(dir, 'annotations', 'classInd.txt') });
  assert.deepEqual(given.entries.map((e) => e.item!.label), [1, 2, 0]);
  await assert.rejects(readDatasetList(join(dir, 'annotations', 'trainlist01.txt'), { labels: ['Bowling', 'Archery', 'ApplyEyeMakeup'] }), /not UCF101's classInd order/);
});

test('readDatasetList: a split file without classInd.txt is refused with a pointer to prepare lists ucf101', async () => {
  for (const name of ['trainlist01.txt', 'renamed.txt', 'renamed_test.txt']) {
    await assert.rejects(readDatasetList(join(dir, 'bare', name)), (e: unknown) => isPPTSNError(e) && e.code === 'invalid-argument' &&
      /UCF101's split file/.test(e.message) && /pptsn-web prepare lists ucf101/.test(e.message) && /--class-ind/.test(e.message), name);
  }
  await assert.rejects(readDatasetList(join(dir, 'annotations', 'trainlist01.txt'), { format: 'rawframes' }), /names videos, not rawframes folders/);
});

test('a missing file that exists with a video extension says so and suggests --suffix', async () => {
  mkdirSync(join(dir, 'videos', 'Archery'), { recursive: true });
  writeFileSync(join(dir, 'videos', 'Archery', 'v_Archery_g01_c01.avi'), 'x');
  const base = join(dir, 'videos', 'Archery', 'v_Archery_g01_c01');
  assert.match(await missingFileMessage(base), /does not exist, but .*v_Archery_g01_c01\.avi does: .*add --suffix \.avi/);
  assert.equal(await missingFileMessage(join(dir, 'nothing')), `${join(dir, 'nothing')} does not exist`);
  writeFileSync(join(dir, 'nosuffix.txt'), `${base} 1\n`);
  const list = await readDatasetList(join(dir, 'nosuffix.txt'));
  assert.match(list.notes.join('\n'), /nosuffix\.txt line 1: .*add --suffix \.avi/);
  const fixed = await readDatasetList(join(dir, 'nosuffix.txt'), { suffix: '.avi' });
  assert.deepEqual(fixed.notes, []);
  assert.equal(fixed.entries[0]!.item!.path, `${base}.avi`);
});

test('eval trainlist01.txt scores against the class folders\' classes (as the 0-based list does); --suffix reads extensionless lists; train reads lists the same way', () => {
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  const videos = join(dir, 'ucf', 'videos');
  const ann = join(dir, 'ucf', 'annotations');
  mkdirSync(ann, { recursive: true });
  const clips = [['Archery', 'testsrc2'], ['Bowling', 'smptebars']] as const;
  for (const [cls, src] of clips) {
    mkdirSync(join(videos, cls), { recursive: true });
    const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `${src}=size=160x120:rate=25`, '-frames:v', '12', '-c:v', 'mpeg4', '-vtag', 'XVID', join(videos, cls, `v_${cls}_g01_c01.avi`)]);
    assert.equal(r.status, 0, String(r.stderr));
  }
  writeFileSync(join(ann, 'classInd.txt'), CRLF(CLASSES.map((c, i) => `${i + 1} ${c}`)));
  writeFileSync(join(ann, 'trainlist01.txt'), CRLF(['Archery/v_Archery_g01_c01.avi 2', 'Bowling/v_Bowling_g01_c01.avi 3']));
  writeFileSync(join(dir, 'ucf', 'paddle.txt'), `${videos}/Archery/v_Archery_g01_c01 1\n${videos}/Bowling/v_Bowling_g01_c01 2\n`);
  writeFileSync(join(dir, 'w.pdparams'), writePdparams(seededStateDict(18, CLASSES.length, 3)));
  assert.equal(cli(['convert', join(dir, 'w.pdparams'), '-o', join(dir, 'model'), '--labels', join(ann, 'classInd.txt')]).status, 0);
  const run = (list: string, extra: string[]) => {
    const out = join(dir, `${list.replace(/\W/g, '_')}.jsonl`);
    const r = cli(['eval', list, '-m', join(dir, 'model'), '--preset', 'fast', '--segments', '2', '--lanes', '1', '--json', '--out', out, ...extra]);
    assert.equal(r.status, 0, r.stderr);
    return { stderr: r.stderr, summary: JSON.parse(r.stdout.trim().split('\n').pop()!), records: parseRecords(readFileSync(out, 'utf8')) };
  };
  const split = run(join(ann, 'trainlist01.txt'), ['--root', videos]);
  assert.match(split.stderr, /read as UCF101's split file/);
  assert.deepEqual(split.records.map((r) => [r.label, r.labelName]), [[1, 'Archery'], [2, 'Bowling']]);
  const paddle = run(join(dir, 'ucf', 'paddle.txt'), ['--suffix', '.avi']);
  assert.equal(paddle.summary.failed, 0);
  assert.deepEqual(paddle.records.map((r) => r.label), [1, 2]);
  assert.deepEqual(split.records.map((r) => r.top![0]!.index), paddle.records.map((r) => r.top![0]!.index));
  assert.equal(split.summary.top1, paddle.summary.top1);
  // Without --suffix every line fails, and the message says what to add.
  const bare = cli(['eval', join(dir, 'ucf', 'paddle.txt'), '-m', join(dir, 'model'), '--preset', 'fast', '--segments', '2', '--json']);
  assert.equal(bare.status, 0, bare.stderr);
  assert.match(bare.stderr, /failed: .*v_Archery_g01_c01: line 1: .*does not exist, but .*\.avi does: .*add --suffix \.avi/);
  // train reads lists with the same reader: an extensionless list without --suffix is refused up front, saying so.
  const trainBare = cli(['train', join(dir, 'ucf', 'paddle.txt'), '-o', join(dir, 'run'), '-m', join(dir, 'model')]);
  assert.notEqual(trainBare.status, 0);
  assert.match(trainBare.stderr, /paddle\.txt line 1: .*add --suffix \.avi/);
  // No classInd.txt beside the split file: eval and train refuse it with the pointer.
  rmSync(join(ann, 'classInd.txt'));
  for (const command of ['eval', 'train']) {
    const refused = cli([command, join(ann, 'trainlist01.txt'), '-m', join(dir, 'model'), '--root', videos, ...(command === 'train' ? ['-o', join(dir, 'run')] : [])]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /UCF101's split file .*pptsn-web prepare lists ucf101/, command);
  }
});
