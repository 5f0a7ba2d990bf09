/**
 * The page side of fine-tuning: `model.createTrainer(options)` returns a `Trainer` whose work all happens in the
 * model's worker (WorkerTrainer, reached through comlink). Callbacks cross as comlink proxies; an AbortSignal
 * becomes a `stop` message, which the worker honours within the current micro-batch, and, on a cross-origin isolated
 * page, a flag in shared memory the worker reads at every layer of a pass, so the stop lands within a layer (after a
 * checkpoint either way; the page hears `stopping` at once), and `fit` then rejects with PPTSNError('aborted'). Clips, state and checkpoints live in IndexedDB under the run's name,
 * so after a reload `createTrainer({ name })` (same classes, or none) restores them and `fit` resumes.
 */
import { proxy, releaseProxy, type Remote } from 'comlink';
import { isPPTSNError, PPTSNError } from '../core/errors.js';
import type { EpochInfo, EvaluateResult, ResolvedSettings, StepInfo, TrainerSettings, TrainingProgress } from '../core/train/trainer.js';
import { zipStored } from './zip.js';
import type { WorkerTrainer } from '../worker/trainerEngine.js';
import type { ClipInfo, EngineFitResult, EngineTrainerOptions, ExportedFiles } from '../worker/protocol.js';
import { POOL_FRAMES } from '../common/trainerPool.js';
import type { DistillationSettings } from '../core/train/distillation.js';
import type { StateDict } from '../core/stateDict.js';
import { isRawframesSource, rawframesVideo } from './rawframes.js';
import type { VideoSource } from './types.js';
import { namedSourceError, sourceName } from './sourceErrors.js';
import { readPretrainedSource, type PretrainedSource } from './pretrainedSource.js';

export type { ClipInfo, EpochInfo, EvaluateResult, ExportedFiles, StepInfo, TrainingProgress };

/**
 * Options of `model.createTrainer`: the recipe settings of the core trainer (each documented there; unset fields take
 * PP-TSN's values, docs/contract.md §7, and each piece can be switched off), plus the page-side callbacks and
 * storage.
 */
export interface TrainerOptions extends Partial<TrainerSettings> {
  /** The new classes (required unless `name` names a stored run). */
  classes?: string[];
  onStep?: (s: StepInfo) => void;
  onEpoch?: (e: EpochInfo) => void;
  /**
   * What the run is doing, from its first second: `decoding` (addClip), `features`, `training`, `validating`,
   * `saving`, `stopping`, with counts and one ETA (TrainingProgress). Also per call: `fit({ onProgress })`.
   */
  onProgress?: (p: TrainingProgress) => void;
  /** Stops `fit` within a layer of the running pass (isolated page) or the current micro-batch. */
  signal?: AbortSignal;
  /** IndexedDB name of the run (default "default"); an existing run with the same classes is resumed. */
  name?: string;
  /** false: keep nothing in IndexedDB. */
  persist?: boolean;
  /**
   * Distillation (issue 22): another loaded model (`PPTSN`, any depth, the same classes) whose logits on the same
   * augmented views become this run's targets; its weights are copied into this model's worker and run there as a
   * second network. Clips added without a label learn from the teacher alone (their class is its top-1), labelled
   * ones from both; `evaluate()` and each epoch report `agreement` with the teacher, each step `kd`. `classes`
   * default to the teacher's labels. A run with a teacher is not stored in IndexedDB.
   */
  teacher?: TeacherModel;
  /** The distillation loss (core/train/distillation.ts): `kdLoss` 'dml' (default) | 'kl' | 'soft-ce', weights, T. */
  distillation?: Partial<DistillationSettings>;
  /**
   * The student's starting weights instead of this model's backbone: a PaddleClas ImageNet ResNet-vd backbone
   * (`ResNet18_vd_pretrained.pdparams`, `paddleClasPretrainedUrl(depth)`), as a URL (fetched by the page: its
   * host must allow CORS), a File/Blob or bytes; a new head for the classes. The usual start of a smaller student
   * (`createTrainer({ teacher: model, depth: 18, pretrained })`). Such a run is not stored in IndexedDB.
   */
  pretrained?: PretrainedSource;
  /** The student's depth: the `pretrained` file's (checked), or, without one, this model's (the default). */
  depth?: number;
  /**
   * Clips to add at creation, as a PaddleVideo-style list (`Trainer.addClips`): `createTrainer` resolves once they
   * are decoded and added (progress as `decoding`).
   */
  clips?: readonly TrainingListItem[];
}

