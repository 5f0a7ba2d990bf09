/**
 * The Fine-tune panel: define classes, add clips per class (files or 3 s webcam recordings), train with a live
 * loss/accuracy chart and an ETA, stop and resume, evaluate, save, use the new model, export it or a `.pdparams`.
 *
 * It drives `model.createTrainer` (the fine-tuning API). A model without it (a build of pptsn-web before
 * fine-tuning) gets a plain note that fine-tuning is unavailable, and the controls stay disabled: nothing is faked.
 * The trainer's types are declared here, structurally, from the fine-tuning API's description, so the panel
 * compiles against builds with and without it.
 */
import { PPTSN, type VideoSource } from '../src/index.js';
import { drawChart, type EpochPoint } from './chart.js';
import { adoptModel, currentModel, onModelChange } from './models.js';
import { isVideoFile } from './classify.js';
import { $, el, formatMs, isBusy, onBusyChange, runTask, showError } from './ui.js';

type Strategy = 'head' | 'last-stage' | 'full';

/** What `onStep` / `onEpoch` report; fields beyond these are ignored. */
interface StepInfo {
  epoch: number;
  step?: number;
  steps?: number;
  loss?: number;
  /** The trainer's own estimate of the time left, when it gives one. */
  etaMs?: number;
}
interface EpochInfo {
  epoch: number;
  epochs?: number;
  loss?: number;
  accuracy?: number;
  valAccuracy?: number;
  valLoss?: number;
}
interface EvaluateResult {
  accuracy: number;
  loss?: number;
}
interface TrainerOptions {
  classes: string[];
  strategy: Strategy;
  epochs: number;
  validationSplit?: number;
  onStep?: (s: StepInfo) => void;
  onEpoch?: (e: EpochInfo) => void;
  signal?: AbortSignal;
}
interface TrainerLike {
  addClip(source: VideoSource, label: string | number): Promise<unknown>;
  fit(options?: { signal?: AbortSignal }): Promise<unknown>;
  evaluate(): Promise<EvaluateResult | number>;
  save(name?: string): Promise<unknown>;
  toModel(): Promise<PPTSN>;
  export(kind: 'model' | 'pdparams'): Promise<unknown>;
  dispose?(): unknown;
}
type Trainable = PPTSN & { createTrainer(options: TrainerOptions): TrainerLike | Promise<TrainerLike> };

/** Whether this build of pptsn-web has the fine-tuning API at all (known before any model is loaded). */
const TRAINER_API = typeof (PPTSN.prototype as unknown as { createTrainer?: unknown }).createTrainer === 'function';

function trainable(m: PPTSN | null): Trainable | null {
  return m && typeof (m as unknown as { createTrainer?: unknown }).createTrainer === 'function' ? (m as Trainable) : null;
}

interface ClassEntry {
  name: string;
  clips: File[];
}

const classes: ClassEntry[] = [];
let trainer: TrainerLike | null = null;
/** Classes and clips the current trainer was built with: a change means a new trainer. */
let trainerKey = '';
let points: EpochPoint[] = [];
let fitController: AbortController | null = null;
/** Set while the page adopts the trainer's own model, which must not discard the trainer. */
let adopting = false;
/** The model the trainer was created from, kept alive after "use the new model" until the trainer goes. */
let baseModel: PPTSN | null = null;

function epochsWanted(): number {
  const n = Math.round(Number($<HTMLInputElement>('ft-epochs').value));
  return Number.isFinite(n) && n >= 1 ? n : 20;
}

function keyOf(): string {
  return JSON.stringify([$<HTMLSelectElement>('ft-strategy').value, classes.map((c) => [c.name, c.clips.map((f) => `${f.name}:${f.size}`)])]);
}

