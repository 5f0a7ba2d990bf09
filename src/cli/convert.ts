/** `pptsn-web convert <in.pdparams|in.pdiparams> -o <dir> [--labels …] [--dtype float32|float16] [--teacher]` */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { PPTSNError } from '../core/errors.js';
import { describeDistillationPick, type DistillationPart } from '../core/formats/distillation.js';
import { loadWeightFile } from '../core/formats/load.js';
import { writeModelJson } from '../core/formats/modelJson.js';
import { loadLabels } from '../node/labels.js';
import { writeModelDir } from '../node/modelDir.js';
import { oneOf, str, usage, type Command } from './command.js';
import { progressMeter } from './progress.js';

export interface ConvertOptions {
  input: string;
  outDir: string;
  labels?: string;
  dtype?: 'float32' | 'float16';
  /**
   * Which model of a distillation checkpoint to convert (default the student; `teacher` is refused for a file
   * that has none). Files of one model ignore the default.
   */
  part?: DistillationPart;
  /** A known SHA-256 of the input (e.g. from the download) to record instead of hashing again. */
  log?: (line: string) => void;
  /** Draw a step meter (read → parse → write) on stderr. */
  progress?: boolean;
}

export interface ConvertResult {
  depth: number;
  numClasses: number;
  sha256: string;
  shards: number;
  bytes: number;
}

async function readInput(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

const STEPS = ['reading', 'parsing', 'writing', 'done'] as const;

export async function convert(options: ConvertOptions): Promise<ConvertResult> {
  const meter = options.progress ? progressMeter(`converting ${basename(options.input)}`, (d) => `${STEPS[d]}`) : undefined;
  meter?.(0, 3);
  const bytes = await readInput(options.input);
  meter?.(1, 3);
  // A .pdiparams' parameter names may come from the .pdiparams.info pickle saved beside it.
  let info: Uint8Array | undefined;
  if (options.input.endsWith('.pdiparams')) info = await readFile(`${options.input}.info`).then((b) => new Uint8Array(b), () => undefined);
  const loaded = await loadWeightFile(bytes, { fileName: basename(options.input), ...(info ? { info } : {}), ...(options.part ? { part: options.part } : {}) });
  const labels = options.labels ? await loadLabels(options.labels) : undefined;
  if (labels && labels.length !== loaded.numClasses) {
    throw new PPTSNError('invalid-argument', `${options.labels}: ${labels.length} labels, but the model has ${loaded.numClasses} classes`);
  }
  const model = writeModelJson(loaded.stateDict, {
    ...(labels ? { labels } : {}),
    source: loaded.source,
    dtype: options.dtype ?? 'float32',
  });
  meter?.(2, 3);
  await writeModelDir(options.outDir, model);
  meter?.(3, 3);
  const result = {
    depth: loaded.depth,
    numClasses: loaded.numClasses,
    sha256: loaded.source.sha256,
    shards: model.shards.length,
    bytes: model.shards.reduce((a, s) => a + s.data.byteLength, 0),
  };
  if (loaded.distillation) options.log?.(describeDistillationPick(basename(options.input), loaded.distillation));
  if (loaded.checkpointKey) options.log?.(`${basename(options.input)} is a training checkpoint: using the state dict under '${loaded.checkpointKey}'`);
  options.log?.(`converted ${basename(options.input)} (ResNet${result.depth}-vd, ${result.numClasses} classes, sha256 ${result.sha256.slice(0, 12)}…) → ${options.outDir}/model.json + ${result.shards} shard(s), ${(result.bytes / 1048576).toFixed(1)} MB ${options.dtype ?? 'float32'}`);
  return result;
}

export const convertCommand: Command = {
  name: 'convert',
  summary: 'convert a PaddleVideo .pdparams/.pdiparams to a TensorFlow.js model folder',
  usage: ['convert <in.pdparams|in.pdiparams> -o <dir> [--labels kinetics400|ucf101|<file>] [--dtype float32|float16] [--teacher] [--progress]'],
  details: `Infers depth (18–200) and classes, checks every shape, and writes model.json + ≤ 4 MB shards.
The pickle reader executes nothing and refuses any global PaddleVideo's files do not use.
A distillation checkpoint (RecognizerDistillation's Student.…/Teacher.… keys, or a _best_student.pdparams'
0.…/1.… keys) converts its student in Recognizer2D layout; --teacher converts its teacher instead.`,
  options: {
    out: { type: 'string', short: 'o' },
    labels: { type: 'string' },
    dtype: { type: 'string' },
    teacher: { type: 'boolean' },
  },
  progress: true,
  async run({ values, positionals }, { log, progress }) {
    if (positionals.length !== 1) usage('convert takes one weight file');
    const outDir = str(values.out) ?? usage('convert needs -o <dir>');
    const dtype = oneOf(values.dtype, ['float32', 'float16'] as const, '--dtype');
    const labels = str(values.labels);
    await convert({ input: positionals[0]!, outDir, ...(labels ? { labels } : {}), ...(dtype ? { dtype } : {}), ...(values.teacher ? { part: 'teacher' as const } : {}), log, progress });
  },
};
