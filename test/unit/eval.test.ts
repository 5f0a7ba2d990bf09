/**
 * `pptsn-web eval` on a small UCF101-style data set made here: AVI (MPEG-4 Part 2) and MP4 (H.264) clips in class
 * folders, the same clips extracted to rawframes with OpenCV (test/helpers/extract_rawframes.py, as the tutorial),
 * PaddleVideo list files with a missing file and a malformed line. Per-item predictions are checked against an
 * independent reference: PaddleVideo's pipeline on OpenCV/PIL frames (paddle_reference.py) + the network in float64
 * (reference.py). Shards merged equal the full run; a re-run with the same --out classifies nothing again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededStateDict } from '../helpers/seeded.js';
import { writePdparams } from '../../src/core/formats/pdparamsWriter.js';
import { decodeNpy, encodeNpy } from '../../src/core/npy.js';
import { parseRecords } from '../../src/core/eval/metrics.js';
import { readTeacherLogits } from '../../src/node/teacherLogits.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const PYTHON = process.env['PPTSN_PYTHON'] ?? '/usr/bin/python3';
const CLASSES = ['Archery', 'Bowling', 'Diving', 'Fencing', 'Rowing', 'Surfing'];
const SEED = 2; // a seed whose predictions differ between the clips (not all one class)
const T = '3';
let dir: string;

const CLIPS: { cls: number; name: string; src: string; codec: string[] }[] = [
  { cls: 0, name: 'v_Archery_g01_c01.avi', src: 'testsrc2=size=320x240:rate=25', codec: ['-c:v', 'mpeg4', '-q:v', '4'] },
  { cls: 0, name: 'v_Archery_g01_c02.mp4', src: 'mandelbrot=size=320x240:rate=25', codec: ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'] },
  { cls: 1, name: 'v_Bowling_g01_c01.avi', src: 'smptebars=size=320x240:rate=25', codec: ['-c:v', 'mpeg4', '-q:v', '4'] },
  { cls: 2, name: 'v_Diving_g01_c01.mp4', src: 'rgbtestsrc=size=320x240:rate=25', codec: ['-c:v', 'libx264', '-pix_fmt', 'yuv420p'] },
];

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
function run(cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...(input ? { input } : {}) });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);
const evalArgs = (list: string, root: string, extra: string[] = []) => ['eval', join(dir, list), '-m', join(dir, 'model'), '--root', join(dir, root), '--preset', 'fast', '--segments', T, ...extra];

/** Reference softmax scores per item: PaddleVideo's fast pipeline in numpy/OpenCV/PIL, the network in float64. */
let reference: { videos: number[][]; rawframes: number[][] };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-eval-'));
  const lines: string[] = [];
  const rawLines: string[] = [];
  for (const c of CLIPS) {
    const folder = join(dir, 'videos', CLASSES[c.cls]!);
    mkdirSync(folder, { recursive: true });
    run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', c.src, '-frames:v', String(40 + 5 * lines.length), ...c.codec, join(folder, c.name)]);
    const rel = `${CLASSES[c.cls]}/${c.name}`;
    lines.push(`${rel} ${c.cls}`);
    const frameDir = rel.replace(/\.\w+$/, '');
    const n = run(PYTHON, [join(ROOT, 'test/helpers/extract_rawframes.py'), join(dir, 'videos', rel), join(dir, 'rawframes', frameDir)]).trim();
    rawLines.push(`${frameDir} ${n} ${c.cls}`);
  }
  // A missing file and a malformed line: reported as failed, the run goes on.
  writeFileSync(join(dir, 'val.list'), [...lines.slice(0, 2), 'Bowling/v_missing.avi 1', ...lines.slice(2), 'not a list line'].join('\n') + '\n');
  writeFileSync(join(dir, 'val_rawframes.list'), rawLines.join('\n') + '\n');
  writeFileSync(join(dir, 'classInd.txt'), CLASSES.map((c, i) => `${i + 1} ${c}`).join('\n') + '\n');
  writeFileSync(join(dir, 'w.pdparams'), writePdparams(seededStateDict(18, CLASSES.length, SEED)));
  assert.equal(cli(['convert', join(dir, 'w.pdparams'), '-o', join(dir, 'model'), '--labels', join(dir, 'classInd.txt')]).code, 0);
  // The reference: every item's PaddleVideo input, then one float64 forward pass over all of them.
  const inputs: Float32Array[] = [];
  const items = [
    ...CLIPS.map((c) => [join(dir, 'videos', CLASSES[c.cls]!, c.name), 'cv2'] as const),
    ...rawLines.map((l) => [join(dir, 'rawframes', l.split(' ')[0]!), 'rawframes'] as const),
  ];
  for (const [path, decoder] of items) {
    const npy = join(dir, 'ref.npy');
    run(PYTHON, [join(ROOT, 'test/helpers/paddle_reference.py'), path, npy, '--preset', 'fast', '--segments', T, '--decoder', decoder]);
    inputs.push(decodeNpy(new Uint8Array(readFileSync(npy))).data);
  }
  const all = new Float32Array(inputs.reduce((a, x) => a + x.length, 0));
  inputs.reduce((off, x) => (all.set(x, off), off + x.length), 0);
  const shape = [items.length, Number(T), 3, 224, 224];
  writeFileSync(join(dir, 'all.npy'), encodeNpy(all, shape));
  const out = JSON.parse(run(PYTHON, [join(ROOT, 'test/helpers/reference.py')], JSON.stringify({ depth: 18, num_classes: CLASSES.length, weight_seed: SEED, input_shape: shape, input_npy: join(dir, 'all.npy') })));
  const probs = (out.logits as number[][]).map((row) => {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  });
  reference = { videos: probs.slice(0, CLIPS.length), rawframes: probs.slice(CLIPS.length) };
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Checks records against the reference: same best class (except near-ties), same summary, scores close. */
function checkAgainstReference(records: ReturnType<typeof parseRecords>, ref: number[][], summary: { count: number; top1: number; top5: number }, what: string) {
  const ok = records.filter((r) => !r.error);
  assert.equal(ok.length, ref.length, `${what}: classified items`);
  let top1 = 0, top5 = 0;
  ok.forEach((r, k) => {
    const p = ref[k]!;
    const order = p.map((_, i) => i).sort((a, b) => p[b]! - p[a]! || a - b);
    if (order[0] === r.label) top1++;
    if (order.slice(0, 5).includes(r.label)) top5++;
    const margin = p[order[0]!]! - p[order[1]!]!;
    if (margin > 0.02) assert.equal(r.top![0]!.index, order[0], `${what} ${r.path}: best class ${r.top![0]!.index}, reference ${order[0]} (margin ${margin.toFixed(3)})`);
    for (const t of r.top!) assert.ok(Math.abs(t.score - p[t.index]!) < 0.01, `${what} ${r.path}: class ${t.index} score ${t.score} vs reference ${p[t.index]}`);
    // The full logits (a teacher file for distillation): one per class, their softmax the record's scores.
    assert.equal(r.logits?.length, CLASSES.length, `${what} ${r.path}: logits`);
    const m = Math.max(...r.logits!);
    const z = r.logits!.reduce((a, v) => a + Math.exp(v - m), 0);
    for (const t of r.top!) assert.ok(Math.abs(Math.exp(r.logits![t.index]! - m) / z - t.score) < 1e-6, `${what} ${r.path}: softmax(logits)[${t.index}] vs score ${t.score}`);
    console.log(`${what} ${r.path}: ours ${r.top!.map((t) => `${t.index}:${t.score.toFixed(3)}`).join(' ')} | reference best ${order[0]} (${p[order[0]!]!.toFixed(3)}), margin ${margin.toFixed(3)}`);
  });
  assert.equal(summary.count, ref.length);
  assert.equal(summary.top1, top1 / ref.length, `${what}: top-1`);
  assert.equal(summary.top5, top5 / ref.length, `${what}: top-5`);
}

