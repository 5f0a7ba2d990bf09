/**
 * `prepare lists ucf101|folders -o <dir>` where <dir> does not exist yet: the lists are written into it (created,
 * as `prepare rawframes -o`, `convert -o` and `train -o` create theirs). It failed with a bare
 * "ENOENT: no such file or directory, open '<dir>/train_rawframes.txt'".
 *   node --import tsx --test test/unit/prepare-lists-out.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFolderLists, writeUcf101Lists } from '../../src/node/prepareLists.js';

let dir = '';
const quiet = () => undefined;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-lists-out-'));
  // UCF101's layout, two classes with one rawframes folder each (empty JPEG files: only names are read).
  mkdirSync(join(dir, 'ucf101', 'annotations'), { recursive: true });
  for (const c of ['Archery', 'Bowling']) {
    const frames = join(dir, 'ucf101', 'rawframes', c, `v_${c}_g01_c01`);
    mkdirSync(frames, { recursive: true });
    for (const n of [1, 2, 3]) writeFileSync(join(frames, `img_0000${n}.jpg`), '');
  }
  writeFileSync(join(dir, 'ucf101', 'annotations', 'classInd.txt'), '1 Archery\n2 Bowling\n');
  writeFileSync(join(dir, 'ucf101', 'annotations', 'trainlist01.txt'), 'Archery/v_Archery_g01_c01.avi 1\nBowling/v_Bowling_g01_c01.avi 2\n');
  writeFileSync(join(dir, 'ucf101', 'annotations', 'testlist01.txt'), 'Archery/v_Archery_g01_c01.avi\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('prepare lists folders -o <new dir>: the folder is created and the lists written there', async () => {
  const out = join(dir, 'lists', 'own');
  const files = await writeFolderLists({ dir: join(dir, 'ucf101', 'rawframes'), outDir: out, valFraction: 0, log: quiet });
  assert.deepEqual(readdirSync(out).sort(), ['labels.txt', 'train_rawframes.txt']);
  assert.deepEqual(files.sort(), [join(out, 'labels.txt'), join(out, 'train_rawframes.txt')]);
  assert.equal(readFileSync(join(out, 'labels.txt'), 'utf8'), '0 Archery\n1 Bowling\n');
});

test('prepare lists ucf101 -o <new dir>: the folder is created and the split lists written there', async () => {
  const out = join(dir, 'lists', 'ucf');
  await writeUcf101Lists({ datasetDir: join(dir, 'ucf101'), format: 'rawframes', level: 2, splits: [1], outDir: out, log: quiet });
  assert.deepEqual(readdirSync(out).sort(), ['ucf101_train_split_1_rawframes.txt', 'ucf101_val_split_1_rawframes.txt']);
  assert.match(readFileSync(join(out, 'ucf101_train_split_1_rawframes.txt'), 'utf8'), /\/Bowling\/v_Bowling_g01_c01 3 1\n$/);
});
