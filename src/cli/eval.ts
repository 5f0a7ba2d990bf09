/**
 * `pptsn-web eval <list> -m <dir>`: PaddleVideo's evaluation step (tutorial 2.5) and inference demo (2.6) on a
 * videos or rawframes list. One JSON line per item in `--out` (resumable: a re-run skips the positions already
 * classified there), progress with rate and ETA on stderr, the summary as PaddleVideo's metrics. `--shard i/n`
 * takes positions p with p % n == i; `eval --merge a.jsonl b.jsonl …` sums shards into the same summary.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseShard, shardEntries, type ListFormat } from '../core/dataset/lists.js';
import { PPTSNError } from '../core/errors.js';
import { checkSameRun, confusionCsv, mergeRecords, parseRecords, summarize, summaryLine, type EvalRecord, type EvalSummary } from '../core/eval/metrics.js';
import { defaultLabels } from '../core/labels.js';
import { mulberry32 } from '../core/random.js';
import { resolveCallOptions } from '../core/classify/defaults.js';
import { readDatasetList } from '../node/datasetList.js';
import { evaluateJobs, type EvalJob } from '../node/evaluate.js';
import { DECODERS, describeDecoder, type DecoderChoice } from '../node/frames.js';
import { loadLabels } from '../node/labels.js';
import { readModelDir } from '../node/modelDir.js';
import { createNodeRunner, evalLanes, NODE_RUNNERS, type NodeRunner, type NodeRunnerChoice } from '../node/runtime.js';
import { oneOf, positiveInt, str, usage, type Command } from './command.js';

const EVAL_USAGE = [
  'eval <list> -m <dir> [--root D] [--suffix .avi] [--class-ind F] [--format videos|rawframes] [--preset fast|accurate] [--segments T] [--out results.jsonl] [--shard i/n] [--confusion cm.csv] [--sample N [--seed S]] [--json] [--backend auto|onnx|wasm|cpu] [--decoder auto|ffmpeg|wasm] [--prefetch K] [--lanes L]',
  'eval --merge a.jsonl b.jsonl … [-m <dir> | --labels <file>] [--confusion cm.csv] [--json]',
];

const EVAL_OPTIONS = {
  model: { type: 'string', short: 'm' },
  labels: { type: 'string' },
  out: { type: 'string', short: 'o' },
  json: { type: 'boolean' },
  preset: { type: 'string' },
  segments: { type: 'string' },
  backend: { type: 'string' },
  root: { type: 'string' },
  suffix: { type: 'string' },
  'class-ind': { type: 'string' },
  format: { type: 'string' },
  shard: { type: 'string' },
  merge: { type: 'boolean' },
  confusion: { type: 'string' },
  sample: { type: 'string' },
  seed: { type: 'string' },
  prefetch: { type: 'string' },
  lanes: { type: 'string' },
  decoder: { type: 'string' },
} as const;

export interface EvalCliOptions {
  list?: string;
  merge?: string[];
  modelDir?: string;
  labels?: string;
  root?: string;
  /** PaddleVideo's dataset suffix (`.avi` for build_ucf101_file_list.py's videos lists). */
  suffix?: string;
  /** UCF101's classInd.txt for a split file given as the list (default: next to it). */
  classInd?: string;
  format?: ListFormat;
  preset?: 'fast' | 'accurate';
  segments?: number;
  out?: string;
  shard?: string;
  confusion?: string;
  sample?: number;
  seed?: number;
  json?: boolean;
  /** `auto` (default): onnxruntime-node when installed, else tfjs wasm (src/node/runtime.ts). */
  backend?: NodeRunnerChoice;
  prefetch?: number;
  /** onnx: clips classified at once, each on its own session (default `evalLanes()`: 2 with two cores or more). */
  lanes?: number;
  decoder?: DecoderChoice;
  /** Images per backbone call (default: the runner's, as classify). */
  chunkSize?: number;
  /** stdout / stderr writers (tests and embedding). */
  print?: (line: string) => void;
  log?: (text: string) => void;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return `${h ? `${h}:` : ''}${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

/** The human summary: PaddleVideo's metrics line, per-class accuracy, failures. */
export function formatSummary(s: EvalSummary): string {
  const lines = [`[eval] top-1 ${pct(s.top1)}  top-5 ${pct(s.top5)}  over ${s.count} items${s.failed ? `, ${s.failed} failed` : ''}`];
  for (const c of s.perClass) if (c.count) lines.push(`  ${String(c.index).padStart(4)}  ${c.label.padEnd(28)} ${pct(c.top1 ?? 0).padStart(7)}  (${c.correct}/${c.count})`);
  for (const f of s.failures) lines.push(`  failed: ${f.path}: ${f.message}`);
  return lines.join('\n');
}

/** Labels for merged records without a model: names seen in the records' top classes, `class_i` otherwise. */
function labelsFromRecords(records: readonly EvalRecord[]): string[] {
  const names = new Map<number, string>();
  let n = 0;
  for (const r of records) {
    n = Math.max(n, r.label + 1, r.classes ?? 0);
    if (r.labelName !== undefined && r.label >= 0) names.set(r.label, r.labelName);
    for (const p of r.top ?? []) {
      names.set(p.index, p.label);
      n = Math.max(n, p.index + 1);
    }
  }
  return Array.from({ length: n }, (_, i) => names.get(i) ?? `class_${i}`);
}

async function report(records: EvalRecord[], labels: readonly string[], o: EvalCliOptions, print: (l: string) => void, log: (t: string) => void): Promise<EvalSummary> {
  const summary = summarize(records, labels);
  if (o.confusion) await writeFile(o.confusion, confusionCsv(summary, labels));
  // With --json stdout's last line is the summary; the human form goes to stderr.
  if (o.json) {
    log(formatSummary(summary) + '\n');
    print(JSON.stringify(summaryLine(summary)));
  } else print(formatSummary(summary));
  return summary;
}

/** `eval --merge`: shard result files → one summary. */
async function mergeFiles(o: EvalCliOptions, print: (l: string) => void, log: (t: string) => void): Promise<EvalSummary> {
  const runs = await Promise.all(o.merge!.map(async (f) => parseRecords(await readText(f, 'results file'), f)));
  // Shards of one evaluation only: every file's records must come from the same run as the first file's.
  const first = runs.flat().find((r) => r.run !== undefined)?.run;
  if (first) runs.forEach((records, i) => checkSameRun(records, first, o.merge![i]!, `merge only the shards of one evaluation (${o.merge![0]!} is ${first})`));
  const records = mergeRecords(runs);
  let labels: string[];
  if (o.labels) labels = await loadLabels(o.labels);
  else if (o.modelDir) {
    const m = await readModelDir(o.modelDir);
    labels = m.labels.length ? m.labels : defaultLabels(m.numClasses);
  } else labels = labelsFromRecords(records);
  log(`[eval] merged ${o.merge!.length} files: ${records.length} items\n`);
  return report(records, labels, o, print, log);
}

/** Runs `eval`; resolves to the summary (what `--json` prints). */
export async function runEval(o: EvalCliOptions): Promise<EvalSummary> {
  const print = o.print ?? ((l: string) => process.stdout.write(l + '\n'));
  const log = o.log ?? ((t: string) => process.stderr.write(t));
  if (o.merge) return mergeFiles(o, print, log);
  if (!o.list) throw new PPTSNError('invalid-argument', 'eval needs a list file');
  if (!o.modelDir) throw new PPTSNError('invalid-argument', 'eval needs -m <model dir>');
  const loaded = await readModelDir(o.modelDir);
  const labels = o.labels ? await loadLabels(o.labels) : loaded.labels.length ? loaded.labels : defaultLabels(loaded.numClasses);
  if (labels.length !== loaded.numClasses) throw new PPTSNError('invalid-argument', `${o.labels}: ${labels.length} labels, but the model has ${loaded.numClasses} classes`);
  const list = await readDatasetList(o.list, { numClasses: loaded.numClasses, labels, ...(o.root ? { root: o.root } : {}), ...(o.suffix ? { suffix: o.suffix } : {}), ...(o.classInd ? { classInd: o.classInd } : {}), ...(o.format ? { format: o.format } : {}) });
  for (const note of list.notes) log(`[eval] ${note}\n`);
  const { index, count } = o.shard ? parseShard(o.shard) : { index: 0, count: 1 };
  let jobs: EvalJob[] = shardEntries(list.entries, index, count);
  const inShard = new Set(jobs.map((j) => j.position));
  if (o.sample !== undefined) {
    // The tutorial's inference step: N random entries (seeded, so a run can be repeated).
    const rng = mulberry32(o.seed ?? 0);
    const pool = jobs.filter((j) => j.entry.item);
    for (let i = pool.length - 1; i > 0; i--) {
      const k = Math.floor(rng() * (i + 1));
      [pool[i], pool[k]] = [pool[k]!, pool[i]!];
    }
    jobs = pool.slice(0, o.sample);
  }
  // The model's preset unless --preset says otherwise: the same defaults as classify and the page (core/classify/defaults.ts).
  const config = resolveCallOptions({ ...(o.preset ? { preset: o.preset } : {}), ...(o.segments ? { segments: o.segments } : {}) }, { preset: loaded.meta.preset, labels }).preprocess;
  // What made these records: a resumed --out or a merge must not mix presets or models.
  const run = `${config.preset} T=${config.segments} ${config.crops} ${config.scale}, model ${loaded.meta.source?.sha256.slice(0, 16) ?? basename(o.modelDir)}`;
  // Resume: positions already classified in --out are skipped (failed ones are tried again).
  let previous: EvalRecord[] = [];
  if (o.out) {
    const text = await readFile(o.out, 'utf8').catch(() => '');
    // Only this shard's entries count, matched by position and path (a results file of another shard or of an
    // edited list cannot mix in).
    const keyOf = (position: number, path: string) => `${position}\t${path}`;
    const entryKeys = new Set(jobs.map((j) => keyOf(j.position, j.entry.item?.relPath ?? j.entry.problem!.text)));
    previous = parseRecords(text, o.out).filter((r) => inShard.has(r.position) && entryKeys.has(keyOf(r.position, r.path)));
    checkSameRun(previous, run, o.out, 'give this run another --out, or delete the file to start over');
    const done = new Set(previous.filter((r) => !r.error).map((r) => r.position));
    const before = jobs.length;
    jobs = jobs.filter((j) => !done.has(j.position));
    if (before !== jobs.length) log(`[eval] ${o.out}: ${before - jobs.length} of ${before} items already done, ${jobs.length} to go\n`);
    // A torn last line of an interrupted run: start the next record on a fresh line.
    if (text && !text.endsWith('\n')) await appendFile(o.out, '\n');
  }
  let runner: NodeRunner | undefined;
  if (jobs.some((j) => j.entry.item)) {
    runner = await createNodeRunner(o.modelDir, o.backend ?? 'auto', { lanes: o.lanes ?? evalLanes() });
    for (const note of runner.notes) log(`[eval] ${note}\n`);
    log(`[eval] ${jobs.length} items (${list.format}, ${config.preset} preset, T = ${config.segments}${count > 1 ? `, shard ${index}/${count}` : ''}) on ${runner.description}\n`);
    if (list.format === 'videos') log(`[eval] ${describeDecoder(o.decoder)}\n`);
  }
  const tty = process.stderr.isTTY || process.env['PPTSN_PROGRESS'] === '1';
  const every = Math.max(1, Math.floor(jobs.length / 20));
  const t0 = performance.now();
  let done = 0;
  let fresh: EvalRecord[] = [];
  try {
    fresh = runner ? await evaluateJobs(runner.network, jobs, list.format, {
      config,
      labels,
      chunkSize: o.chunkSize ?? runner.chunkSize,
      ...(o.prefetch !== undefined ? { prefetch: o.prefetch } : {}),
      lanes: runner.lanes,
      ...(o.decoder ? { decoder: o.decoder } : {}),
      onRecord: async (r) => {
        if (o.out) await appendFile(o.out, JSON.stringify({ ...r, run }) + '\n');
        done++;
        if (o.sample !== undefined) {
          const truth = labels[r.label] ?? `class_${r.label}`;
          print(r.error ? `${r.path}  true: ${truth}  failed: ${r.error.message}` : `${r.path}  true: ${truth}  predicted: ${r.top![0]!.label} (${r.top![0]!.score.toFixed(4)})${r.top![0]!.index === r.label ? '' : '  ✗'}`);
        }
        if (tty || done % every === 0 || done === jobs.length) {
          const s = (performance.now() - t0) / 1000;
          const rate = done / s;
          const line = `[eval] ${done}/${jobs.length}  ${rate.toFixed(2)} items/s  ETA ${fmtTime((jobs.length - done) / rate)}`;
          log(tty ? `\r${line}${done === jobs.length ? '\n' : ''}` : `${line}\n`);
        }
      },
    }) : jobs.map((j) => ({ position: j.position, line: j.entry.problem!.line, path: j.entry.problem!.text, label: -1, error: { code: 'invalid-argument', message: j.entry.problem!.message } }));
    if (!runner && o.out) for (const r of fresh) await appendFile(o.out, JSON.stringify(r) + '\n');
  } finally {
    await runner?.dispose();
  }
  // --sample reports on the sampled items only.
  return report(o.sample !== undefined ? fresh : mergeRecords([previous, fresh]), labels, o, print, log);
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a model on a PaddleVideo list (top-1/top-5, per class, confusion), resumable and sharded',
  usage: EVAL_USAGE,
  details: `One JSON line per item goes to --out (a re-run with the same --out skips what is done); progress with rate and