function renderClasses(): void {
  const list = $('ft-classes');
  list.replaceChildren(
    ...classes.map((c, i) => {
      const id = `ft-clips-${i}`;
      const input = el('input', { type: 'file', id, accept: 'video/*', multiple: true, className: 'ft-clip-input' });
      input.addEventListener('change', () => {
        c.clips.push(...[...(input.files ?? [])].filter(isVideoFile));
        input.value = '';
        renderClasses();
      });
      const record = el('button', { type: 'button', className: 'secondary' }, 'Record 3 s');
      record.setAttribute('aria-label', `Record a 3 second webcam clip for ${c.name}`);
      record.disabled = !navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined';
      record.addEventListener('click', () => void recordClip(c));
      const remove = el('button', { type: 'button', className: 'danger' }, 'Remove');
      remove.setAttribute('aria-label', `Remove class ${c.name}`);
      remove.addEventListener('click', () => {
        classes.splice(i, 1);
        renderClasses();
      });
      const row = el(
        'li',
        {},
        el('span', { class: 'cls' }, c.name),
        el('span', { class: 'muted small' }, `${c.clips.length} clip${c.clips.length === 1 ? '' : 's'}`),
        el('label', { htmlFor: id, className: 'small' }, `Add clips to ${c.name}`),
        input,
        record,
        remove,
      );
      row.dataset.class = c.name;
      // Clips dropped on a class row belong to that class, not to the page-wide classify drop.
      row.addEventListener('dragover', (ev) => ev.preventDefault());
      row.addEventListener('drop', (ev) => {
        ev.preventDefault();
        ev.stopPropagation();
        c.clips.push(...[...(ev.dataTransfer?.files ?? [])].filter(isVideoFile));
        renderClasses();
      });
      return row;
    }),
  );
  updateButtons();
}

