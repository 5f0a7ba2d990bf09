/**
 * The worker side of `model.createTrainer`: a `ClipTrainer` on the engine's model, clips decoded here into small
 * frame pools, and IndexedDB persistence (common/trainerStore.ts). Returned to the page as a comlink proxy; what
 * crosses (options, clip records, exported files) is declared in protocol.ts.
 *
 * Clips: `POOL_FRAMES` frames per clip (common/trainerPool.ts), linspace-sampled over the video and scaled so the
 * short side is at most `POOL_SHORT_SIDE`, kept as RGB. The train sampler then draws T of the pool per augmented
 * view.
 */
// With the .js extension: our package is "type": "module", so webpack resolves its imports fully specified.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import type { FramePixels } from '../core/frames/pixels.js';
import { writeModelJson } from '../core/formats/modelJson.js';
import { writePdparams } from '../core/formats/pdparamsWriter.js';
import { sha256Hex } from '../core/formats/sha256.js';
import type { StateDict } from '../core/stateDict.js';
import { resolvePreprocessOptions } from '../core/preprocess/presets.js';
import { Recognizer } from '../core/model/recognizer.js';
import { ClipTeacher, UNLABELLED } from '../core/train/clipTeacher.js';
import type { TrainingClip } from '../core/train/clips.js';
import { ClipTrainer, resolveSettings, type EpochInfo, type EvaluateResult, type ResolvedSettings, type StepInfo, type TrainerSettings, type TrainingProgress } from '../core/train/trainer.js';
import { PPTSNError } from '../core/errors.js';
import { trainingFailure } from '../core/train/failure.js';
import { readRawframesVideo, type DecodedVideo, type FrameReader } from './frameReader.js';
import type { ClipInfo, EngineFitResult, EngineTrainerOptions, EngineVideo, ExportedFiles } from './protocol.js';
import { toPPTSNError } from '../common/errorTransport.js';
import { TrainerStore, type StoredClip, type TrainerRecord } from '../common/trainerStore.js';
import { POOL_FRAMES, POOL_SHORT_SIDE } from '../common/trainerPool.js';
import { studentStart } from './studentStart.js';

export type { ClipInfo, EngineFitResult, EngineTrainerOptions, ExportedFiles };

/** What the engine hands the trainer. */
export interface TrainerHost {
  stateDict: StateDict;
  recognizer: Recognizer;
  readFrames: FrameReader;
  chunkSize: number;
  sha256?: string;
}

/**
 * A pool frame: RGB bytes, short side at most POOL_SHORT_SIDE. The alpha drop is plain JavaScript (a tfjs slice
 * copies element by element on wasm, and an int32 RGBA upload is what SwiftShader's WebGPU refused); only a
 * downscale uses tfjs (bilinear, half-pixel centres, as the train Scale), read back asynchronously.
 */
async function toRgbCapped(f: FramePixels): Promise<FramePixels> {
  const n = f.width * f.height;
  const rgb = new Uint8Array(n * 3);
  if (f.channels === 3) rgb.set(f.data.subarray(0, n * 3));
  else for (let i = 0, j = 0; i < n; i++, j += 4) { rgb[3 * i] = f.data[j]!; rgb[3 * i + 1] = f.data[j + 1]!; rgb[3 * i + 2] = f.data[j + 2]!; }
  const short = Math.min(f.width, f.height);
  if (short <= POOL_SHORT_SIDE) return { width: f.width, height: f.height, channels: 3, data: rgb };
  const scale = POOL_SHORT_SIDE / short;
  const width = Math.max(1, Math.round(f.width * scale));
  const height = Math.max(1, Math.round(f.height * scale));
  const scaled = tf.tidy(() => {
    const x = tf.tensor3d(Float32Array.from(rgb), [f.height, f.width, 3]);
    return tf.clipByValue(tf.floor(tf.add(tf.image.resizeBilinear(x, [height, width], false, true), 0.5)), 0, 255);
  });
  try {
    return { width, height, channels: 3, data: Uint8Array.from(await scaled.data()) };
  } finally {
    scaled.dispose();
  }
}