/** What a teacher must offer: a loaded `PPTSN` does. */
export interface TeacherModel {
  readonly labels: readonly string[];
  teacherWeights(): Promise<StateDict>;
}

/** One line of a PaddleVideo-style list: a clip (video, Blob, URL, `<video>`, rawframes folder) and its class. */
export interface TrainingListItem {
  source: VideoSource;
  /** The class, by name or index; left out: unlabelled (distillation only, needs a `teacher`). */
  label?: string | number;
}

/** The result of `fit`. */
export type FitResult = EngineFitResult;

/** What the trainer needs from its model. */
export interface TrainerOwner {
  /** Builds a model from a converted weight file (the fine-tuned `.pdparams`) with these labels. */
  loadConverted(bytes: Uint8Array, name: string, labels: string[]): Promise<unknown>;
  /** Frames of a `<video>` grabbed on the main thread (workers cannot read elements). */
  sourceOf(source: VideoSource): Blob | string;
}

/** A fine-tuning run on a model's worker. */
export class Trainer<M = unknown> {
  private disposed = false;

  constructor(
    private readonly remote: Remote<WorkerTrainer>,
    private readonly owner: TrainerOwner,
    private readonly signal: AbortSignal | undefined,
    private readonly onProgress?: (p: TrainingProgress) => void,
  ) {}

  /** Calls the trainer's and the call's progress callbacks (a throwing callback must not break training). */
  private progress(p: TrainingProgress, extra?: (p: TrainingProgress) => void): void {
    for (const f of [this.onProgress, extra]) {
      try {
        f?.(p);
      } catch {
        // the page's callback is its own business
      }
    }
  }

  private live(): void {
    if (this.disposed) throw new PPTSNError('invalid-argument', 'this trainer was disposed');
  }

  /** Settings (after defaults), name and position. */
  async info(): Promise<{ name: string; settings: ResolvedSettings; epoch: number; iteration: number; history: EpochInfo[] }> {
    this.live();
    return this.remote.info();
  }

  /**
   * Decodes a clip (File/Blob/URL, or a `<video>`'s source) into a small frame pool and adds it under `label`;
   * without a label (only with a `teacher`) it is unlabelled: distillation alone. The same video again (same id, or
   * the same frames under another id) is the same clip: under `label` it is replaced and keeps its id; under another
   * class it is refused (`invalid-argument`, naming the clip's class and how to move it).
   */
  async addClip(source: VideoSource, label?: string | number): Promise<ClipInfo> {
    this.live();
    this.progress({ phase: 'decoding', done: 0, total: 1, etaMs: null });
    const info = await this.addOne(source, label);
    this.progress({ phase: 'decoding', done: 1, total: 1, etaMs: 0 });
    return info;
  }

  /**
   * Adds a PaddleVideo-style list of clips, `{ source, label }` each (the `path label` lines of a videos or rawframes
   * list, as objects: a File/Blob, a URL, a `<video>`, or a rawframes folder, as `addClip` takes them), in order.
   * `onProgress` (and createTrainer's) hear `decoding` with done/total over the list and an ETA from the rate so
   * far; `signal` stops between clips (those added stay) with `aborted`. A failing item rejects with its error,
   * its message prefixed with its place in the list; the items before it stay added.
   */
  async addClips(list: readonly TrainingListItem[], options: { onProgress?: (p: TrainingProgress) => void; signal?: AbortSignal } = {}): Promise<ClipInfo[]> {
    this.live();
    if (!Array.isArray(list)) throw new PPTSNError('invalid-argument', 'addClips takes an array of { source, label }');
    const out: ClipInfo[] = [];
    const t0 = Date.now();
    const total = list.length;
    this.progress({ phase: 'decoding', done: 0, total, etaMs: total === 0 ? 0 : null }, options.onProgress);
    for (let i = 0; i < total; i++) {
      if (options.signal?.aborted) throw new PPTSNError('aborted', `adding clips was stopped after ${i} of ${total}`);
      const item = list[i];
      if (!item || typeof item !== 'object' || !('source' in item)) throw new PPTSNError('invalid-argument', `list item ${i + 1} of ${total} is not a { source, label } object`);
      try {
        out.push(await this.addOne(item.source, item.label));
      } catch (e) {
        if (!isPPTSNError(e)) throw e;
        throw Object.assign(new PPTSNError(e.code, `list item ${i + 1} of ${total}: ${e.message}`, { cause: e }), { item: i });
      }
      const ms = Date.now() - t0;
      this.progress({ phase: 'decoding', done: i + 1, total, etaMs: (ms / (i + 1)) * (total - i - 1) }, options.onProgress);
    }
    return out;
  }