async function recordClip(c: ClassEntry): Promise<void> {
  await runTask(`Recording 3 s for “${c.name}”`, async (task) => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    try {
      const preview = $<HTMLVideoElement>('video');
      preview.srcObject = stream;
      await preview.play().catch(() => undefined);
      const type = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm', 'video/mp4'].find((t) => MediaRecorder.isTypeSupported(t));
      const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      const chunks: Blob[] = [];
      recorder.ondataavailable = (ev) => chunks.push(ev.data);
      const stopped = new Promise((r) => (recorder.onstop = r));
      recorder.start();
      const t0 = performance.now();
      while (performance.now() - t0 < 3000 && !task.signal.aborted) {
        task.progress(`Recording 3 s for “${c.name}”`, performance.now() - t0, 3000, `${((performance.now() - t0) / 1000).toFixed(1)} s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      recorder.stop();
      await stopped;
      preview.srcObject = null;
      if (task.signal.aborted) return;
      const ext = (recorder.mimeType || 'video/webm').includes('mp4') ? 'mp4' : 'webm';
      c.clips.push(new File(chunks, `${c.name}-${c.clips.length + 1}.${ext}`, { type: recorder.mimeType || 'video/webm' }));
    } finally {
      stream.getTracks().forEach((t) => t.stop());
    }
  });
  renderClasses();
}

function setAccuracy(text: string): void {
  $('ft-accuracy').textContent = text;
}

function updateButtons(): void {
  const m = trainable(currentModel());
  const busy = isBusy();
  const ready = classes.length >= 2 && classes.every((c) => c.clips.length > 0);
  const training = fitController !== null;
  $<HTMLButtonElement>('ft-train').disabled = !m || busy || !ready;
  $<HTMLButtonElement>('ft-train').textContent = trainer && keyOf() === trainerKey && points.length > 0 ? 'Resume training' : 'Train';
  $<HTMLButtonElement>('ft-stop').disabled = !training;
  for (const id of ['ft-evaluate', 'ft-use', 'ft-save', 'ft-export-model', 'ft-export-pdparams']) $<HTMLButtonElement>(id).disabled = !trainer || busy;
  for (const c of document.querySelectorAll<HTMLInputElement | HTMLButtonElement | HTMLSelectElement>('#ft-class-form input, #ft-class-form button, #ft-strategy, #ft-epochs, .ft-clip-input')) c.disabled = !m || busy;
  if (!ready && m) $('ft-status').textContent = 'Add at least two classes, each with at least one clip (more clips → better accuracy).';
}

/** Builds (or reuses) the trainer for the current classes and clips, decoding each clip into it. */
async function ensureTrainer(m: Trainable, signal: AbortSignal, progress: (label: string, loaded: number, total: number) => void): Promise<TrainerLike> {
  const key = keyOf();
  if (trainer && key === trainerKey) return trainer;
  if (trainer) void trainer.dispose?.();
  trainer = null;
  points = [];
  const epochs = epochsWanted();
  const t = await m.createTrainer({
    classes: classes.map((c) => c.name),
    strategy: $<HTMLSelectElement>('ft-strategy').value as Strategy,
    epochs,
    onEpoch: onEpoch,
    onStep: onStep,
  });
  const all = classes.flatMap((c) => c.clips.map((clip) => ({ clip, label: c.name })));
  for (let i = 0; i < all.length; i++) {
    if (signal.aborted) throw new DOMException('aborted', 'AbortError');
    progress(`Reading clip ${i + 1} of ${all.length}`, i, all.length);
    await t.addClip(all[i]!.clip, all[i]!.label);
  }
  trainer = t;
  trainerKey = key;
  return t;
}

let epochStarted = 0;
let fitStarted = 0;
let epochsDone = 0;
let reportProgress: ((label: string, loaded: number, total: number, detail?: string) => void) | null = null;

function onStep(s: StepInfo): void {
  if (!reportProgress) return;
  const epochs = epochsWanted();
  const within = s.steps ? (s.step ?? 0) / s.steps : 0;
  const left = s.etaMs !== undefined && s.etaMs > 0 ? ` · ETA ${formatMs(s.etaMs)}` : eta(s.epoch - 1 + within, epochs);
  reportProgress('Training', s.epoch - 1 + within, epochs, `epoch ${s.epoch}/${epochs}${s.loss !== undefined ? ` · loss ${s.loss.toFixed(3)}` : ''}${left}`);
}

/** ETA from the time per epoch so far in this fit (the trainer's own estimate is preferred when it has one). */
function eta(done: number, total: number): string {
  if (done <= 0 || epochsDone === 0) return '';
  const per = (performance.now() - fitStarted) / done;
  return ` · ETA ${formatMs(per * (total - done))}`;
}

function onEpoch(e: EpochInfo): void {
  epochsDone++;
  const accuracy = e.valAccuracy ?? e.accuracy;
  points.push({ epoch: e.epoch, loss: e.loss ?? NaN, ...(accuracy !== undefined ? { accuracy } : {}) });
  drawChart($<HTMLCanvasElement>('ft-chart'), points.filter((p) => Number.isFinite(p.loss)), e.epochs ?? epochsWanted());
  const epochs = e.epochs ?? epochsWanted();
  const ms = performance.now() - epochStarted;
  epochStarted = performance.now();
  $('ft-status').textContent = `Epoch ${e.epoch}/${epochs}: loss ${e.loss?.toFixed(4) ?? '—'}${accuracy !== undefined ? `, accuracy ${(100 * accuracy).toFixed(1)} %` : ''} (${formatMs(ms)})${eta(e.epoch, epochs)}`;
  reportProgress?.('Training', e.epoch, epochs, `epoch ${e.epoch}/${epochs}${eta(e.epoch, epochs)}`);
}

async function train(): Promise<void> {
  const m = trainable(currentModel());
  if (!m) return;
  await runTask('Preparing the training clips', async (task) => {
    const t = await ensureTrainer(m, task.signal, (l, a, b) => task.progress(l, a, b));
    fitController = new AbortController();
    // The progress bar's Cancel and the Stop button both stop at the next step boundary; Train resumes.
    task.signal.addEventListener('abort', () => fitController?.abort(), { once: true });
    reportProgress = (l, a, b, d) => task.progress(l, a, b, d);
    epochStarted = fitStarted = performance.now();
    epochsDone = 0;
    updateButtons();
    task.progress('Training', 0, epochsWanted(), 'starting');
    try {
      // A stop ends fit at a step boundary: it resolves with `stopped` (or rejects as aborted, in older shapes).
      const r = (await t.fit({ signal: fitController.signal })) as { stopped?: boolean } | undefined;
      if (r?.stopped || fitController.signal.aborted) {
        $('ft-status').textContent = `Stopped after epoch ${points.at(-1)?.epoch ?? 0}. Press “Resume training” to go on.`;
        return;
      }
    } catch (e) {
      if (!fitController.signal.aborted) throw e;
      $('ft-status').textContent = `Stopped after epoch ${points.at(-1)?.epoch ?? 0}. Press “Resume training” to go on.`;
      return;
    } finally {
      reportProgress = null;
      fitController = null;
    }
    task.progress('Evaluating on held-out clips');
    await showEvaluation(t);
  });
  updateButtons();
}

async function showEvaluation(t: TrainerLike): Promise<void> {
  const r = await t.evaluate();
  const accuracy = typeof r === 'number' ? r : r.accuracy;
  setAccuracy(`Accuracy: ${(100 * accuracy).toFixed(1)} %`);
}

function download(data: Blob | ArrayBuffer | Uint8Array | string, name: string): void {
  const blob = data instanceof Blob ? data : new Blob([typeof data === 'string' ? data : (data as BlobPart)]);
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Saves what `export` returns: bytes, or a model.json with shards (one download per file). */
function saveExport(result: unknown, fallbackName: string): void {
  if (result instanceof Blob || result instanceof ArrayBuffer || result instanceof Uint8Array) {
    download(result, result instanceof File ? result.name : fallbackName);
    return;
  }
  const r = result as { modelJson?: unknown; shards?: { path: string; data: Uint8Array }[] } | null;
  if (r && r.modelJson && Array.isArray(r.shards)) {
    download(JSON.stringify(r.modelJson), 'model.json');
    for (const s of r.shards) download(s.data, s.path);
    return;
  }
  throw new Error('the trainer returned an export this demo does not know how to save');
}

function className(): string {
  return $<HTMLInputElement>('ft-class-name').value.trim();
}

function render(): void {
  const m = currentModel();
  const note = $('ft-unavailable');
  note.hidden = TRAINER_API && (!m || trainable(m) !== null);
  note.textContent = 'Fine-tuning is unavailable in this build of pptsn-web: it has no model.createTrainer() yet. Classification works; to train on your own classes, use PaddleVideo and convert the result.';
  if (!TRAINER_API) $('ft-panel').setAttribute('aria-disabled', 'true');
  if (!m) $('ft-status').textContent = TRAINER_API ? 'Load a model first: fine-tuning starts from its weights.' : '';
  if (trainer && !adopting) {
    void trainer.dispose?.();
    trainer = null;
    trainerKey = '';
    if (baseModel && baseModel !== m) void baseModel.dispose();
    baseModel = null;
  }
  updateButtons();
}

export function initFinetune(): void {
  $('ft-class-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = className();
    if (!name) return;
    if (classes.some((c) => c.name === name)) {
      showError(new Error(`There is already a class “${name}”.`));
      return;
    }
    classes.push({ name, clips: [] });
    $<HTMLInputElement>('ft-class-name').value = '';
    renderClasses();
  });
  $('ft-train').addEventListener('click', () => void train());
  $('ft-stop').addEventListener('click', () => fitController?.abort());
  $('ft-evaluate').addEventListener('click', () => {
    if (trainer) void runTask('Evaluating on held-out clips', () => showEvaluation(trainer!));
  });
  $('ft-use').addEventListener('click', () => {
    if (!trainer) return;
    void runTask('Building the fine-tuned classifier', async () => {
      const m = await trainer!.toModel();
      // Keep the trainer (save, export, more epochs) while its result becomes the page's model.
      adopting = true;
      try {
        if (!baseModel) baseModel = currentModel();
        adoptModel(m, { keepOld: true });
      } finally {
        adopting = false;
      }
      $('ft-status').textContent = 'The fine-tuned model is now the page’s model: classify a video with it above.';
    });
  });
  $('ft-save').addEventListener('click', () => {
    if (!trainer) return;
    const name = `finetuned-${classes.map((c) => c.name).join('-')}`.slice(0, 60);
    void runTask('Saving the trainer', async () => {
      await trainer!.save(name);
      $('ft-status').textContent = `Saved as “${name}”.`;
    });
  });
  $('ft-export-model').addEventListener('click', () => {
    if (trainer) void runTask('Exporting the model', async () => saveExport(await trainer!.export('model'), 'model.json'));
  });
  $('ft-export-pdparams').addEventListener('click', () => {
    if (trainer) void runTask('Exporting a .pdparams', async () => saveExport(await trainer!.export('pdparams'), 'finetuned.pdparams'));
  });
  onModelChange(render);
  onBusyChange(updateButtons);
  drawChart($<HTMLCanvasElement>('ft-chart'), [], epochsWanted());
  render();
}