/** The worker-side trainer (comlink-proxied to the page). */
export class WorkerTrainer {
  private stopper: AbortController | null = null;
  /** The running fit, which `dispose` waits for (freeing tensors under a running step traps WASM). */
  private running: Promise<unknown> | null = null;
  private disposed = false;
  /**
   * Clip id → SHA-256 of its stored (pool-form) frames, filled as clips are added and, for restored ones, on the
   * first add that needs it: how the same video is found under another id (see {@link addClip}).
   */
  private readonly framesDigests = new Map<string, string>();

  private constructor(
    private readonly host: TrainerHost,
    private name: string,
    private readonly trainer: ClipTrainer,
    private readonly store: TrainerStore | null,
    private readonly origins: Map<string, string>,
    private readonly poolFrames: number,
    private readonly onStep?: (s: StepInfo) => void,
    private readonly onEpoch?: (e: EpochInfo) => void,
    /** The pretrained student's inference network (its feature cache's), freed with the trainer. */
    private readonly owned?: Recognizer,
  ) {}

  /**
   * Creates the trainer, or restores run `name` (its settings, clips and last checkpoint) when IndexedDB has it
   * with the same classes (a run with other classes, strategy or segments under that name is replaced).
   */
  static async create(host: TrainerHost, options: EngineTrainerOptions, onStep?: (s: StepInfo) => void, onEpoch?: (e: EpochInfo) => void): Promise<WorkerTrainer> {
    const start = studentStart(host, options);
    try {
      return await WorkerTrainer.build(start.host, options, onStep, onEpoch, start.owned);
    } catch (e) {
      start.owned?.dispose();
      throw e;
    }
  }

  private static async build(host: TrainerHost, options: EngineTrainerOptions, onStep: ((s: StepInfo) => void) | undefined, onEpoch: ((e: EpochInfo) => void) | undefined, owned: Recognizer | undefined): Promise<WorkerTrainer> {
    const name = options.name ?? 'default';
    const persist = (options.persist ?? true) && !options.teacher && !options.pretrained;
    const store = persist ? await TrainerStore.open() : null;
    let rec = store ? await store.getRecord(name) : undefined;
    const given = options.classes;
    const same = (r: TrainerRecord) =>
      (!given || JSON.stringify(given) === JSON.stringify(r.settings.classes)) &&
      (options.strategy === undefined || options.strategy === r.settings.strategy) &&
      (options.segments === undefined || options.segments === r.settings.segments) &&
      (!r.baseSha256 || !host.sha256 || r.baseSha256 === host.sha256);
    if (rec && !same(rec) && !given && options.strategy === undefined && options.segments === undefined) {
      // Reopening a stored run by name alone (the demo's Resume) must never delete it: only its base model differs.
      store!.close();
      throw new PPTSNError('invalid-argument', `the stored run "${name}" was trained from another model (weights SHA-256 ${rec.baseSha256!.slice(0, 12)}…): load that model to resume it, or delete the run`);
    }
    if (rec && !same(rec)) {
      await store!.delete(name);
      rec = undefined;
    }
    let settings: ResolvedSettings;
    if (rec) {
      // Restored runs keep their recipe; only the epoch count may be raised (below) to train further.
      settings = rec.settings;
    } else {
      if (!given) throw new PPTSNError('invalid-argument', `no stored fine-tuning run named "${name}": give the classes to start one`);
      const { name: _n, persist: _p, poolFrames: _f, teacher: _t, pretrained: _w, depth: _d, ...rest } = options;
      settings = resolveSettings({ ...rest, classes: given } as TrainerSettings);
    }
    let teacher: ClipTeacher | undefined;
    if (options.teacher) {
      const rec = Recognizer.fromStateDict(options.teacher.stateDict);
      try {
        // Labelled clips' CE smoothed as the recipe's, as the CLI's `--teacher` does.
        teacher = new ClipTeacher(rec, settings.classes.length, { labelSmoothing: settings.labelSmoothing, ...options.teacher.distillation });
      } catch (e) {
        rec.dispose();
        throw e;
      }
    }
    const trainer = new ClipTrainer(host.stateDict, settings, host.recognizer, { chunkSize: host.chunkSize, ...(teacher ? { teacher } : {}) });
    const origins = new Map<string, string>();
    try {
      if (store && rec) {
        for (const c of await store.clips(name)) {
          trainer.addClip({ id: c.id, label: c.label, frames: c.frames });
          origins.set(c.id, c.origin);
        }
        const cp = await store.checkpoint(rec);
        if (cp) trainer.restore(cp);
        if (options.epochs !== undefined) trainer.extendEpochs(options.epochs);
        if (trainer.settings.epochs !== rec.settings.epochs) await store.putRecord({ ...rec, settings: trainer.settings, updatedAt: new Date().toISOString() });
      } else if (store) {
        await store.putRecord({ name, settings, ...(host.sha256 ? { baseSha256: host.sha256 } : {}), checkpointKey: null, updatedAt: new Date().toISOString() });
      }
    } catch (e) {
      trainer.dispose();
      throw e;
    }
    return new WorkerTrainer(host, name, trainer, store, origins, options.poolFrames ?? POOL_FRAMES, onStep, onEpoch, owned);
  }

