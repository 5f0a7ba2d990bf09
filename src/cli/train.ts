/**
 * `pptsn-web train <train_list> -o <run_dir>`: PaddleVideo's training (the tutorial's step 2.3) on a videos or
 * rawframes list, with PP-TSN's recipe as defaults (docs/contract.md §7, src/core/train/recipe.ts), from a converted model (`-m`)
 * or an ImageNet backbone (`--pretrained`). Resumable: the same command continues a stopped run. The loop is
 * src/node/train/datasetTrainer.ts; this file turns flags into its options and reports.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ListFormat, ListItem } from '../core/dataset/lists.js';
import { PPTSNError } from '../core/errors.js';
import { pretrainedStart } from '../core/train/pretrainedStart.js';
import { sha256Hex } from '../core/formats/sha256.js';
import { defaultLabels } from '../core/labels.js';
import { DEPTHS, isDepth } from '../core/model/arch.js';
import type { TrainableSubset } from '../core/model/trainable.js';
import type { StateDict } from '../core/stateDict.js';
import { hashSeed } from '../core/random.js';
import { withNewHead } from '../core/train/newHead.js';
import { resolveDatasetRecipe, type DatasetRecipeOptions } from '../core/train/recipe.js';
import { readDatasetList } from '../node/datasetList.js';
import { DECODERS, type DecoderChoice } from '../node/frames.js';
import { registerGradients } from '../node/gradients.js';
import { loadLabels } from '../node/labels.js';
import { readModelDir } from '../node/modelDir.js';
import { NODE_RUNNERS, type NodeRunnerChoice } from '../node/runtime.js';
import { paddleConfigYaml } from '../node/train/paddleConfig.js';
import { trainOnLists, type TrainEvent, type TrainSummary } from '../node/train/datasetTrainer.js';
import { writeFileAtomic } from '../node/files.js';
import { KD_LOSSES, resolveDistillation, type DistillationSettings } from '../core/train/distillation.js';
import { readTeacherLogits } from '../node/teacherLogits.js';
import { checkLogitsCover, UNLABELLED, type TeacherSource } from '../node/train/teacher.js';
import { readUnlabelled } from '../node/train/unlabelled.js';
import { stat } from 'node:fs/promises';
import { oneOf, positiveInt, str, usage, type Command } from './command.js';

const TRAIN_USAGE = [
  'train [<train_list>] -o <run_dir> (-m <model_dir> | --pretrained <file> [--depth D]) [--teacher <model_dir|logits.jsonl>] [--unlabeled <list>] [--kd-loss dml|kl|soft-ce] [--kd-temperature T] [--kd-weight W] [--ce-weight W] [--labels <file|ucf101|kinetics400>] [--valid <list>] [--root D] [--suffix .avi] [--format videos|rawframes] [--strategy head|last-stage|full] [--segments T] [--epochs N] [--batch-size B] [--lr LR] [--warmup-epochs E] [--warmup-start-lr LR0] [--mixup A] [--label-smoothing EPS] [--weight-decay W] [--no-nesterov] [--no-fc-lr-mult] [--dropout P] [--precise-bn K] [--save-interval N] [--valid-interval N] [--views V] [--micro-batch M] [--name ppTSN] [--seed S] [--json] [--paddle-config out.yaml] [--backend auto|onnx|wasm|cpu] [--decoder auto|ffmpeg|wasm]',
];

const TRAIN_OPTIONS = {
  out: { type: 'string', short: 'o' },
  model: { type: 'string', short: 'm' },
  pretrained: { type: 'string' },
  depth: { type: 'string' },
  labels: { type: 'string' },
  valid: { type: 'string' },
  root: { type: 'string' },
  suffix: { type: 'string' },
  format: { type: 'string' },
  strategy: { type: 'string' },
  segments: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  'warmup-epochs': { type: 'string' },
  'warmup-start-lr': { type: 'string' },
  mixup: { type: 'string' },
  'label-smoothing': { type: 'string' },
  'weight-decay': { type: 'string' },
  'no-nesterov': { type: 'boolean' },
  'no-fc-lr-mult': { type: 'boolean' },
  dropout: { type: 'string' },
  'precise-bn': { type: 'string' },
  'save-interval': { type: 'string' },
  'valid-interval': { type: 'string' },
  views: { type: 'string' },
  'micro-batch': { type: 'string' },
  name: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  'paddle-config': { type: 'string' },
  backend: { type: 'string' },
  decoder: { type: 'string' },
  teacher: { type: 'string' },
  unlabeled: { type: 'string' },
  'kd-loss': { type: 'string' },
  'kd-temperature': { type: 'string' },
  'kd-weight': { type: 'string' },
  'ce-weight': { type: 'string' },
} as const;

/** A number ≥ 0 (`--mixup 0` turns mixup off). */
function nonNegative(value: string | boolean | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n < 0) usage(`${flag} must be a number ≥ 0, got "${String(value)}"`);
  return n;
}

