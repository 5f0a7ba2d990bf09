/**
 * `pptsn-web prepare lists`: PaddleVideo list files from a data set on disk.
 * - `ucf101`: PaddleVideo's `data/ucf101/build_ucf101_file_list.py`, byte for byte for the same folders:
 *   `ucf101_{train,val}_split_{n}_{format}.txt`, each line `os.path.join(abspath(root), item)` with item
 *   `Class/v_name count label` (rawframes) or `Class/v_name label` (videos: without the extension; the dataset
 *   config adds `suffix: '.avi'`, `--suffix .avi` here). Labels from `classInd.txt` (1-based ids − 1); split entries
 *   whose folder or video is not there are left out, as the script leaves them out (here they are counted in the log).
 * - `folders`: a folder of class folders (users' own data) → `train_{format}.txt`, `val_{format}.txt` (a seeded,
 *   per-class split) and `labels.txt` (`0 name` a line, PaddleVideo's Kinetics-style label file).
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseClassInd } from '../core/dataset/ucf101.js';
import type { ListFormat } from '../core/dataset/lists.js';
import { PPTSNError } from '../core/errors.js';
import { mulberry32 } from '../core/random.js';
import { VIDEO_EXTENSIONS } from './datasetList.js';
import { countFrameFiles } from './rawframes.js';

async function visibleEntries(dir: string): Promise<{ name: string; dir: boolean }[]> {
  const list = await readdir(dir, { withFileTypes: true });
  return list.filter((e) => !e.name.startsWith('.')).map((e) => ({ name: e.name, dir: e.isDirectory() })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function listDir(dir: string, what: string): Promise<{ name: string; dir: boolean }[]> {
  try {
    return await visibleEntries(dir);
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot list the ${what} ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}: <dataset_dir>/annotations/ must hold UCF101's classInd.txt, trainlist01-03.txt and testlist01-03.txt (UCF101TrainTestSplits-RecognitionTask.zip)`);
  }
}

/**
 * The script's `frame_info`: key (`Class/v_name` at level 2, `v_name` at level 1) → frame count, or −1 for videos.
 * Rawframes: the count is `len(fnmatch.filter(os.listdir(dir), 'i*'))`: the script passes the string 'img_' where
 * it meant a tuple of prefixes, so it counts the names starting with 'i' (the `img_` files in practice).
 * Videos: the key is the path relative to the root up to its first '.' (`x.split('.')[0]`).
 */
async function scanFrameInfo(root: string, format: ListFormat, level: 1 | 2): Promise<Map<string, number>> {
  const info = new Map<string, number>();
  const top = await listDir(root, format === 'rawframes' ? 'frames folder' : 'videos folder');
  const found: { rel: string; dir: boolean }[] = [];
  if (level === 1) found.push(...top.map((e) => ({ rel: e.name, dir: e.dir })));
  else for (const c of top.filter((e) => e.dir)) found.push(...(await visibleEntries(join(root, c.name))).map((e) => ({ rel: `${c.name}/${e.name}`, dir: e.dir })));
  for (const f of found) {
    if (format === 'videos') info.set(f.rel.split('.')[0]!, -1);
    else if (f.dir) info.set(f.rel, (await readdir(join(root, f.rel))).filter((n) => n.startsWith('i')).length);
  }
  return info;
}

export interface Ucf101ListsOptions {
  /** Holds `annotations/` (classInd.txt, trainlist0N.txt, testlist0N.txt). */
  datasetDir: string;
  format: ListFormat;
  /** Rawframes root (default `<datasetDir>/rawframes`). */
  framesDir?: string;
  /** Videos root (default `<datasetDir>/videos`). */
  videosDir?: string;
  level: 1 | 2;
  /** Splits to write (default 1, 2, 3: the script writes all three). */
  splits?: number[];
  /** Where the lists go (default `datasetDir`). */
  outDir?: string;
  log: (line: string) => void;
}