ETA on stderr; the summary as PaddleVideo's metrics on stdout (--json: one JSON line, {"count", "top1", "top5",
"perClass", "failed"}, fractions 0–1). --shard i/n takes the items at 0-based positions p with p % n == i;
--merge combines the shards' --out files into the same summary. --sample N [--seed S] is the tutorial's inference
step: N random items, true and predicted class. --suffix is PaddleVideo's dataset suffix: appended to each videos-list path (build_ucf101_file_list.py writes them
without .avi). UCF101's own split files (trainlist0N.txt, testlist0N.txt) are read with each label from its class
folder through classInd.txt (next to the file, or --class-ind), or refused. --prefetch K: items decoded ahead while the network runs (default 2).
--lanes L (onnx): clips classified at once, each on its own onnxruntime session with threads / L threads (default 2
with two cores or more: the decoder then slows one session instead of stalling both threads of one; 1 = one session).
--decoder: auto (default) decodes 8-bit 4:2:0 H.264/HEVC/VP8/VP9/MPEG-1/2/MJPEG videos with ffmpeg.wasm in-process (bit-exact with the system ffmpeg,
without starting two processes per video) and the rest with the system ffmpeg; ffmpeg or wasm forces one.
The preset defaults to the model's (model.json's preset: accurate, 250 images a video, for PaddleVideo's weights);
--preset fast is PaddleVideo's valid pipeline. Each record names its run (preset, T, crops, model): a re-run into
the same --out with another preset or model, or a --merge of different runs, is refused. Items that fail (a bad
list line, a missing or unreadable file) are counted in the summary ("failed") and do not change the exit status,
which is 0 whenever a summary was printed.`,
  options: EVAL_OPTIONS,
  async run({ values, positionals: rest }) {
    const merge = values.merge === true;
    if (merge ? rest.length < 1 : rest.length !== 1) usage(merge ? 'eval --merge takes the result files of the shards' : 'eval takes one list file');
    const preset = oneOf(values.preset, ['accurate', 'fast'] as const, '--preset');
    const backend = oneOf(values.backend, ['auto', ...NODE_RUNNERS] as const, '--backend');
    const format = oneOf(values.format, ['videos', 'rawframes'] as const, '--format');
    const decoder = oneOf(values.decoder, DECODERS, '--decoder');
    const segments = positiveInt(values.segments, '--segments');
    const sample = positiveInt(values.sample, '--sample');
    const seedText = str(values.seed);
    const seed = seedText === undefined ? undefined : Number(seedText);
    if (seed !== undefined && !Number.isInteger(seed)) usage(`--seed must be an integer, got "${seedText}"`);
    const prefetchText = str(values.prefetch);
    const prefetch = prefetchText === undefined ? undefined : Number(prefetchText);
    if (prefetch !== undefined && !(Number.isInteger(prefetch) && prefetch >= 0)) usage(`--prefetch must be a non-negative integer, got "${prefetchText}"`);
    const lanes = positiveInt(values.lanes, '--lanes');
    const modelDir = str(values.model);
    if (!merge && !modelDir) usage('eval needs -m <model dir>');
    const opt = (k: string) => str(values[k]);
    await runEval({
      ...(merge ? { merge: rest } : { list: rest[0]! }),
      ...(modelDir ? { modelDir } : {}),
      ...(opt('labels') ? { labels: opt('labels')! } : {}),
      ...(opt('root') ? { root: opt('root')! } : {}),
      ...(opt('suffix') ? { suffix: opt('suffix')! } : {}),
      ...(opt('class-ind') ? { classInd: opt('class-ind')! } : {}),
      ...(format ? { format } : {}),
      ...(preset ? { preset } : {}),
      ...(segments ? { segments } : {}),
      ...(opt('out') ? { out: opt('out')! } : {}),
      ...(opt('shard') ? { shard: opt('shard')! } : {}),
      ...(opt('confusion') ? { confusion: opt('confusion')! } : {}),
      ...(sample ? { sample } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(prefetch !== undefined ? { prefetch } : {}),
      ...(lanes ? { lanes } : {}),
      ...(backend ? { backend } : {}),
      ...(decoder ? { decoder } : {}),
      json: values.json === true,
    });
  },
};