  /** One clip: decoded in the worker (a video, or a rawframes folder's files) and added. */
  private async addOne(source: VideoSource, label: string | number | undefined): Promise<ClipInfo> {
    let info: ClipInfo;
    if (isRawframesSource(source)) {
      // A rawframes folder: its files (or handle) cross; the worker decodes the pool's frames (linspace over L, as
      // for a video).
      info = await this.remote.addClip(rawframesVideo(source), label);
    } else {
      // The worker's errors name the file only sometimes ("The file is empty"): name it here, as classify does.
      info = await this.remote.addClip(this.owner.sourceOf(source), label).catch((e: unknown) => {
        throw namedSourceError(e, sourceName(source));
      });
    }
    return info;
  }

  async clips(): Promise<ClipInfo[]> {
    this.live();
    return this.remote.clips();
  }

  async removeClip(id: string): Promise<boolean> {
    this.live();
    return this.remote.removeClip(id);
  }

  /**
   * Trains (resuming where the run stopped) up to `epochs` (default: the run's). Before the first step any count is
   * taken; a started run can be extended but not shortened (its LR schedule is planned for its count): a lower
   * count is `invalid-argument` (core/train/fitEpochs.ts). A signal (this call's or the trainer's) or `stop()` stops
   * it within a layer of the running pass (isolated page) or the current micro-batch, after a checkpoint (`onProgress` hears `stopping` at once); the promise then
   * rejects with `aborted`, and `fit()` again resumes bit-identically. `onProgress` adds to createTrainer's.
   */
  async fit(options: { signal?: AbortSignal; epochs?: number; onProgress?: (p: TrainingProgress) => void } = {}): Promise<FitResult> {
    this.live();
    const signals = [options.signal, this.signal].filter((s): s is AbortSignal => !!s);
    if (signals.some((s) => s.aborted)) throw new PPTSNError('aborted', 'training was aborted');
    const extra = options.onProgress;
    let stopping = false;
    // Where memory can be shared (a cross-origin isolated page), a flag the worker reads at every layer of a pass:
    // a stop lands within a layer, not at the end of a micro-batch of tens of seconds. The message is sent as well.
    const flag = typeof SharedArrayBuffer !== 'undefined' && globalThis.crossOriginIsolated === true ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    const onAbort = () => {
      if (stopping) return;
      stopping = true;
      if (flag) Atomics.store(flag, 0, 1);
      this.progress({ phase: 'stopping', done: 0, total: 0, etaMs: null }, extra);
      void this.remote.stop().catch(() => undefined);
    };
    this.stopNow = onAbort;
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
    // Every event comes from the worker itself (inside a long micro-batch too, from its layers): the page never
    // repeats one, so a worker that stops reporting is seen as stuck.
    try {
      // After a stop, the worker's last events (a micro-batch finishing) must not overwrite "stopping".
      const relay = proxy((p: TrainingProgress) => {
        if (stopping) return;
        this.progress(p, extra);
      });
      const r = await this.remote.fit(options.epochs, relay, flag);
      if (r.stopped) {
        const inStep = r.stoppedInStep ? ` (inside step ${r.iteration + 1}, after ${r.stoppedInStep.clipsDone} of its ${r.stoppedInStep.clips} clips: nothing of that step was applied)` : '';
        throw new PPTSNError('aborted', `training was stopped at epoch ${r.epoch + 1}, iteration ${r.iteration}${inStep}; fit() again resumes`);
      }
      return r;
    } finally {
      this.stopNow = null;
      for (const s of signals) s.removeEventListener('abort', onAbort);
    }
  }

  /** The running fit's stop (says `stopping` at once), while one runs. */
  private stopNow: (() => void) | null = null;

  /** Stops a running `fit` within a layer (isolated page) or its current micro-batch (after a checkpoint). */
  async stop(): Promise<void> {
    if (this.stopNow) this.stopNow();
    else await this.remote.stop();
  }

  /** Accuracy, loss and confusion matrix on the held-out clips (every clip when there are none). */
  async evaluate(): Promise<EvaluateResult> {
    this.live();
    return this.remote.evaluate();
  }

  /** Saves the run (clips, state, checkpoint) in IndexedDB under `name` (default: its own name). */
  async save(name?: string): Promise<string> {
    this.live();
    return this.remote.save(name);
  }