  private live(): void {
    if (this.disposed) throw new PPTSNError('invalid-argument', 'this trainer was disposed');
  }

  /** The resolved settings and the position. */
  info(): { name: string; settings: ResolvedSettings; epoch: number; iteration: number; history: EpochInfo[] } {
    const p = this.trainer.progress;
    return { name: this.name, settings: this.trainer.settings, epoch: p.epoch, iteration: p.iteration, history: p.history };
  }

  private labelIndex(label: string | number | undefined): number {
    if (label === undefined) return UNLABELLED;
    const classes = this.trainer.settings.classes;
    const i = typeof label === 'number' ? label : classes.indexOf(label);
    if (!(Number.isInteger(i) && i >= 0 && i < classes.length)) throw new PPTSNError('invalid-argument', `unknown class ${JSON.stringify(label)} (classes: ${classes.join(', ')})`);
    return i;
  }

  /**
   * Decodes a clip's frame pool and adds it under `label`. The same media added again (the same bytes, or the same
   * decoded frames for URLs and rawframes) replaces the earlier copy instead of duplicating it.
   */
  async addClip(source: Blob | string | Extract<EngineVideo, { kind: 'rawframes' }>, label?: string | number): Promise<ClipInfo> {
    try {
      this.live();
      const index = this.labelIndex(label);
      let decoded: DecodedVideo['frames'];
      let origin: string;
      let idBytes: Uint8Array;
      if (typeof source === 'string' || !('kind' in source)) {
        const r = await this.host.readFrames(source, { segments: this.poolFrames, sampling: 'linspace', signal: new AbortController().signal });
        decoded = r.frames;
        origin = typeof source === 'string' ? source : ((source as File).name ?? 'blob');
        // A Blob's id is of its bytes. A URL's is of the pool's decoded pixels, not of the URL: the same video
        // served from another origin or port is the same clip, so the clip ids, and with them the seeded
        // validation split, do not depend on where the page runs.
        idBytes = typeof source === 'string' ? await pixelBytes(decoded) : new Uint8Array(await source.arrayBuffer());
      } else {
        // A rawframes folder's files (or handle): the pool's frames decoded here (src/video/rawframes.ts), its id
        // of the decoded pixels, so the same frames are the same clip.
        const poolConfig = resolvePreprocessOptions({ preset: 'fast', segments: this.poolFrames, sampling: 'linspace' });
        decoded = (await readRawframesVideo(source, poolConfig)).frames;
        origin = source.origin;
        idBytes = await pixelBytes(decoded);
      }
      if (decoded.length === 0) throw new PPTSNError('video-too-short', 'the clip has no decodable frames');
      const frames = await Promise.all(decoded.map(toRgbCapped));
      let id = (await sha256Hex(idBytes)).slice(0, 16);
      // The same video again is the same clip: under another class it was silently moved there. Found by its id, or
      // by its stored frames under another id: a URL clip stored before ids hashed the decoded frames (its id was
      // the URL's), or the same video added once as a File and once by URL. It then keeps the id it has.
      const digest = await sha256Hex(await pixelBytes(frames));
      const had = this.trainer.clips().find((c) => c.id === id) ?? (await this.clipWithFrames(digest));
      if (had) id = had.id;
      if (had && had.label !== index) {
        const classes = this.trainer.settings.classes;
        throw new PPTSNError('invalid-argument', `${origin} is already a clip of class "${classes[had.label]}" (the same video as ${this.origins.get(id) ?? 'a clip added before'}); a clip belongs to one class: removeClip("${id}") first to move it to "${classes[index]}"`);
      }
      this.trainer.addClip({ id, label: index, frames });
      this.origins.set(id, origin);
      this.framesDigests.set(id, digest);
      if (this.store) await this.store.putClip({ key: TrainerStore.clipKey(this.name, id), trainer: this.name, id, label: index, frames, origin });
      return { id, label: this.trainer.settings.classes[index] ?? null, frames: frames.length, origin };
    } catch (e) {
      throw toPPTSNError(e, 'adding the clip failed');
    }
  }

