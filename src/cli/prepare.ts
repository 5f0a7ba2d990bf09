/**
 * `pptsn-web prepare`: the tutorial's data preparation (step 2.1.2), PaddleVideo's `data/ucf101/extract_rawframes.py`
 * (`prepare rawframes`) and `build_ucf101_file_list.py` (`prepare lists ucf101`), plus lists for users' own folders
 * of class folders (`prepare lists folders`). The work is in src/node/extractRawframes.ts and prepareLists.ts.
 */
import { PPTSNError } from '../core/errors.js';
import { extractRawframes } from '../node/extractRawframes.js';
import { writeFolderLists, writeUcf101Lists } from '../node/prepareLists.js';
import { oneOf, positiveInt, str, usage, type Command } from './command.js';

const PREPARE_USAGE = [
  'prepare rawframes <videos_dir> -o <rawframes_dir> [--level 1|2] [--ext avi] [--jobs K] [--progress]',
  'prepare lists ucf101 <dataset_dir> [--format rawframes|videos] [--frames <dir>] [--videos <dir>] [--level 1|2] [--split 1|2|3] [-o <dir>]',
  'prepare lists folders <dir> [--format rawframes|videos] [--val-fraction f] [--seed S] [-o <dir>]',
];

const PREPARE_OPTIONS = {
  out: { type: 'string', short: 'o' },
  level: { type: 'string' },
  ext: { type: 'string' },
  jobs: { type: 'string' },
  format: { type: 'string' },
  frames: { type: 'string' },
  videos: { type: 'string' },
  split: { type: 'string' },
  'val-fraction': { type: 'string' },
  seed: { type: 'string' },
} as const;

function level(value: string | boolean | undefined): 1 | 2 {
  const l = oneOf(value, ['1', '2'] as const, '--level');
  return l === '1' ? 1 : 2;
}

export const prepareCommand: Command = {
  name: 'prepare',
  summary: 'prepare a data set as the tutorial does: every frame as JPEGs (rawframes), PaddleVideo list files',
  usage: PREPARE_USAGE,
  details: `prepare rawframes: every decoded frame of every video (<videos_dir>/<Class>/*.avi at --level 2, the default;
<videos_dir>/*.avi at --level 1) as <rawframes_dir>/[<Class>/]<video name>/img_00001.jpg …, as PaddleVideo's
extract_rawframes.py writes them with OpenCV (JPEG quality 95, 4:2:0; frames in display orientation, BT.601 for
untagged video). Resumable: a video's folder appears only once all its frames are written, and an existing folder
is skipped. --jobs K: videos extracted at once and JPEG encoder threads (default 2). A video that fails is reported
and the others go on; the exit status is 1 when any failed. A class folder that stays empty (all its videos
failed) is removed, so that 'prepare lists folders' takes the rest.
prepare lists ucf101: ucf101_{train,val}_split_{n}_{format}.txt in -o (default <dataset_dir>), byte for byte as
PaddleVideo's build_ucf101_file_list.py writes them, from <dataset_dir>/annotations/ (classInd.txt, trainlist0N.txt,
testlist0N.txt, CRLF or not) and the frames (--frames, default <dataset_dir>/rawframes) or videos (--videos, default
<dataset_dir>/videos): absolute paths, rawframes "dir count label", videos "path label" without the extension (give
eval and train --suffix .avi). --split n writes split n only (default: 1, 2 and 3).
prepare lists folders: train_{format}.txt, val_{format}.txt and labels.txt ("0 name" a line) in -o (default <dir>)
from <dir>/<Class>/<video or frames folder>; --val-fraction of each class (default 0.2) goes to val, shuffled
with --seed (default 0).`,
  options: PREPARE_OPTIONS,
  progress: true,
  async run({ values, positionals }, { log, progress }) {
    const [what, ...rest] = positionals;
    const format = oneOf(values.format, ['rawframes', 'videos'] as const, '--format');
    const out = str(values.out);
    if (what === 'rawframes') {
      if (rest.length !== 1) usage('prepare rawframes takes one videos folder');
      if (!out) usage('prepare rawframes needs -o <rawframes_dir>');
      const ext = (str(values.ext) ?? 'avi').replace(/^\./, '');
      const jobs = positiveInt(values.jobs, '--jobs');
      const summary = await extractRawframes({ videosDir: rest[0]!, outDir: out, level: level(values.level), ext, ...(jobs ? { jobs } : {}), log, progress });
      if (summary.videos === 0) throw new PPTSNError('invalid-argument', `no *.${ext} video in ${rest[0]}${level(values.level) === 2 ? '/<Class>/' : ''} (--level ${level(values.level)}, --ext ${ext})`);
      process.stdout.write(`[prepare] ${summary.videos} videos: ${summary.extracted} extracted (${summary.frames} frames), ${summary.skipped} already complete, ${summary.failed.length} failed\n`);
      for (const f of summary.failed) process.stdout.write(`  failed: ${f.path}: ${f.message}\n`);
      if (summary.removedEmptyClasses.length) process.stdout.write(`  empty class folders removed (no video gave frames): ${summary.removedEmptyClasses.join(', ')}\n`);
      if (summary.failed.length) process.exitCode = 1;
      return;
    }
    if (what !== 'lists' || (rest[0] !== 'ucf101' && rest[0] !== 'folders')) usage('prepare takes "rawframes <videos_dir>", "lists ucf101 <dataset_dir>" or "lists folders <dir>"');
    if (rest.length !== 2) usage(`prepare lists ${rest[0]} takes one folder`);
    if (rest[0] === 'ucf101') {
      const split = oneOf(values.split, ['1', '2', '3'] as const, '--split');
      const frames = str(values.frames);
      const videos = str(values.videos);
      await writeUcf101Lists({
        datasetDir: rest[1]!, format: format ?? 'rawframes', level: level(values.level),
        ...(frames ? { framesDir: frames } : {}), ...(videos ? { videosDir: videos } : {}), ...(split ? { splits: [Number(split)] } : {}), ...(out ? { outDir: out } : {}), log,
      });
      return;
    }
    const fractionText = str(values['val-fraction']);
    const valFraction = fractionText === undefined ? undefined : Number(fractionText);
    if (valFraction !== undefined && !(valFraction >= 0 && valFraction < 1)) usage(`--val-fraction must be a number in [0, 1), got "${fractionText}"`);
    const seedText = str(values.seed);
    const seed = seedText === undefined ? undefined : Number(seedText);
    if (seed !== undefined && !Number.isInteger(seed)) usage(`--seed must be an integer, got "${seedText}"`);
    await writeFolderLists({ dir: rest[1]!, ...(format ? { format } : {}), ...(valFraction !== undefined ? { valFraction } : {}), ...(seed !== undefined ? { seed } : {}), ...(out ? { outDir: out } : {}), log });
  },
};