test('eval --json on a videos list (AVI + MP4) and a rawframes list matches the float64 PaddleVideo reference; --out records carry the logits and read as a teacher', async () => {
  const out = join(dir, 'full.jsonl');
  const r = cli(evalArgs('val.list', 'videos', ['--out', out, '--json', '--confusion', join(dir, 'cm.csv')]));
  assert.equal(r.code, 0, r.stderr);
  const summary = lastJson(r.stdout);
  assert.deepEqual(Object.keys(summary), ['count', 'top1', 'top5', 'perClass', 'failed']);
  assert.equal(summary.failed, 2);
  assert.match(r.stderr, /\[eval\] 6\/6 +[\d.]+ items\/s +ETA/);
  assert.match(r.stderr, /failed: Bowling\/v_missing\.avi: line 3: .*v_missing\.avi does not exist/);
  assert.match(r.stderr, /failed: not a list line: val\.list line 6: expected "path label"/);
  const records = parseRecords(readFileSync(out, 'utf8'));
  assert.equal(records.length, 6);
  checkAgainstReference(records, reference.videos, summary, 'videos');
  // The same file read as a teacher: the classified items by their list path, the failed ones skipped.
  const teacher = await readTeacherLogits(out, { numClasses: CLASSES.length });
  assert.equal(teacher.size, 4);
  for (const r of records.filter((x) => !x.error)) assert.deepEqual(Array.from(teacher.get(r.path)!), Array.from(Float32Array.from(r.logits!)));
  assert.deepEqual(teacher.skipped.map((x) => x.line), records.map((x, i) => (x.error ? i + 1 : 0)).filter(Boolean));
  await assert.rejects(readTeacherLogits(out, { numClasses: 5 }), /full\.jsonl line \d+: \(.+\) has 6 logits but the student has 5 classes/);
  const csv = readFileSync(join(dir, 'cm.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], `true \\ predicted,${CLASSES.join(',')}`);
  assert.equal(csv.slice(1).flatMap((l) => l.split(',').slice(1).map(Number)).reduce((a, b) => a + b, 0), 4);

  const rawOut = join(dir, 'raw.jsonl');
  const raw = cli(evalArgs('val_rawframes.list', 'rawframes', ['--json', '--out', rawOut]));
  assert.equal(raw.code, 0, raw.stderr);
  const rawSummary = lastJson(raw.stdout);
  assert.equal(rawSummary.failed, 0);
  assert.match(raw.stderr, /4 items \(rawframes/);
  checkAgainstReference(parseRecords(readFileSync(rawOut, 'utf8')), reference.rawframes, rawSummary, 'rawframes');
});

test('two shards merged equal the full run; a re-run with the same --out classifies nothing again', () => {
  const full = join(dir, 'full.jsonl');
  if (!existsSync(full)) assert.equal(cli(evalArgs('val.list', 'videos', ['--out', full])).code, 0);
  const fullRecords = parseRecords(readFileSync(full, 'utf8'));
  const shards = [0, 1].map((i) => {
    const out = join(dir, `shard${i}.jsonl`);
    // Shard 1 runs one onnxruntime session (--lanes 1); the full run the default (two sessions on 2 cores or more).
    const r = cli(evalArgs('val.list', 'videos', ['--out', out, '--shard', `${i}/2`, '--json', ...(i === 1 ? ['--lanes', '1'] : [])]));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`3 items \\(videos, .*shard ${i}/2\\)`));
    const records = parseRecords(readFileSync(out, 'utf8'));
    assert.deepEqual(records.map((x) => x.position), i === 0 ? [0, 2, 4] : [1, 3, 5]);
    // The same scores whatever the lanes (the same graph; only how many clips run at once differs).
    for (const rec of records.filter((x) => !x.error)) {
      const ref = fullRecords.find((x) => x.position === rec.position)!;
      assert.deepEqual(rec.top!.map((t) => t.index), ref.top!.map((t) => t.index), `${rec.path}: classes`);
      rec.top!.forEach((t, k) => assert.ok(Math.abs(t.score - ref.top![k]!.score) < 1e-6, `${rec.path}: score ${t.score} vs ${ref.top![k]!.score}`));
    }
    return out;
  });
  const merged = cli(['eval', '--merge', ...shards, '--json']);
  assert.equal(merged.code, 0, merged.stderr);
  const again = cli(['eval', '--merge', full, '--json']);
  assert.deepEqual(lastJson(merged.stdout), lastJson(again.stdout));
  const withModel = cli(evalArgs('val.list', 'videos', ['--out', full, '--json']));
  assert.equal(withModel.code, 0, withModel.stderr);
  // Without -m, names of classes no record mentions are unknown (class_i); with -m the merge is the model's run.
  const mergedNamed = cli(['eval', '--merge', ...shards, '-m', join(dir, 'model'), '--json']);
  assert.equal(mergedNamed.code, 0, mergedNamed.stderr);
  assert.deepEqual(lastJson(mergedNamed.stdout), lastJson(withModel.stdout));
  const { perClass: a, ...restA } = lastJson(merged.stdout);
  const { perClass: b, ...restB } = lastJson(withModel.stdout);
  assert.deepEqual(restA, restB);
  assert.deepEqual(a.map((c: { count: number; correct: number }) => [c.count, c.correct]), b.map((c: { count: number; correct: number }) => [c.count, c.correct]));
  // The re-run skipped every classified item; only the two failed entries were tried again.
  assert.match(withModel.stderr, /4 of 6 items already done, 2 to go/);
  const after = parseRecords(readFileSync(full, 'utf8'));
  assert.deepEqual(after.slice(fullRecords.length).map((x) => Boolean(x.error)), [true, true]);
  assert.deepEqual(after.slice(0, fullRecords.length), fullRecords);
  // Results of another preset never mix in: resuming into this --out, or merging it with another run, is refused.
  const other = cli(evalArgs('val.list', 'videos', ['--out', full, '--segments', '2']));
  assert.equal(other.code, 1, other.stderr);
  assert.match(other.stderr, /full\.jsonl holds results of another run \(\w+ T=3 center keep-ratio, model \S+\), not of this one \(\w+ T=2 center keep-ratio, /);
  assert.match(other.stderr, /another --out/);
  assert.equal(parseRecords(readFileSync(full, 'utf8')).length, after.length, 'the refused run wrote nothing');
  const otherOut = join(dir, 'other-run.jsonl');
  assert.equal(cli(evalArgs('val.list', 'videos', ['--out', otherOut, '--segments', '2', '--shard', '0/2'])).code, 0);
  const mixed = cli(['eval', '--merge', shards[1]!, otherOut, '--json']);
  assert.equal(mixed.code, 1, mixed.stderr);
  assert.match(mixed.stderr, /other-run\.jsonl holds results of another run .*merge only the shards of one evaluation/);
});

test('--sample N --seed S prints true and predicted class names for N random items', () => {
  const a = cli(evalArgs('val_rawframes.list', 'rawframes', ['--sample', '2', '--seed', '7']));
  assert.equal(a.code, 0, a.stderr);
  const lines = a.stdout.trim().split('\n').filter((l) => / true: /.test(l));
  assert.equal(lines.length, 2);
  for (const l of lines) assert.match(l, /^(Archery|Bowling|Diving)\/v_\w+ +true: (Archery|Bowling|Diving) +predicted: (Archery|Bowling|Diving|Fencing|Rowing|Surfing) \(0\.\d{4}\)/);
  const b = cli(evalArgs('val_rawframes.list', 'rawframes', ['--sample', '2', '--seed', '7']));
  assert.deepEqual(b.stdout.trim().split('\n').filter((l) => / true: /.test(l)), lines);
});