  /** The clip whose stored frames hash to `digest` (restored clips hashed on first need), if any. */
  private async clipWithFrames(digest: string): Promise<TrainingClip | undefined> {
    for (const c of this.trainer.clips()) {
      if (!this.framesDigests.has(c.id)) this.framesDigests.set(c.id, await sha256Hex(await pixelBytes(c.frames)));
      if (this.framesDigests.get(c.id) === digest) return c;
    }
    return undefined;
  }

  clips(): ClipInfo[] {
    return this.trainer.clips().map((c) => ({ id: c.id, label: this.trainer.settings.classes[c.label] ?? null, frames: c.frames.length, origin: this.origins.get(c.id) ?? '' }));
  }

  async removeClip(id: string): Promise<boolean> {
    this.live();
    const had = this.trainer.removeClip(id);
    this.origins.delete(id);
    this.framesDigests.delete(id);
    if (this.store) await this.store.deleteClip(this.name, id);
    return had;
  }

  /**
   * Trains to the configured epochs (resuming); `stop()` ends it within a micro-batch, after a checkpoint, and
   * `stopFlag[0]` set non-zero (an Int32Array on a SharedArrayBuffer the page holds) within a layer of the running
   * pass. `onProgress` hears every phase (progress.ts TrainingProgress) from the first second.
   */
  async fit(epochs?: number, onProgress?: (p: TrainingProgress) => void, stopFlag?: Int32Array): Promise<EngineFitResult> {
    this.live();
    if (this.running) throw new PPTSNError('invalid-argument', 'this trainer is already training: stop() it or wait for fit to end');
    const run = this.fitNow(epochs, onProgress, stopFlag);
    this.running = run;
    try {
      return await run;
    } finally {
      this.running = null;
    }
  }

  private async fitNow(epochs: number | undefined, onProgress?: (p: TrainingProgress) => void, stopFlag?: Int32Array): Promise<EngineFitResult> {
    try {
      if (epochs !== undefined) this.trainer.fitEpochs(epochs);
      const stopper = new AbortController();
      this.stopper = stopper;
      // The page's flag (shared memory) is read at every layer of a pass, where no message can arrive.
      const interrupt = stopFlag
        ? () => {
            if (Atomics.load(stopFlag, 0) !== 0) stopper.abort();
            return stopper.signal.aborted;
          }
        : undefined;
      const onStep = this.onStep;
      const onEpoch = this.onEpoch;
      // Fire and forget: the page's callbacks must not hold training up.
      const quiet = <T>(f: ((x: T) => void) | undefined) => (f ? { f: (x: T) => void Promise.resolve(f(x)).catch(() => undefined) } : undefined);
      const progress = quiet(onProgress);
      return await this.trainer.fit({
        signal: stopper.signal,
        ...(interrupt ? { interrupt } : {}),
        ...(onStep ? { onStep: quiet(onStep)!.f } : {}),
        ...(onEpoch ? { onEpoch: quiet(onEpoch)!.f } : {}),
        ...(progress ? { onProgress: progress.f } : {}),
        onCheckpoint: async (cp) => {
          if (this.store) await this.store.saveCheckpoint(this.name, cp, this.trainer.settings);
        },
      });
    } catch (e) {
      throw toPPTSNError(trainingFailure(e, this.trainer.settings), 'training failed');
    } finally {
      this.stopper = null;
    }
  }