function wholeNonNegative(value: string | boolean | undefined, flag: string): number | undefined {
  const n = nonNegative(value, flag);
  if (n !== undefined && !Number.isInteger(n)) usage(`${flag} must be a whole number ≥ 0, got "${String(value)}"`);
  return n;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * The usable items of a list, read by the CLI's one list reader (src/node/datasetList.ts: PaddleVideo's `suffix`,
 * UCF101's split files labelled from their class folders or refused). Problems are errors here: training on a list
 * with a bad line would skip it silently; so is a first item missing without its extension (`--suffix`).
 */
async function readItems(file: string, o: { format?: ListFormat; root?: string; suffix?: string; numClasses?: number }, log?: (line: string) => void): Promise<{ format: ListFormat; items: ListItem[]; text: string }> {
  const text = await readText(file, 'list');
  const parsed = await readDatasetList(file, o);
  const bad = parsed.entries.find((e) => e.problem);
  if (bad?.problem) throw new PPTSNError('invalid-argument', `${bad.problem.message} (${file})`);
  const hint = parsed.notes.find((n) => n.includes('--suffix'));
  if (hint) throw new PPTSNError('invalid-argument', hint);
  for (const note of parsed.notes) log?.(`[train] ${note}`);
  return { format: parsed.format, items: parsed.entries.map((e) => e.item!), text };
}

export interface TrainCliOptions {
  /** The labelled train list (may be left out with `unlabeled`). */
  list?: string;
  /** Distillation: a converted model folder or a teacher-logits file (classify --json / eval --out). */
  teacher?: string;
  /** Clips whose labels are ignored (distillation only): a videos/rawframes list or a plain list of paths. */
  unlabeled?: string;
  distillation?: Partial<Pick<DistillationSettings, 'kdLoss' | 'temperature' | 'kdWeight' | 'ceWeight'>>;
  out: string;
  modelDir?: string;
  pretrained?: string;
  depth?: number;
  labels?: string;
  valid?: string;
  root?: string;
  suffix?: string;
  format?: ListFormat;
  recipe: DatasetRecipeOptions;
  microBatch?: number;
  name?: string;
  json?: boolean;
  paddleConfig?: string;
  backend?: NodeRunnerChoice;
  decoder?: DecoderChoice;
  progress?: boolean;
  signal?: AbortSignal;
  print?: (line: string) => void;
  log?: (text: string) => void;
}

/** The starting weights: a converted model (its head kept when the classes are its own) or an ImageNet backbone + a new head. */
async function startingWeights(o: TrainCliOptions, seed: number, log: (t: string) => void, labelsFromList: number, teacherLabels?: string[]): Promise<{ init: StateDict; classes: string[]; depth: number; source: Record<string, unknown> }> {
  // The student's classes: --labels, else the teacher's (a model teacher's list), else the model's or the lists'.
  const given = o.labels ? await loadLabels(o.labels) : teacherLabels;
  if (o.modelDir) {
    const m = await readModelDir(o.modelDir);
    const own = m.labels.length ? m.labels : defaultLabels(m.numClasses);
    const classes = given ?? (labelsFromList <= m.numClasses ? own : defaultLabels(labelsFromList));
    const same = classes.length === own.length && classes.every((c, i) => c === own[i]);
    const init = same ? m.stateDict : withNewHead(m.stateDict, classes.length, hashSeed(seed, 'head'));
    log(`[train] from ${o.modelDir} (ResNet${m.depth}, ${m.numClasses} classes)${same ? ', its head kept' : `, a new head for ${classes.length} classes (Normal(0, 0.01), as ppTSNHead)`}`);
    return { init, classes, depth: m.depth, source: { model: resolve(o.modelDir), sha256: m.source?.sha256 ?? (await sha256Hex(new TextEncoder().encode(JSON.stringify(m.meta)))) } };
  }
  const file = o.pretrained!;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot read the pretrained file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const pre = pretrainedStart(bytes, file, o.depth !== undefined && isDepth(o.depth) ? o.depth : undefined);
  const classes = given ?? defaultLabels(labelsFromList);
  const init = withNewHead(pre.stateDict, classes.length, hashSeed(seed, 'head'));
  log(`[train] from ImageNet backbone ${file} (ResNet${pre.depth}_vd, ${pre.naming} names)${pre.dropped.length ? `; dropped ${pre.dropped.join(', ')} (the ImageNet classifier: PaddleVideo never loads it)` : ''}; a new head for ${classes.length} classes`);
  return { init, classes, depth: pre.depth, source: { pretrained: resolve(file), sha256: await sha256Hex(bytes) } };
}

export async function runTrain(o: TrainCliOptions): Promise<TrainSummary> {
  const print = o.print ?? ((l: string) => process.stdout.write(l + '\n'));
  const log = o.log ?? ((t: string) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'));
  if (!o.modelDir === !o.pretrained) usage('give the starting weights: -m <model_dir> (a converted model) or --pretrained <file> (an ImageNet ResNet-vd backbone), not both');
  if (o.depth !== undefined && !isDepth(o.depth)) usage(`--depth must be one of ${DEPTHS.join(', ')}, got ${o.depth}`);
  if (!o.list && !o.unlabeled) usage('give the train list (PaddleVideo videos or rawframes list), or --unlabeled <list> with --teacher');
  if (o.unlabeled && !o.teacher) usage('--unlabeled needs --teacher: unlabelled clips learn from the teacher only');
  if (!o.teacher && o.distillation && Object.keys(o.distillation).length) usage('--kd-loss, --kd-temperature, --kd-weight and --ce-weight need --teacher');
  const recipe = resolveDatasetRecipe(o.recipe);
  const kd = o.teacher ? resolveDistillation({ ...o.distillation, labelSmoothing: recipe.labelSmoothing }) : undefined;
  const listOpts = { ...(o.format ? { format: o.format } : {}), ...(o.root ? { root: o.root } : {}), ...(o.suffix ? { suffix: o.suffix } : {}) };
  const labelled = o.list ? await readItems(o.list, listOpts, log) : undefined;
  const unlabelled = o.unlabeled ? await readUnlabelled(o.unlabeled, { ...listOpts, ...(labelled ? { format: labelled.format } : {}) }) : undefined;
  const format = labelled?.format ?? unlabelled!.format;
  const train = { format, items: [...(labelled?.items ?? []), ...(unlabelled?.items.map((i) => ({ ...i, label: UNLABELLED })) ?? [])] };
  const valid = o.valid ? await readItems(o.valid, { ...listOpts, format }, log) : undefined;
  const maxLabel = Math.max(...(labelled?.items.map((i) => i.label) ?? [0]), ...(valid?.items.map((i) => i.label) ?? [0]));
  let teacher: TeacherSource | undefined;
  let teacherLabels: string[] | undefined;
  let teacherId: Record<string, unknown> | undefined;
  if (o.teacher) {
    const isDir = await stat(o.teacher).then((s) => s.isDirectory(), () => false);
    if (isDir) {
      const m = await readModelDir(o.teacher);
      teacher = { kind: 'model', dir: o.teacher };
      teacherLabels = m.labels.length ? m.labels : defaultLabels(m.numClasses);
      teacherId = { model: resolve(o.teacher), sha256: m.source?.sha256 ?? (await sha256Hex(new TextEncoder().encode(JSON.stringify(m.meta)))) };
      log(`[train] teacher ${o.teacher} (ResNet${m.depth}, ${m.numClasses} classes): it sees the student's augmented views${recipe.strategy === 'head' ? ' (its logits cached with the features)' : `, each step's mixed images, one micro-batch at a time${recipe.strategy === 'last-stage' ? ' (the frozen part is then recomputed every step, not cached)' : ''}`}`);
    } else {
      const logits = await readTeacherLogits(o.teacher);
      checkLogitsCover(logits, train.items, (item) => (item.label === UNLABELLED ? `the --unlabeled list ${o.unlabeled}` : `the train list ${o.list}`));
      if (valid) checkLogitsCover(logits, valid.items, () => `the --valid list ${o.valid}`);
      teacher = { kind: 'logits', logits };
      teacherId = { logits: resolve(o.teacher), sha256: await sha256Hex(new Uint8Array(await readFile(o.teacher))) };
      log(`[train] teacher logits ${o.teacher} (${logits.size} clips, ${logits.numClasses} classes): the teacher saw the un-augmented clips, one target for every view`);
    }
  }
  const start = await startingWeights(o, recipe.seed, log, Math.max(maxLabel + 1, teacher?.kind === 'logits' ? teacher.logits.numClasses : 0), teacherLabels);
  if (maxLabel >= start.classes.length) throw new PPTSNError('invalid-argument', `${o.list ?? o.valid}: label ${maxLabel} is out of range for ${start.classes.length} classes (${o.labels ?? 'the model\'s labels'}): give --labels with every class`);
  await registerGradients();
  const identity = {
    list: labelled ? { file: resolve(o.list!), sha256: await sha256Hex(new TextEncoder().encode(labelled.text)) } : null,
    ...(kd ? { distillation: { teacher: teacherId, unlabeled: unlabelled ? { file: resolve(o.unlabeled!), sha256: await sha256Hex(new TextEncoder().encode(unlabelled.text)) } : null, ...kd } } : {}),
    valid: valid ? { file: resolve(o.valid!), sha256: await sha256Hex(new TextEncoder().encode(valid.text)) } : null,
    root: o.root ?? null,
    suffix: o.suffix ?? null,
    start: start.source,
  };
  const name = o.name ?? 'ppTSN';
  if (o.paddleConfig) {
    if (!o.list) usage('--paddle-config needs the labelled train list');
    await writeFileAtomic(o.paddleConfig, paddleConfigYaml({ recipe, format: train.format, classes: start.classes.length, trainList: resolve(o.list!), validList: o.valid ? resolve(o.valid) : undefined, root: o.root, suffix: o.suffix, pretrained: o.pretrained ? resolve(o.pretrained) : undefined, depth: start.depth, name }));
    log(`[train] wrote the PaddleVideo config ${o.paddleConfig} (for python -m paddle.distributed.launch main.py -c ${o.paddleConfig})`);
  }
  log(`[train] ${train.items.length} train items${unlabelled ? ` (${unlabelled.items.length} unlabelled)` : ''}${valid ? `, ${valid.items.length} valid items` : ''} (${train.format}); ${recipe.strategy}, T = ${recipe.segments}, ${recipe.epochs} epochs × ${Math.floor(train.items.length / recipe.batchSize)} iterations of ${recipe.batchSize}, base LR ${recipe.learningRate}`);
  let lastDraw = 0;
  const onEvent = (e: TrainEvent) => {
    if (e.phase === 'resume') log(`[train] resuming ${o.out} at epoch ${e.epoch + 1}, iteration ${e.iteration}`);
    else if (e.phase === 'runtime') log(`[train] trainable part on ${e.trainable}`);
    else if (e.phase === 'cache' && o.progress && (Date.now() - lastDraw > 200 || e.done === e.total)) {
      lastDraw = Date.now();
      process.stderr.write(`\r[train] caching the frozen part: ${e.done}/${e.total} items${e.done === e.total ? '\n' : ''}`);
    } else if (e.phase === 'iter' && o.progress && (Date.now() - lastDraw > 200 || e.iter + 1 === e.iters)) {
      lastDraw = Date.now();
      process.stderr.write(`\r[train] epoch ${e.epoch}/${e.epochs} iter ${e.iter + 1}/${e.iters} loss ${e.loss.toFixed(4)}${e.kd !== undefined ? ` kd ${e.kd.toFixed(4)}` : ''} top1 ${e.top1.toFixed(3)} lr ${e.lr.toPrecision(4)} ${e.ips.toFixed(2)} ips ETA ${Math.round(e.etaS)} s   ${e.iter + 1 === e.iters ? '\n' : ''}`);
    } else if (e.phase === 'epoch') {
      log(`[train] epoch ${e.epoch}${e.valid ? `: valid loss ${e.valid.loss.toFixed(4)} top-1 ${(100 * e.valid.top1).toFixed(2)}% top-5 ${(100 * e.valid.top5).toFixed(2)}%` : ''}${e.agreement !== undefined ? `, agreement with the teacher ${(100 * e.agreement).toFixed(2)}%` : ''}${e.best.epoch ? ` (best ${(100 * e.best.top1).toFixed(2)}% at epoch ${e.best.epoch})` : ''}`);
    }
  };
  const summary = await trainOnLists({
    runDir: o.out,
    recipe,
    format: train.format,
    train: train.items,
    valid: valid?.items ?? [],
    classes: start.classes,
    init: start.init,
    name,
    identity,
    ...(o.decoder ? { decoder: o.decoder } : {}),
    ...(o.backend ? { backend: o.backend } : {}),
    ...(o.microBatch ? { microBatch: o.microBatch } : {}),
    ...(kd && teacher ? { distill: { settings: kd, teacher } } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    onEvent,
  });
  if (summary.stopped) log(`[train] stopped at epoch ${summary.epochs + 1}; run the same command to resume`);
  else log(`[train] done: ${summary.files.map((f) => resolve(o.out, f)).join(', ')}`);
  if (o.json) print(JSON.stringify({ epochs: summary.epochs, stopped: summary.stopped, best: summary.best, files: summary.files.map((f) => resolve(o.out, f)) }));
  return summary;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train PP-TSN on a videos or rawframes list with PaddleVideo\'s recipe (resumable)',
  usage: TRAIN_USAGE,
  details: `Defaults are PP-TSN's recipe (configs/recognition/pptsn): T = 3, MultiScaleCrop + flip, mixup 0.2, label smoothing 0.1,
Nesterov momentum 0.9, L2 1e-4 with the FC ×5/×10 LR multipliers, warm-up + cosine stepped per iteration, dropout 0.4,
100 epochs of ⌊N/B⌋ iterations, batch 32, base LR 0.01 per 256 clips scaled to the batch, precise BN off.
Writes <run_dir>/<name>_best.pdparams, <name>_epoch_NNNNN.pdparams (PaddleVideo's Recognizer2D state dicts),
<run_dir>/model/ (model.json for classify/eval/the page) and <run_dir>/log.jsonl. Ctrl-C saves and stops; the same
command resumes and ends with the same weights as an uninterrupted run. --strategy head caches backbone features of
--views augmented views (default 4) on disk; last-stage caches res5 inputs while they fit in 2 GiB; full recomputes.
The trainable part's forward and backward passes run on onnxruntime-node (--backend auto or onnx: ONNX graphs of the
step, every core); --backend wasm or cpu keeps them on tfjs. The frozen part runs on the same --backend.
Distillation: --teacher gives a converted model folder (same classes, any depth; it sees the student's augmented input:
with --strategy head its logits are cached per cached view, with last-stage and full it runs on each step's mixed images,
the frozen part then recomputed every step) or a teacher-logits file (classify --json / eval --out: the teacher saw the
un-augmented clips). Labelled clips learn CE (--ce-weight) + the distillation term (--kd-weight,
--kd-loss dml (default, PaddleVideo's) | kl (T 4) | soft-ce (T 1)); --unlabeled clips learn the distillation term only,
and with them the train list may be left out. Under mixup a cached or file teacher's logits are mixed with the same λ.
log.jsonl adds "kd" per iteration and "agreement" (student/teacher top-1 on the valid list) per epoch.`,
  options: TRAIN_OPTIONS,
  progress: true,
  async run({ values, positionals }, { progress }) {
    const opt = (k: keyof typeof TRAIN_OPTIONS) => str(values[k]);
    if (positionals.length > 1 || (positionals.length === 0 && !opt('unlabeled'))) usage(positionals.length === 0 ? 'give the train list (PaddleVideo videos or rawframes list), or --unlabeled <list> with --teacher' : `one train list, got ${positionals.length} operands`);
    if (!opt('out')) usage('give the run directory with -o <run_dir>');
    const num = (k: keyof typeof TRAIN_OPTIONS) => nonNegative(values[k], `--${k}`);
    const recipe: DatasetRecipeOptions = {
      ...(opt('strategy') ? { strategy: oneOf(values.strategy, ['head', 'last-stage', 'full'] as const, '--strategy') as TrainableSubset } : {}),
      ...(values.segments !== undefined ? { segments: positiveInt(values.segments, '--segments')! } : {}),
      ...(values.epochs !== undefined ? { epochs: positiveInt(values.epochs, '--epochs')! } : {}),
      ...(values['batch-size'] !== undefined ? { batchSize: positiveInt(values['batch-size'], '--batch-size')! } : {}),
      ...(values.lr !== undefined ? { learningRate: num('lr')! } : {}),
      ...(values['warmup-epochs'] !== undefined ? { warmupEpochs: num('warmup-epochs')! } : {}),
      ...(values['warmup-start-lr'] !== undefined ? { warmupStartLr: num('warmup-start-lr')! } : {}),
      ...(values.mixup !== undefined ? { mixupAlpha: num('mixup')! } : {}),
      ...(values['label-smoothing'] !== undefined ? { labelSmoothing: num('label-smoothing')! } : {}),
      ...(values['weight-decay'] !== undefined ? { weightDecay: num('weight-decay')! } : {}),
      ...(values['no-nesterov'] ? { nesterov: false } : {}),
      ...(values['no-fc-lr-mult'] ? { lrMultipliers: false } : {}),
      ...(values.dropout !== undefined ? { dropout: num('dropout')! } : {}),
      ...(values['precise-bn'] !== undefined ? { preciseBN: wholeNonNegative(values['precise-bn'], '--precise-bn')! } : {}),
      ...(values['save-interval'] !== undefined ? { saveInterval: positiveInt(values['save-interval'], '--save-interval')! } : {}),
      ...(values['valid-interval'] !== undefined ? { validInterval: positiveInt(values['valid-interval'], '--valid-interval')! } : {}),
      ...(values.views !== undefined ? { views: positiveInt(values.views, '--views')! } : {}),
      ...(values.seed !== undefined ? { seed: wholeNonNegative(values.seed, '--seed')! } : {}),
    };
    // Ctrl-C: the first stops at the next step with the state saved (resumable); a second exits at once.
    const controller = new AbortController();
    const listeners = process.listeners('SIGINT');
    process.removeAllListeners('SIGINT');
    process.once('SIGINT', () => {
      process.stderr.write('\n[train] stopping after this step (Ctrl-C again to quit now)…\n');
      controller.abort();
      for (const l of listeners) process.once('SIGINT', l as () => void);
    });
    const distillation = {
      ...(opt('kd-loss') ? { kdLoss: oneOf(values['kd-loss'], KD_LOSSES, '--kd-loss')! } : {}),
      ...(values['kd-temperature'] !== undefined ? { temperature: num('kd-temperature')! } : {}),
      ...(values['kd-weight'] !== undefined ? { kdWeight: num('kd-weight')! } : {}),
      ...(values['ce-weight'] !== undefined ? { ceWeight: num('ce-weight')! } : {}),
    };
    await runTrain({
      ...(positionals[0] ? { list: positionals[0] } : {}),
      ...(opt('teacher') ? { teacher: opt('teacher')! } : {}),
      ...(opt('unlabeled') ? { unlabeled: opt('unlabeled')! } : {}),
      distillation,
      out: opt('out')!,
      ...(opt('model') ? { modelDir: opt('model')! } : {}),
      ...(opt('pretrained') ? { pretrained: opt('pretrained')! } : {}),
      ...(values.depth !== undefined ? { depth: positiveInt(values.depth, '--depth')! } : {}),
      ...(opt('labels') ? { labels: opt('labels')! } : {}),
      ...(opt('valid') ? { valid: opt('valid')! } : {}),
      ...(opt('root') ? { root: opt('root')! } : {}),
      ...(opt('suffix') ? { suffix: opt('suffix')! } : {}),
      ...(opt('format') ? { format: oneOf(values.format, ['videos', 'rawframes'] as const, '--format')! } : {}),
      recipe,
      ...(values['micro-batch'] !== undefined ? { microBatch: positiveInt(values['micro-batch'], '--micro-batch')! } : {}),
      ...(opt('name') ? { name: opt('name')! } : {}),
      json: values.json === true,
      ...(opt('paddle-config') ? { paddleConfig: opt('paddle-config')! } : {}),
      ...(opt('backend') ? { backend: oneOf(values.backend, [...NODE_RUNNERS, 'auto'] as const, '--backend')! } : {}),
      ...(opt('decoder') ? { decoder: oneOf(values.decoder, DECODERS, '--decoder')! } : {}),
      progress,
      signal: controller.signal,
    });
    if (controller.signal.aborted) process.exitCode = 130;
  },
};
