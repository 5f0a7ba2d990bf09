/**
 * README's "The tutorial in seven commands", run as written (`npx pptsn-web` → this checkout's CLI) in a folder
 * holding a small UCF101-layout set made here: XviD AVIs of two classes in class folders, `classInd.txt` and the
 * split files with UCF101's CRLF line ends. Step 3 fetches the ImageNet backbone from a local server standing in for
 * PaddleVideo's host (the one change to the line: `--url`), a seeded ResNet50-vd under PaddleClas's names.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededStateDict } from '../helpers/seeded.js';
import { writePdparamsRaw } from '../../src/core/formats/pdparamsWriter.js';
import { readPdparams } from '../../src/core/formats/pdparams.js';
import type { ShapedData } from '../../src/core/formats/validate.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
/** tsx resolved from this checkout: the commands run in the data set's folder, where `--import tsx` finds nothing. */
const TSX = import.meta.resolve('tsx');
const CLASSES = [{ name: 'ApplyEyeMakeup', colour: 'red' }, { name: 'Archery', colour: 'blue' }];
let dir: string;
let server: Server;
let backbone: Uint8Array;

/** The seven lines of README's block. */
function tutorialLines(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('## The tutorial in seven commands');
  assert.ok(at >= 0, 'README has "The tutorial in seven commands"');
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, 'a ```sh block follows it');
  const lines = m[1]!.trim().split('\n');
  assert.equal(lines.length, 7, 'seven commands');
  for (const l of lines) assert.match(l, /^npx pptsn-web /);
  return lines;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pptsn-tutorial-'));
  const ann = join(dir, 'ucf101/annotations');
  mkdirSync(ann, { recursive: true });
  const trainlist: string[] = [];
  const testlist: string[] = [];
  CLASSES.forEach((c, k) => {
    const folder = join(dir, 'ucf101/videos', c.name);
    mkdirSync(folder, { recursive: true });
    for (let g = 1; g <= 6; g++) {
      const name = `v_${c.name}_g${String(g).padStart(2, '0')}_c01.avi`;
      const r = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `color=c=${c.colour}:s=160x120:r=25:d=0.48,noise=alls=${15 + 4 * g}:allf=t`, '-c:v', 'mpeg4', '-vtag', 'XVID', '-q:v', '4', join(folder, name)]);
      assert.equal(r.status, 0, String(r.stderr));
      if (g <= 4) trainlist.push(`${c.name}/${name} ${k + 1}`);
      else testlist.push(`${c.name}/${name}`);
    }
  });
  writeFileSync(join(ann, 'classInd.txt'), CLASSES.map((c, i) => `${i + 1} ${c.name}\r\n`).join(''));
  writeFileSync(join(ann, 'trainlist01.txt'), trainlist.map((l) => l + '\r\n').join(''));
  writeFileSync(join(ann, 'testlist01.txt'), testlist.map((l) => l + '\r\n').join(''));
  // PaddleClas's old ResNet_vd names (the file PaddleVideo's configs name): no `backbone.` prefix, FC `out.*`.
  const sd = seededStateDict(50, 1000, 5);
  const file = new Map<string, ShapedData>();
  for (const [k, v] of sd) file.set(k.startsWith('head.fc.') ? k.replace('head.fc.', 'out.') : k.slice('backbone.'.length), v);
  backbone = writePdparamsRaw(file);
  server = createServer((req, res) => {
    if (req.url !== '/PaddleVideo/PretrainModel/ResNet50_vd_ssld_v2_pretrained.pdparams') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(backbone.length) }).end(Buffer.from(backbone));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a command without blocking this process's event loop (the local server answers from it). */
function run(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test("README's seven tutorial commands run as written on a UCF101-layout set", async () => {
  const port = (server.address() as AddressInfo).port;
  const outputs: string[] = [];
  for (const line of tutorialLines()) {
    const args = line.replace(/^npx pptsn-web /, '').split(/\s+/);
    if (args[0] === 'download') args.push('--url', `http://127.0.0.1:${port}/PaddleVideo/PretrainModel/ResNet50_vd_ssld_v2_pretrained.pdparams`);
    const r = await run(args, dir);
    assert.equal(r.code, 0, `${line}\n${r.stderr}`);
    outputs.push(r.stdout + r.stderr);
  }
  // 1: one folder per video, every frame (0.48 s at 25 fps = 12 frames).
  assert.equal(readdirSync(join(dir, 'ucf101/rawframes/Archery/v_Archery_g01_c01')).filter((f) => /^img_\d{5}\.jpg$/.test(f)).length, 12);
  // 2: PaddleVideo's list lines (absolute folder, count, 0-based label).
  const train = readFileSync(join(dir, 'ucf101/ucf101_train_split_1_rawframes.txt'), 'utf8').trim().split('\n');
  assert.equal(train.length, 8);
  assert.ok(train.includes(`${join(dir, 'ucf101/rawframes')}/Archery/v_Archery_g01_c01 12 1`), train.join('\n'));
  // 3: the backbone as served.
  assert.ok(Buffer.from(readFileSync(join(dir, 'weights/ResNet50_vd_ssld_v2_pretrained.pdparams'))).equals(Buffer.from(backbone)));
  // 4: PaddleVideo's files, a log line per iteration (8 clips, batch 8: one a epoch).
  for (const f of ['ppTSN_best.pdparams', 'ppTSN_epoch_00001.pdparams', 'ppTSN_epoch_00010.pdparams', 'model/model.json']) assert.ok(existsSync(join(dir, 'runs/ucf101', f)), f);
  assert.equal(readFileSync(join(dir, 'runs/ucf101/log.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"iter"')).length, 10);
  // 5: one record per validation clip; 6: the inference demo names true and predicted classes.
  assert.equal(readFileSync(join(dir, 'runs/ucf101/val.jsonl'), 'utf8').trim().split('\n').filter((l) => l.includes('"path"')).length, 4);
  assert.match(outputs[5]!, /ApplyEyeMakeup|Archery/);
  // 7: a Recognizer2D state dict of ResNet50 with the two classes.
  const exported = readPdparams(new Uint8Array(readFileSync(join(dir, 'runs/ucf101/ppTSN_ucf101.pdparams'))), 'ppTSN_ucf101.pdparams');
  assert.equal(exported.depth, 50);
  assert.equal(exported.numClasses, 2);
});