  /** Stops a running `fit` within its current micro-batch (after a checkpoint). */
  stop(): void {
    this.stopper?.abort();
  }

  async evaluate(): Promise<EvaluateResult> {
    try {
      this.live();
      return await this.trainer.evaluate();
    } catch (e) {
      throw toPPTSNError(e, 'evaluation failed');
    }
  }

  /** Persists the run under `name` (default: its own), which becomes its name for later checkpoints. */
  async save(name?: string): Promise<string> {
    this.live();
    if (this.trainer.clips().some((c) => c.label === UNLABELLED)) {
      throw new PPTSNError('invalid-argument', 'this run has unlabelled clips, which need its teacher, and a teacher is not stored with a run: export the student (export(), toModel()) instead');
    }
    if (this.owned) throw new PPTSNError('invalid-argument', 'a run started from pretrained ImageNet weights is not stored (the weights file would be needed to resume it): export the student (export(), toModel()) instead');
    const store = this.store ?? (await TrainerStore.open());
    const target = name ?? this.name;
    const old = await store.getRecord(this.name);
    if (target !== this.name || !old) {
      await store.delete(target);
      await store.putRecord({ name: target, settings: this.trainer.settings, ...(this.host.sha256 ? { baseSha256: this.host.sha256 } : {}), checkpointKey: null, updatedAt: new Date().toISOString() });
      for (const c of this.trainer.clips()) {
        await store.putClip({ key: TrainerStore.clipKey(target, c.id), trainer: target, id: c.id, label: c.label, frames: c.frames, origin: this.origins.get(c.id) ?? '' });
      }
    }
    await store.saveCheckpoint(target, await this.trainer.checkpoint(), this.trainer.settings);
    this.name = target;
    return target;
  }

  /** The trained model as a `.pdparams` (PaddleVideo structured keys, new class count). */
  async pdparams(): Promise<Uint8Array> {
    this.live();
    return writePdparams(await this.trainer.toStateDict());
  }

  /** The trained model as model.json + shards (pptsn-web's own format, labels = the classes). */
  async modelFiles(): Promise<ExportedFiles> {
    this.live();
    const { modelJson, shards } = writeModelJson(await this.trainer.toStateDict(), { labels: this.trainer.settings.classes });
    const out = shards.map((s) => ({ path: s.path, data: s.data }));
    return {
      files: [{ name: 'model.json', data: new TextEncoder().encode(JSON.stringify(modelJson)) }, ...out.map((s) => ({ name: s.path, data: s.data }))],
      modelJson,
      shards: out,
    };
  }

  memory(): { numTensors: number } {
    return { numTensors: tf.memory().numTensors };
  }

  /** Frees the trainer's tensors (the stored run stays in IndexedDB), after stopping a running fit. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.stop();
    this.disposed = true;
    await this.running?.catch(() => undefined);
    this.trainer.dispose();
    this.owned?.dispose();
    this.store?.close();
  }
}

/**
 * What a URL's or a rawframes folder's clip id hashes (and a clip's stored frames' digest): each frame's shape and the
 * SHA-256 of its whole pixels (not a prefix: letterboxed videos share their top rows), frame by frame so that no copy
 * of the pool is made.
 */
async function pixelBytes(frames: readonly FramePixels[]): Promise<Uint8Array> {
  const parts = await Promise.all(frames.map(async (f) => `${f.width}x${f.height}:${await sha256Hex(new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength))}`));
  return new TextEncoder().encode(parts.join(','));
}