  /** A classifier (a new model, in its own worker) with the trained weights and the new classes. */
  async toModel(): Promise<M> {
    this.live();
    const [bytes, info] = await Promise.all([this.remote.pdparams(), this.remote.info()]);
    return this.owner.loadConverted(bytes, `${info.name}.pdparams`, info.settings.classes) as Promise<M>;
  }

  /**
   * `'model'`: model.json + shards (`files`, also as `modelJson`/`shards`); `'zip'`: the same as one `.zip` File
   * (`<name>.zip`, model.json at its root: one download; unzip it into a folder and load its model.json);
   * `'pdparams'`: a PaddleVideo `.pdparams` File; `'labels'`: the classes, one a line (`<name>.labels.txt`, for
   * `--labels` or `labels` with the `.pdparams`).
   */
  async export(kind: 'model'): Promise<ExportedFiles>;
  async export(kind: 'zip' | 'pdparams' | 'labels'): Promise<Blob>;
  async export(kind: 'model' | 'zip' | 'pdparams' | 'labels'): Promise<ExportedFiles | Blob> {
    this.live();
    const file = (parts: BlobPart[], name: string, type: string) => (typeof File !== 'undefined' ? new File(parts, name, { type }) : new Blob(parts, { type }));
    if (kind === 'zip') {
      const [files, info] = await Promise.all([this.remote.modelFiles(), this.remote.info()]);
      return file([zipStored(files.files) as BlobPart], `${info.name}.zip`, 'application/zip');
    }
    if (kind === 'labels') {
      const info = await this.remote.info();
      return file([info.settings.classes.join('\n') + '\n'], `${info.name}.labels.txt`, 'text/plain');
    }
    if (kind === 'pdparams') {
      const bytes = await this.remote.pdparams();
      const name = (await this.remote.info()).name;
      return typeof File !== 'undefined' ? new File([bytes as BlobPart], `${name}.pdparams`, { type: 'application/octet-stream' }) : new Blob([bytes as BlobPart]);
    }
    if (kind === 'model') return this.remote.modelFiles();
    throw new PPTSNError('invalid-argument', `export kind must be 'model', 'zip', 'pdparams' or 'labels', got ${String(kind)}`);
  }

  /** Tensors alive in the worker (leak checks). */
  async memory(): Promise<{ numTensors: number }> {
    return this.remote.memory();
  }

  /** Frees the trainer's tensors in the worker; the stored run stays in IndexedDB. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    // A running fit stops within a layer (the shared flag) before the worker frees its tensors.
    this.stopNow?.();
    try {
      await this.remote.dispose();
    } finally {
      this.remote[releaseProxy]();
    }
  }
}

/**
 * Splits the options into what crosses to the worker and the callbacks (proxied); a teacher becomes its weights
 * (the classes default to its labels, and must be its labels when it names them).
 */
export async function trainerArgs(options: TrainerOptions): Promise<[EngineTrainerOptions, ((s: StepInfo) => void) | undefined, ((e: EpochInfo) => void) | undefined]> {
  const { onStep, onEpoch, signal, onProgress: _p, clips: _c, teacher, distillation, pretrained, ...rest } = options;
  const init: EngineTrainerOptions = rest;
  if (pretrained !== undefined) init.pretrained = await readPretrainedSource(pretrained, signal);
  if (teacher) {
    const labels = [...teacher.labels];
    if (!rest.classes && labels.length) init.classes = labels;
    if (rest.classes && labels.length && JSON.stringify(rest.classes) !== JSON.stringify(labels)) {
      throw new PPTSNError('invalid-argument', `the teacher's classes (${labels.join(', ')}) differ from the student's (${rest.classes.join(', ')}): distillation needs the same class list (leave classes out to take the teacher's)`);
    }
    init.teacher = { stateDict: await teacher.teacherWeights(), ...(distillation ? { distillation } : {}) };
  }
  return [init, onStep ? proxy(onStep) : undefined, onEpoch ? proxy(onEpoch) : undefined];
}

/** Adds `options.clips` (if any) before the trainer is handed out; frees it when one fails. */
export async function withClips<M>(trainer: Trainer<M>, options: TrainerOptions): Promise<Trainer<M>> {
  if (!options.clips) return trainer;
  try {
    await trainer.addClips(options.clips, options.signal ? { signal: options.signal } : {});
    return trainer;
  } catch (e) {
    await trainer.dispose().catch(() => undefined);
    throw e;
  }
}

