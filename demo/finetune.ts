/**
 * The Fine-tune panel: define classes, add clips per class (files or 3 s webcam recordings), train with a live
 * loss/accuracy chart and an ETA, stop and resume, evaluate, save, use the new model, export it or a `.pdparams`.
 *
 * It drives `model.createTrainer`. Each set of classes and clips is a run stored in IndexedDB under a name derived
 * from them, so after a page reload the same classes and clips resume the stored run (its clips and checkpoint)
 * instead of starting over; the panel itself (classes, clip files, settings) is kept in IndexedDB too
 * (finetuneStore.ts) and restored at start-up, and the stored runs are listed with Resume and Delete (runs.ts).
 * Words: "validation clips" are the trainer's own split of the training clips; "test clips" the ones the user sets
 * aside (never trained on).
 */
import { PPTSN, type EpochInfo, type Trainer, type TrainerOptions, type TrainingProgress } from '../src/index.js';
import { drawChart, toPoint, type EpochPoint } from './chart.js';
import { adoptModel, currentModel, modelWhenReady, onModelChange } from './models.js';
import { showTrainerEvaluation } from './evaluation.js';
import { loadPanel, savePanel, type PanelClip } from './finetuneStore.js';
import { renderRuns } from './runs.js';
import { $, downloadFile, el, formatMs, isBusy, onBusyChange, runTask, showError } from './ui.js';
import { clipsOf, clipId, runName, testClipsOf } from './panelClips.js';
import { clipsFromDrop } from './rawframes.js';
import { recordClip } from './record.js';
import { describeProgress } from './trainProgress.js';

type Strategy = NonNullable<TrainerOptions['strategy']>;
type DemoTrainer = Trainer<PPTSN>;

interface ClassEntry {
  name: string;
  clips: PanelClip[];
  /** Test clips: kept out of training, classified by the fine-tuned model (model.evaluate) after training. */
  test: File[];
}

/** Writes the panel to IndexedDB (after every change); an edit ends a reopened run's hold on Train. */
function persist(): void {
  resumed = false;
  void savePanel({
    classes: classes.map((c) => ({ name: c.name, clips: c.clips, test: c.test })),
    strategy: $<HTMLSelectElement>('ft-strategy').value,
    epochs: $<HTMLInputElement>('ft-epochs').value,
    segments: $<HTMLInputElement>('ft-segments').value,
  });
}

const classes: ClassEntry[] = [];
let trainer: DemoTrainer | null = null;
/** Classes and clips the current trainer was built with: a change means a new trainer. */
let trainerKey = '';
let points: EpochPoint[] = [];
let fitController: AbortController | null = null;
/** A stored run reopened from the runs list: Train continues it whatever the panel's clips. */
let resumed = false;
/** Set while the page adopts the trainer's own model, which must not discard the trainer. */
let adopting = false;
/** The model the trainer was created from, kept alive after "use the new model" until the trainer goes. */
let baseModel: PPTSN | null = null;

function epochsWanted(): number {
  const n = Math.round(Number($<HTMLInputElement>('ft-epochs').value));
  return Number.isFinite(n) && n >= 1 ? n : 20;
}

function keyOf(): string {
  return JSON.stringify([$<HTMLSelectElement>('ft-strategy').value, classes.map((c) => [c.name, c.clips.map(clipId)])]);
}

function renderClasses(): void {
  persist();
  const list = $('ft-classes');
  list.replaceChildren(
    ...classes.map((c, i) => {
      const id = `ft-clips-${i}`;
      const input = el('input', { type: 'file', id, accept: 'video/*,.avi,.mkv,.mov,.mp4,.webm,.jpg,.jpeg', multiple: true, className: 'ft-clip-input' });
      input.addEventListener('change', () => {
        c.clips.push(...clipsOf([...(input.files ?? [])]));
        input.value = '';
        renderClasses();
      });
      const heldId = `ft-heldout-${i}`;
      const held = el('input', { type: 'file', id: heldId, accept: 'video/*', multiple: true, className: 'ft-clip-input' });
      held.addEventListener('change', () => {
        c.test.push(...testClipsOf([...(held.files ?? [])]));
        held.value = '';
        renderClasses();
      });
      const record = el('button', { type: 'button', className: 'secondary' }, 'Record 3 s');
      record.setAttribute('aria-label', `Record a 3 second webcam clip for ${c.name}`);
      record.disabled = !navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined';
      record.addEventListener('click', () => void recordClip(c, renderClasses));
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
        el('span', { class: 'muted small' }, `${c.clips.length} training clip${c.clips.length === 1 ? '' : 's'}${c.test.length ? `, ${c.test.length} test clip${c.test.length === 1 ? '' : 's'}` : ''}`),
        el('label', { htmlFor: id, className: 'small' }, `Add clips to ${c.name}`),
        input,
        el('label', { htmlFor: heldId, className: 'small' }, `Test clips (never trained on)`),
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
        // A dropped rawframes folder is one clip, as the page-wide classify drop takes it.
        void clipsFromDrop(ev).then(({ folders, files }) => (c.clips.push(...folders, ...clipsOf(files)), renderClasses()));
      });
      return row;
    }),
  );
  updateButtons();
}

