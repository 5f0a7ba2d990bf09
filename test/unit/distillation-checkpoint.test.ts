/**
 * Distillation checkpoints as PaddleVideo writes them (SPEC §5): a RecognizerDistillation state dict
 * (`Student.0.…`, `Student.1.fc.…`, `Teacher.…`) and a `_best_student.pdparams` (`0.…`, `1.…`), both written by
 * real Python pickle (test/helpers/make_distillation.py) from two seeded ResNet18 models, convert to the student
 * (or, with --teacher, the teacher) with the same logits as the same weights in Recognizer2D layout; a file
 * without the asked-for model is refused by name.
 *
 *   node --import tsx --test test/unit/distillation-checkpoint.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededInput, seededStateDict } from '../helpers/seeded.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';
import { loadWeightFile } from '../../src/core/formats/load.js';
import { distillationLayout } from '../../src/core/formats/distillation.js';
import { encodeNpy } from '../../src/core/npy.js';
import { isPPTSNError } from '../../src/core/errors.js';
import { convert } from '../../src/cli/convert.js';
import { classify } from '../../src/cli/classify.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-distill-'));
  writeFileSync(join(dir, 'student.pdparams'), writePdparams(seededStateDict(18, 5, 71)));
  writeFileSync(join(dir, 'teacher.pdparams'), writePdparams(seededStateDict(18, 5, 72)));
  const r = spawnSync(process.env['PPTSN_PYTHON'] ?? '/usr/bin/python3', [join(ROOT, 'test/helpers/make_distillation.py'), join(dir, 'student.pdparams'), join(dir, 'teacher.pdparams'), dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `make_distillation.py (needs python3 + numpy): ${r.stderr}`);
  const shape = [1, 2, 3, 64, 64];
  writeFileSync(join(dir, 'x.npy'), encodeNpy(seededInput(shape, 9), shape));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function convertAndClassify(file: string, name: string, extra: { part?: 'teacher' } = {}): Promise<{ logits: number[]; log: string[] }> {
  const log: string[] = [];
  await convert({ input: join(dir, file), outDir: join(dir, name), log: (l) => log.push(l), ...extra });
  const out = await classify({ modelDir: join(dir, name), tensor: join(dir, 'x.npy'), backend: 'cpu', log: () => undefined });
  return { logits: out.logits[0]!, log };
}

test('both distillation layouts convert to the student with the logits of the same weights in Recognizer2D layout', async () => {
  const plain = await convertAndClassify('student.pdparams', 'plain');
  assert.deepEqual(plain.log.filter((l) => /distillation|taking/i.test(l)), []);
  const whole = await convertAndClassify('distill_best.pdparams', 'whole');
  assert.match(whole.log[0]!, /^distill_best\.pdparams is a RecognizerDistillation checkpoint \(Student\.… and Teacher\.… keys\): taking the student, in Recognizer2D layout/);
  assert.deepEqual(whole.logits, plain.logits);
  const studentOnly = await convertAndClassify('distill_best_student.pdparams', 'student-only');
  assert.match(studentOnly.log[0]!, /^distill_best_student\.pdparams is a distillation's student \(0\.…\/1\.… keys, as _best_student\.pdparams\): taking the student/);
  assert.deepEqual(studentOnly.logits, plain.logits);
  // The teacher is another model: its logits differ.
  const teacher = await convertAndClassify('teacher.pdparams', 'plain-teacher');
  assert.notDeepEqual(teacher.logits, plain.logits);
  const loaded = await loadWeightFile(readFileSync(join(dir, 'distill_best.pdparams')), { fileName: 'distill_best.pdparams', part: 'teacher' });
  assert.deepEqual(loaded.distillation, { layout: 'RecognizerDistillation', part: 'teacher' });
  assert.equal(loaded.depth, 18);
  assert.equal(loaded.numClasses, 5);
  assert.deepEqual([...loaded.stateDict.keys()].slice(-2), ['head.fc.weight', 'head.fc.bias']);
});

test('convert --teacher takes the teacher of a RecognizerDistillation checkpoint', async () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'convert', join(dir, 'distill_best.pdparams'), '-o', join(dir, 'teacher-of-whole'), '--teacher'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /distill_best\.pdparams is a RecognizerDistillation checkpoint \(Student\.… and Teacher\.… keys\): taking the teacher, in Recognizer2D layout/);
  const want = await classify({ modelDir: join(dir, 'plain-teacher'), tensor: join(dir, 'x.npy'), backend: 'cpu', log: () => undefined });
  const got = await classify({ modelDir: join(dir, 'teacher-of-whole'), tensor: join(dir, 'x.npy'), backend: 'cpu', log: () => undefined });
  assert.deepEqual(got.logits, want.logits);
});

test('a file without the asked-for model is refused by name', async () => {
  const refused = (file: string, re: RegExp) => assert.rejects(loadWeightFile(readFileSync(join(dir, file)), { fileName: file, part: 'teacher' }), (e: unknown) => isPPTSNError(e) && e.code === 'model-invalid' && re.test(e.message), re.source);
  await refused('distill_best_student.pdparams', /^distill_best_student\.pdparams holds only a distillation's student .*: it has no teacher; take the teacher from the RecognizerDistillation checkpoint/);
  await refused('student.pdparams', /^student\.pdparams is not a distillation checkpoint .*: it holds one model; use the file itself as the teacher/);
  assert.equal(distillationLayout(['backbone.conv1_1._conv.weight', 'head.fc.weight']), undefined);
  assert.equal(distillationLayout(['Student.0.a', 'Teacher.1.fc.weight']), 'RecognizerDistillation');
  assert.equal(distillationLayout(['0.a', '1.fc.weight']), 'student-only');
  assert.equal(distillationLayout(['0.a', 'head.fc.weight']), undefined);
});
