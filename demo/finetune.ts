/**
 * The Fine-tune panel: define classes, add clips per class (files or 3 s webcam recordings), train with a live
 * loss/accuracy chart and an ETA, stop and resume, evaluate, save, use the new model, export it or a `.pdparams`.
 *
 * It drives `model.createTrainer`. Each set of classes and clips is a run stored in IndexedDB under a name derived
 * from them, so after a page reload the same classes and clips resume the stored run (its clips and checkpoint)
 * instead of starting over.
 */
import type { EpochInfo, EvaluateResult, ExportedFiles, PPTSN, StepInfo, Trainer, TrainerOptions } from '../src/index.js';
import { drawChart, type EpochPoint } from './chart.js';
import { adoptModel, currentModel, onModelChange } from './models.js';
import { isVideoFile } from './classify.js';
import { evaluateHeldOut, renderEvaluation } from './evaluation.js';
import { $, el, formatMs, isBusy, onBusyChange, runTask, showError } from './ui.js';

type Strategy = NonNullable<TrainerOptions['strategy']>;
type DemoTrainer = Trainer<PPTSN>;

interface ClassEntry {
  name: string;
  clips: File[];
  /** Clips kept out of training, evaluated with model.evaluate after training. */
  heldOut: File[];
}

const classes: ClassEntry[] = [];
let trainer: DemoTrainer | null = null;
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
      const input = el('input', { type: 'file', id, accept: 'video/*,.avi,.mkv,.mov,.mp4,.webm', multiple: true, className: 'ft-clip-input' });
      input.addEventListener('change', () => {
        c.clips.push(...[...(input.files ?? [])].filter(isVideoFile));
        input.value = '';
        renderClasses();
      });
      const heldId = `ft-heldout-${i}`;
      const held = el('input', { type: 'file', id: heldId, accept: 'video/*', multiple: true, className: 'ft-clip-input' });
      held.addEventListener('change', () => {
        c.heldOut.push(...[...(held.files ?? [])].filter(isVideoFile));
        held.value = '';
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
        el('span', { class: 'muted small' }, `${c.clips.length} clip${c.clips.length === 1 ? '' : 's'}${c.heldOut.length ? `, ${c.heldOut.length} held out` : ''}`),
        el('label', { htmlFor: id, className: 'small' }, `Add clips to ${c.name}`),
        input,
        el('label', { htmlFor: heldId, className: 'small' }, `Held-out clips`),
        held,
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
  const m = currentModel();
  const busy = isBusy();
  const ready = classes.length >= 2 && classes.every((c) => c.clips.length > 0);
  const training = fitController !== null;
  $<HTMLButtonElement>('ft-train').disabled = !m || busy || !ready;
  $<HTMLButtonElement>('ft-train').textContent = trainer && keyOf() === trainerKey && points.length > 0 ? 'Continue training' : 'Train';
  $<HTMLButtonElement>('ft-stop').disabled = !training;
  for (const id of ['ft-evaluate', 'ft-use', 'ft-save', 'ft-export-model', 'ft-export-pdparams']) $<HTMLButtonElement>(id).disabled = !trainer || busy;
  for (const c of document.querySelectorAll<HTMLInputElement | HTMLButtonElement | HTMLSelectElement>('#ft-class-form input, #ft-class-form button, #ft-strategy, #ft-epochs, #ft-segments, .ft-clip-input')) c.disabled = !m || busy;
  // The hint goes once the classes are ready (it stayed, asking for clips that were there, until training began).
  const hint = 'Add at least two classes, each with at least one clip (more clips → better accuracy).';
  if (!ready && m) $('ft-status').textContent = hint;
  else if (ready && $('ft-status').textContent === hint) $('ft-status').textContent = `${classes.length} classes ready: press Train.`;
}

function segmentsWanted(): number | undefined {
  const n = Math.round(Number($<HTMLInputElement>('ft-segments').value || NaN));
  return Number.isFinite(n) && n >= 1 ? n : undefined;
}

/** A short stable name for a run: the same classes, clips and settings map to the same stored run. */
function runName(key: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return `demo-${h.toString(16).padStart(8, '0')}`;
}

/**
 * Builds (or reuses) the trainer for the current classes and clips, decoding each clip into it. A run stored by an
 * earlier visit with the same classes and clips is restored instead (its clips and checkpoint), so training resumes.
 */
async function ensureTrainer(m: PPTSN, signal: AbortSignal, progress: (label: string, loaded: number, total: number) => void): Promise<DemoTrainer> {
  const key = keyOf();
  if (trainer && key === trainerKey) return trainer;
  if (trainer) void trainer.dispose();
  trainer = null;
  points = [];
  progress('Creating the trainer', 0, 0);
  const segments = segmentsWanted();
  const t = await m.createTrainer({
    name: runName(key),
    classes: classes.map((c) => c.name),
    strategy: $<HTMLSelectElement>('ft-strategy').value as Strategy,
    epochs: epochsWanted(),
    ...(segments ? { segments } : {}),
    onEpoch,
    onStep,
  });
  // Clips added to the stored run by this call: a clip that cannot be read ends the call, and these are taken out
  // again, or the next Train would "resume" the run with the clips read so far (a class could have none).
  const added: string[] = [];
  try {
    const stored = await t.info();
    if ((await t.clips()).length > 0) {
      // Restored from IndexedDB: its clips are in, and the chart picks up where it was.
      points = stored.history.map(toPoint);
      drawChart($<HTMLCanvasElement>('ft-chart'), points, epochsWanted());
      $('ft-status').textContent = `Resumed the stored run “${stored.name}” at epoch ${stored.epoch}.`;
    } else {
      const all = classes.flatMap((c) => c.clips.map((clip) => ({ clip, label: c.name })));
      for (let i = 0; i < all.length; i++) {
        if (signal.aborted) throw new DOMException('aborted', 'AbortError');
        progress(`Reading clip ${i + 1} of ${all.length}`, i, all.length);
        added.push((await t.addClip(all[i]!.clip, all[i]!.label)).id);
      }
    }
  } catch (e) {
    for (const id of added) await t.removeClip(id).catch(() => undefined);
    void t.dispose();
    throw e;
  }
  trainer = t;
  trainerKey = key;
  return t;
}

function toPoint(e: EpochInfo): EpochPoint {
  const accuracy = e.valAccuracy ?? e.accuracy;
  return { epoch: e.epoch, loss: e.loss, ...(Number.isFinite(accuracy) ? { accuracy } : {}) };
}

let fitStarted = 0;
let epochsDone = 0;
let reportProgress: ((label: string, loaded: number, total: number, detail?: string) => void) | null = null;

function onStep(s: StepInfo): void {
  if (!reportProgress) return;
  const epochs = epochsWanted();
  const within = s.steps ? s.step / s.steps : 0;
  const left = s.etaMs > 0 ? ` · ETA ${formatMs(s.etaMs)}` : eta(s.epoch - 1 + within, epochs);
  reportProgress('Training', s.epoch - 1 + within, epochs, `epoch ${s.epoch}/${epochs} · loss ${s.loss.toFixed(3)}${left}`);
}

/** ETA from the time per epoch so far in this fit (the trainer's own estimate is preferred when it has one). */
function eta(done: number, total: number): string {
  if (done <= 0 || done >= total || epochsDone === 0) return '';
  const per = (performance.now() - fitStarted) / done;
  return ` · ETA ${formatMs(per * (total - done))}`;
}

function onEpoch(e: EpochInfo): void {
  epochsDone++;
  const point = toPoint(e);
  points.push(point);
  drawChart($<HTMLCanvasElement>('ft-chart'), points.filter((p) => Number.isFinite(p.loss)), e.epochs);
  const epochs = e.epochs;
  const which = e.valAccuracy !== undefined ? 'held-out accuracy' : 'training accuracy';
  $('ft-status').textContent = `Epoch ${e.epoch}/${epochs}: loss ${e.loss.toFixed(4)}${point.accuracy !== undefined ? `, ${which} ${(100 * point.accuracy).toFixed(1)} %` : ''} (${formatMs(e.ms)})${e.etaMs > 0 && e.epoch < epochs ? ` · ETA ${formatMs(e.etaMs)}` : eta(e.epoch, epochs)}`;
  reportProgress?.('Training', e.epoch, epochs, `epoch ${e.epoch}/${epochs}${eta(e.epoch, epochs)}`);
}

async function train(): Promise<void> {
  const m = currentModel();
  if (!m) return;
  await runTask('Preparing the training clips', async (task) => {
    const t = await ensureTrainer(m, task.signal, (l, a, b) => task.progress(l, a, b));
    fitController = new AbortController();
    // The progress bar's Cancel and the Stop button both stop at the next step boundary; Train resumes.
    task.signal.addEventListener('abort', () => fitController?.abort(), { once: true });
    reportProgress = (l, a, b, d) => task.progress(l, a, b, d);
    fitStarted = performance.now();
    epochsDone = 0;
    updateButtons();
    task.progress('Training', 0, epochsWanted(), 'starting');
    try {
      // Up to the epochs asked for now: raising the number and pressing Train again trains on from the checkpoint.
      await t.fit({ signal: fitController.signal, epochs: epochsWanted() });
    } catch (e) {
      // A stop ends fit at a step boundary, after a checkpoint, and rejects as aborted.
      if (!fitController.signal.aborted) throw e;
      $('ft-status').textContent = `Stopped after epoch ${points.at(-1)?.epoch ?? 0}. Press “Resume training” to go on.`;
      return;
    } finally {
      reportProgress = null;
      fitController = null;
    }
    task.progress('Evaluating on held-out clips');
    await showEvaluation(t, task.signal);
  });
  updateButtons();
}

async function showEvaluation(t: DemoTrainer, signal?: AbortSignal): Promise<void> {
  const r: EvaluateResult = await t.evaluate();
  setAccuracy(`Accuracy: ${(100 * r.accuracy).toFixed(1)} % on ${r.clips} ${r.split === 'validation' ? 'held-out' : 'training'} clip${r.clips === 1 ? '' : 's'}`);
  if (!classes.some((c) => c.heldOut.length)) return;
  // The held-out clips the user set aside: the fine-tuned model classifies them (model.evaluate).
  const m = await t.toModel();
  try {
    renderEvaluation($('ft-eval'), await evaluateHeldOut(m, classes, signal ?? new AbortController().signal));
  } finally {
    await m.dispose();
  }
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

/** Saves an export: a `.pdparams` file, or model.json and its shards (one download each, for a weights/ folder). */
function saveExport(result: Blob | ExportedFiles, fallbackName: string): void {
  if (result instanceof Blob) {
    download(result, result instanceof File ? result.name : fallbackName);
    return;
  }
  for (const f of result.files) download(f.data, f.name);
}

function className(): string {
  return $<HTMLInputElement>('ft-class-name').value.trim();
}

function render(): void {
  const m = currentModel();
  if (!m) $('ft-status').textContent = 'Load a model first: fine-tuning starts from its weights.';
  if (trainer && !adopting) {
    void trainer.dispose();
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
    classes.push({ name, clips: [], heldOut: [] });
    $<HTMLInputElement>('ft-class-name').value = '';
    renderClasses();
  });
  $('ft-train').addEventListener('click', () => void train());
  $('ft-stop').addEventListener('click', () => fitController?.abort());
  $('ft-evaluate').addEventListener('click', () => {
    if (trainer) void runTask('Evaluating on held-out clips', (task) => showEvaluation(trainer!, task.signal));
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