/** Writes the split lists; resolves to the files written. Errors: 'invalid-argument' naming the file or line. */
export async function writeUcf101Lists(o: Ucf101ListsOptions): Promise<string[]> {
  const ann = join(o.datasetDir, 'annotations');
  const classIndPath = join(ann, 'classInd.txt');
  const classMap = parseClassInd(await readText(classIndPath, 'UCF101\'s'), classIndPath);
  const root = o.format === 'rawframes' ? o.framesDir ?? join(o.datasetDir, 'rawframes') : o.videosDir ?? join(o.datasetDir, 'videos');
  const frameInfo = await scanFrameInfo(root, o.format, o.level);
  const PATH = resolve(root); // os.path.abspath: absolute, normalised, symlinks kept
  const outDir = o.outDir ?? o.datasetDir;
  // `-o` may name a folder that does not exist yet, as `prepare rawframes -o` and `train -o` may.
  await mkdir(outDir, { recursive: true });
  const files: string[] = [];
  for (const n of o.splits ?? [1, 2, 3]) {
    for (const [set, name] of [['train', 'trainlist'], ['val', 'testlist']] as const) {
      const splitPath = join(ann, `${name}${String(n).padStart(2, '0')}.txt`);
      const out: string[] = [];
      let missing = 0;
      (await readText(splitPath, 'UCF101\'s')).split('\n').forEach((raw, i) => {
        const line = raw.trim(); // `line.strip()`: CRLF files read right
        if (!line) return;
        const first = line.split(' ')[0]!;
        const vid = first.split('.')[0]!.split('/').slice(-o.level).join('/');
        const label = classMap.get(first.split('/')[0]!);
        if (label === undefined) throw new PPTSNError('invalid-argument', `${splitPath} line ${i + 1}: class folder "${first.split('/')[0]}" is not in ${classIndPath}`);
        const count = frameInfo.get(vid);
        if (count === undefined) return void missing++;
        out.push(`${PATH === '/' ? '' : PATH}/${count > 0 ? `${vid} ${count} ${label}` : `${vid} ${label}`}\n`);
      });
      const file = join(outDir, `ucf101_${set}_split_${n}_${o.format}.txt`);
      await writeFile(file, out.join(''));
      files.push(file);
      o.log(`[prepare] ${file}: ${out.length} lines${missing ? ` (${missing} entries of ${name}${String(n).padStart(2, '0')}.txt have no ${o.format === 'rawframes' ? 'frames folder' : 'video'} under ${root}: left out, as the script does)` : ''}`);
    }
  }
  return files;
}

export interface FolderListsOptions {
  /** A folder of class folders, each holding videos or rawframes folders. */
  dir: string;
  /** Default: rawframes when the first class folder holds folders, else videos. */
  format?: ListFormat;
  /** Fraction of each class's items for validation (default 0.2). */
  valFraction?: number;
  seed?: number;
  outDir?: string;
  log: (line: string) => void;
}

/**
 * Lists from a folder of class folders: classes in name order (labels 0…), each class's items split into train and
 * val with a seeded shuffle (each class keeps ≥ 1 training item; one with ≥ 2 items gives ≥ 1 to validation when
 * the fraction is above 0). Absolute paths; videos keep their extension (no `--suffix` needed).
 */
export async function writeFolderLists(o: FolderListsOptions): Promise<string[]> {
  const classes = (await listDir(o.dir, 'folder of class folders')).filter((e) => e.dir).map((e) => e.name);
  if (classes.length === 0) throw new PPTSNError('invalid-argument', `${o.dir} has no class folders: expected <dir>/<ClassName>/<video or frames folder>`);
  const root = resolve(o.dir);
  let format = o.format;
  const fraction = o.valFraction ?? 0.2;
  const rng = mulberry32(o.seed ?? 0);
  const train: string[] = [];
  const val: string[] = [];
  for (const [label, cls] of classes.entries()) {
    const found = await visibleEntries(join(o.dir, cls));
    format ??= found.some((e) => e.dir) ? 'rawframes' : 'videos';
    const items: string[] = [];
    for (const e of found) {
      if (format === 'rawframes' && e.dir) {
        const count = await countFrameFiles(join(o.dir, cls, e.name));
        if (count > 0) items.push(`${root}/${cls}/${e.name} ${count} ${label}`);
        else o.log(`[prepare] ${join(o.dir, cls, e.name)}: no img_*.jpg frames, left out`);
      } else if (format === 'videos' && !e.dir && VIDEO_EXTENSIONS.some((x) => e.name.toLowerCase().endsWith(x))) items.push(`${root}/${cls}/${e.name} ${label}`);
    }
    if (items.length === 0) throw new PPTSNError('invalid-argument', `${join(o.dir, cls)} holds no ${format === 'rawframes' ? 'rawframes folders' : `videos (${VIDEO_EXTENSIONS.join(' ')})`}: every class needs at least one`);
    const order = items.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const k = Math.floor(rng() * (i + 1));
      [order[i], order[k]] = [order[k]!, order[i]!];
    }
    const nVal = fraction > 0 && items.length >= 2 ? Math.min(items.length - 1, Math.max(1, Math.round(items.length * fraction))) : 0;
    const inVal = new Set(order.slice(0, nVal));
    items.forEach((l, i) => (inVal.has(i) ? val : train).push(l));
  }
  const outDir = o.outDir ?? o.dir;
  await mkdir(outDir, { recursive: true });
  const files = [join(outDir, `train_${format}.txt`), join(outDir, 'labels.txt')];
  await writeFile(files[0]!, train.map((l) => l + '\n').join(''));
  await writeFile(files[1]!, classes.map((c, i) => `${i} ${c}\n`).join(''));
  if (val.length) {
    files.splice(1, 0, join(outDir, `val_${format}.txt`));
    await writeFile(files[1]!, val.map((l) => l + '\n').join(''));
  }
  o.log(`[prepare] ${classes.length} classes (${format}): ${train.length} train, ${val.length} val items (fraction ${fraction}, seed ${o.seed ?? 0}) → ${files.join(', ')}`);
  return files;
}