function setAccuracy(text: string): void {
  $('ft-accuracy').textContent = text;
}

function updateButtons(): void {
  const m = currentModel();
  const busy = isBusy();
  const ready = (resumed && trainer !== null) || (classes.length >= 2 && classes.every((c) => c.clips.length > 0));
  const training = fitController !== null;
  $<HTMLButtonElement>('ft-train').disabled = !m || busy || !ready;
  $<HTMLButtonElement>('ft-train').textContent = trainer && (resumed || keyOf() === trainerKey) && points.length > 0 ? 'Continue training' : 'Train';
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

/**
 * Builds (or reuses) the trainer for the current classes and clips, decoding each clip into it. A run stored by an
 * earlier visit with the same classes and clips is restored instead (its clips and checkpoint), so training resumes.
 */
async function ensureTrainer(m: PPTSN, signal: AbortSignal, progress: (label: string, loaded: number, total: number) => void): Promise<DemoTrainer> {
  const key = keyOf();
  if (trainer && (resumed || key === trainerKey)) return trainer;
  if (trainer) void trainer.dispose();
  trainer = null;
  clearFigures();
  progress('Creating the trainer', 0, 0);
  const segments = segmentsWanted();
  const t = await m.createTrainer({
    name: runName(key),
    classes: classes.map((c) => c.name),
    strategy: $<HTMLSelectElement>('ft-strategy').value as Strategy,
    epochs: epochsWanted(),
    ...(segments ? { segments } : {}),
    onEpoch,
    onProgress,
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
      $('ft-status').textContent = `Resumed the stored run “${stored.name}” at epoch ${stored.epoch} of ${stored.settings.epochs}.`;
    } else {
      const all = classes.flatMap((c) => c.clips.map((clip) => ({ clip, label: c.name })));
      for (let i = 0; i < all.length; i++) {
        if (signal.aborted) throw new DOMException('aborted', 'AbortError');
        progress(`Reading clip ${i + 1} of ${all.length}`, i, all.length);
        const clip = all[i]!.clip;
        added.push((await t.addClip(clip instanceof File ? clip : clip.frames, all[i]!.label)).id);
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

/** Clears the previous run's chart, accuracy and test-clip table (a new run must not show the old figures). */
function clearFigures(): void {
  points = [];
  drawChart($<HTMLCanvasElement>('ft-chart'), [], epochsWanted());
  setAccuracy('');
  $('ft-eval').replaceChildren();
}

let reportProgress: ((label: string, loaded: number, total: number, detail?: string) => void) | null = null;

/** The trainer's phase and its one ETA (measured on the current phase) on the progress bar. */
function onProgress(p: TrainingProgress): void {
  if (p.warning) $('ft-status').textContent = `Warning: ${p.warning}`;
  const d = describeProgress(p);
  if (d && reportProgress) reportProgress(d.label, d.done, d.total, d.detail);
}

function onEpoch(e: EpochInfo): void {
  const point = toPoint(e);
  points.push(point);
  drawChart($<HTMLCanvasElement>('ft-chart'), points.filter((p) => Number.isFinite(p.loss)), e.epochs);
  const which = e.valAccuracy !== undefined ? 'validation accuracy' : 'training accuracy';
  $('ft-status').textContent = `Epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toFixed(4)}${point.accuracy !== undefined ? `, ${which} ${(100 * point.accuracy).toFixed(1)} %` : ''} (${formatMs(e.ms)})${e.warning ? ` · Warning: ${e.warning}` : ''}`;
}

function stopTraining(): void {
  if (!fitController || fitController.signal.aborted) return;
  // Said at once: the trainer stops after the clip it is on and writes a checkpoint.
  $('ft-status').textContent = 'Stopping… (after the current clip, then a checkpoint)';
  reportProgress?.('Stopping…', 0, 0, 'after the current clip, then a checkpoint');
  fitController.abort();
}

async function train(): Promise<void> {
  // A Train pressed while a model loads or converts waits for it (and trains on it).
  const m = await modelWhenReady();
  if (!m) return;
  await runTask('Preparing the training clips', async (task) => {
    const t = await ensureTrainer(m, task.signal, (l, a, b) => task.progress(l, a, b));
    fitController = new AbortController();
    // The progress bar's Cancel and the Stop button both stop at the next step boundary; Train resumes.
    task.signal.addEventListener('abort', stopTraining, { once: true });
    reportProgress = (l, a, b, d) => task.progress(l, a, b, d);
    if (!resumed && points.length === 0) clearFigures();
    updateButtons();
    task.progress('Starting the run', 0, 0);
    try {
      // Up to the epochs asked for now: raising the number and pressing Train again trains on from the checkpoint.
      await t.fit({ signal: fitController.signal, epochs: epochsWanted() });
    } catch (e) {
      // A stop ends fit at a step boundary, after a checkpoint, and rejects as aborted.
      if (!fitController.signal.aborted) throw e;
      const at = await t.info();
      $('ft-status').textContent = `Stopped at epoch ${at.epoch + 1} of ${at.settings.epochs} (${at.iteration} steps done, checkpoint saved). Press “Continue training” to go on.`;
      return;
    } finally {
      reportProgress = null;
      fitController = null;
      void refreshRuns();
    }
    task.progress('Evaluating');
    await showEvaluation(t, task.signal);
  });
  updateButtons();
}

function showEvaluation(t: DemoTrainer, signal?: AbortSignal): Promise<void> {
  return showTrainerEvaluation(t, classes, $('ft-eval'), setAccuracy, signal);
}

function render(): void {
  const m = currentModel();
  if (!m) $('ft-status').textContent = 'Load a model first: fine-tuning starts from its weights.';
  if (trainer && !adopting) {
    void trainer.dispose();
    trainer = null;
    trainerKey = '';
    resumed = false;
    if (baseModel && baseModel !== m) void baseModel.dispose();
    baseModel = null;
  }
  updateButtons();
}

export function initFinetune(): void {
  $('ft-class-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = $<HTMLInputElement>('ft-class-name').value.trim();
    if (!name) return;
    if (classes.some((c) => c.name === name)) {
      showError(new Error(`There is already a class “${name}”.`));
      return;
    }
    classes.push({ name, clips: [], test: [] });
    $<HTMLInputElement>('ft-class-name').value = '';
    renderClasses();
  });
  $('ft-train').addEventListener('click', () => void train());
  $('ft-stop').addEventListener('click', stopTraining);
  $('ft-evaluate').addEventListener('click', () => {
    if (trainer) void runTask('Evaluating', (task) => showEvaluation(trainer!, task.signal));
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
      void refreshRuns();
    });
  });
  // One file: a .zip with model.json and its shards (it was one download per shard).
  $('ft-export-model').addEventListener('click', () => {
    if (trainer) void runTask('Exporting the model', async () => downloadFile(await trainer!.export('zip'), 'finetuned.zip'));
  });
  $('ft-export-pdparams').addEventListener('click', () => {
    if (!trainer) return;
    void runTask('Exporting a .pdparams', async () => {
      downloadFile(await trainer!.export('pdparams'), 'finetuned.pdparams');
      downloadFile(await trainer!.export('labels'), 'finetuned.labels.txt');
    });
  });
  for (const id of ['ft-strategy', 'ft-epochs', 'ft-segments']) $(id).addEventListener('change', persist);
  onModelChange(render);
  onBusyChange(updateButtons);
  drawChart($<HTMLCanvasElement>('ft-chart'), [], epochsWanted());
  render();
  void restorePanel();
  void refreshRuns();
}

/** Restores the panel saved by an earlier visit (classes, clip files, settings). */
async function restorePanel(): Promise<void> {
  const saved = await loadPanel();
  if (!saved || saved.classes.length === 0 || classes.length > 0) return;
  classes.push(...saved.classes.map((c) => ({ name: c.name, clips: [...c.clips], test: [...c.test] })));
  $<HTMLSelectElement>('ft-strategy').value = saved.strategy || 'head';
  $<HTMLInputElement>('ft-epochs').value = saved.epochs || '20';
  $<HTMLInputElement>('ft-segments').value = saved.segments ?? '';
  renderClasses();
  const n = classes.reduce((k, c) => k + c.clips.length, 0);
  $('ft-status').textContent = `Restored ${classes.length} classes and ${n} training clip${n === 1 ? '' : 's'} from your last visit${currentModel() ? ': press Train (a stored run resumes).' : '; load a model to train.'}`;
}

/** Lists the stored runs (PPTSN.trainingRuns) with Resume and Delete. */
async function refreshRuns(): Promise<void> {
  await renderRuns($('ft-runs'), {
    resume: (name) => void resumeRun(name),
    remove: (name) =>
      void runTask(`Deleting the run “${name}”`, async () => {
        if (trainer && (await trainer.info()).name === name) {
          await trainer.dispose();
          trainer = null;
          trainerKey = '';
          resumed = false;
        }
        await PPTSN.deleteTrainingRun(name);
        await refreshRuns();
        updateButtons();
      }),
  });
}

/** Reopens a stored run with its clips and checkpoint: Train continues it. */
async function resumeRun(name: string): Promise<void> {
  const m = await modelWhenReady();
  if (!m) {
    showError(new Error('Load a model first: a stored run resumes on the model it was trained from.'));
    return;
  }
  await runTask(`Opening the run “${name}”`, async () => {
    if (trainer) await trainer.dispose();
    trainer = null;
    clearFigures();
    const t = await m.createTrainer({ name, onEpoch, onProgress });
    const info = await t.info();
    trainer = t;
    trainerKey = keyOf();
    resumed = true;
    points = info.history.map(toPoint);
    drawChart($<HTMLCanvasElement>('ft-chart'), points, info.settings.epochs);
    $<HTMLInputElement>('ft-epochs').value = String(info.settings.epochs);
    const clips = await t.clips();
    $('ft-status').textContent = `Opened “${name}”: ${info.settings.classes.join(', ')} (${info.settings.strategy}), ${clips.length} clips, epoch ${info.epoch} of ${info.settings.epochs}. Train continues it.`;
  });
  updateButtons();
}
