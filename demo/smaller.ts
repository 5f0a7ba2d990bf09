/**
 * The "Make a smaller model" panel (issue 22 item 5): the loaded model teaches a smaller student (ResNet18 by
 * default) on clips the user drops without labels. The student starts from PaddleClas's ImageNet weights (the
 * official URL of its depth, or a dropped `.pdparams`; `createTrainer({ teacher, depth, pretrained })`), or, at the
 * teacher's own depth, from the teacher's backbone with a new head. It shows the agreement with the teacher per epoch
 * and on the held-out clips, the speed of both networks on the same clip (ms per clip), then saves the student
 * (a model `.zip`) and makes it the page's model.
 */
import { paddleClasPretrainedUrl, type PPTSN, type Trainer } from '../src/index.js';
import { isVideoFile } from './classify.js';
import type { PanelClip } from './finetuneStore.js';
import { clipsFromDrop } from './rawframes.js';
import { adoptModel, modelWhenReady, onModelChange } from './models.js';
import { $, downloadFile, el, isBusy, onBusyChange, runTask, showError } from './ui.js';

/** Student depths offered (PaddleClas publishes `ResNet{D}_vd_pretrained.pdparams` for each). */
const DEPTHS = [18, 34, 50] as const;

/** Video files, and rawframes folders dropped on the panel (one clip each). */
let clips: PanelClip[] = [];
/** The finished run: its trainer (in the teacher's worker), the student model, the teacher. */
let done: { trainer: Trainer<PPTSN>; student: PPTSN; teacher: PPTSN } | null = null;

function teacherDepth(m: PPTSN | null): number | null {
  return m ? m.info.depth : null;
}

/** Keeps the start choices consistent with the depth: "the teacher's backbone" only at the teacher's depth. */
function renderStart(teacher: PPTSN | null): void {
  const depth = Number($<HTMLSelectElement>('sm-depth').value);
  const own = $<HTMLOptionElement>('sm-start-teacher');
  own.disabled = depth !== teacherDepth(teacher);
  own.textContent = teacher ? `the teacher's own ResNet${teacher.info.depth} backbone, a new head` : "the teacher's own backbone, a new head";
  const start = $<HTMLSelectElement>('sm-start');
  if (own.disabled && start.value === 'teacher') start.value = 'url';
  const url = $<HTMLInputElement>('sm-url');
  if (!url.dataset.edited) url.value = paddleClasPretrainedUrl(depth as 18 | 34 | 50);
  $('sm-url-row').hidden = start.value !== 'url';
  $('sm-file-row').hidden = start.value !== 'file';
  updateButtons();
}

function renderClips(): void {
  $('sm-clips').textContent = clips.length ? `${clips.length} clip${clips.length === 1 ? '' : 's'} without labels: ${clips.map((f) => f.name).join(', ')}` : 'No clips yet.';
  updateButtons();
}

function updateButtons(): void {
  const busy = isBusy();
  $<HTMLButtonElement>('sm-make').disabled = busy || clips.length === 0;
  $<HTMLButtonElement>('sm-use').disabled = busy || !done;
}

function addClips(files: File[], folders: PanelClip[] = []): void {
  const other = files.filter((f) => !isVideoFile(f));
  if (other.length) showError(new Error(`${other.map((f) => `“${f.name}”`).join(', ')}: not a video. The student learns from video clips, or rawframes folders dropped here.`));
  clips.push(...files.filter(isVideoFile), ...folders);
  renderClips();
}

/** What `pretrained` gets: the URL field, the picked file, or nothing (the teacher's backbone). */
function pretrainedChoice(): string | File | undefined {
  const start = $<HTMLSelectElement>('sm-start').value;
  if (start === 'teacher') return undefined;
  if (start === 'file') {
    const f = $<HTMLInputElement>('sm-weights').files?.[0];
    if (!f) throw new Error('Pick the student’s ImageNet weights (ResNet18_vd_pretrained.pdparams), or choose another start.');
    return f;
  }
  return $<HTMLInputElement>('sm-url').value.trim();
}

/** A panel clip as the library takes it: the video File, or a rawframes clip's frame Files. */
const sourceOf = (c: PanelClip): File | File[] => (c instanceof File ? c : c.frames);

/** Inference time of one clip (ms, the network's share: `timings.inferenceMs`), preset fast, after a warm-up. */
async function msPerClip(m: PPTSN, clip: PanelClip, signal: AbortSignal): Promise<number> {
  await m.classify(sourceOf(clip), { preset: 'fast', signal });
  return (await m.classify(sourceOf(clip), { preset: 'fast', signal })).timings.inferenceMs;
}

async function disposeRun(): Promise<void> {
  const old = done;
  done = null;
  if (!old) return;
  await old.trainer.dispose().catch(() => undefined);
  await old.student.dispose().catch(() => undefined);
}

async function make(): Promise<void> {
  const teacher = await modelWhenReady();
  if (!teacher) return showError(new Error('Load a model first: it is the teacher.'));
  await disposeRun();
  const depth = Number($<HTMLSelectElement>('sm-depth').value);
  const epochs = Math.max(1, Number($<HTMLInputElement>('sm-epochs').value) || 10);
  const segments = Number($<HTMLInputElement>('sm-segments').value);
  const status = $('sm-status');
  const result = $('sm-result');
  result.replaceChildren();
  await runTask('Making a smaller model', async (task) => {
    const pretrained = pretrainedChoice();
    task.progress('Starting the student');
    const trainer = await teacher.createTrainer({
      teacher,
      depth,
      ...(pretrained !== undefined ? { pretrained } : {}),
      strategy: 'head',
      epochs,
      ...(segments >= 1 ? { segments } : {}),
      name: `student-resnet${depth}`,
      persist: false,
      signal: task.signal,
      onEpoch: (e) => {
        status.textContent = `Epoch ${e.epoch}: agreement with the teacher ${e.agreement === undefined ? '—' : `${Math.round(100 * e.agreement)} %`}`;
      },
      onProgress: (p) => task.progress(`Student: ${p.phase}`, p.done, p.total),
    });
    try {
      for (const c of clips) await trainer.addClip(sourceOf(c));
      await trainer.fit({ signal: task.signal });
      const ev = await trainer.evaluate();
      task.progress('Building the student');
      const student = await trainer.toModel();
      task.progress('Timing both networks');
      const [tMs, sMs] = [await msPerClip(teacher, clips[0]!, task.signal), await msPerClip(student, clips[0]!, task.signal)];
      done = { trainer, student, teacher };
      result.replaceChildren(
        el('p', { className: 'accuracy', id: 'sm-agreement' }, `Agreement with the teacher: ${ev.agreement === undefined ? '—' : `${Math.round(100 * ev.agreement)} %`} of ${ev.clips} ${ev.split === 'validation' ? 'held-out' : ''} clips`),
        el('p', { id: 'sm-speed' }, `Speed on ${clips[0]!.name}: teacher ResNet${teacher.info.depth} ${tMs.toFixed(0)} ms per clip · student ResNet${student.info.depth} ${sMs.toFixed(0)} ms per clip (${(tMs / Math.max(sMs, 1e-3)).toFixed(1)}× ${tMs >= sMs ? 'faster' : 'as fast'})`),
      );
      status.textContent = 'Done: save the student to download it and classify with it.';
    } catch (e) {
      await trainer.dispose().catch(() => undefined);
      throw e;
    }
  });
  updateButtons();
}

/** Downloads the student (model.json + shards in a `.zip`) and makes it the page's model; frees the teacher. */
async function useStudent(): Promise<void> {
  const run = done;
  if (!run) return;
  await runTask('Saving the student', async () => {
    const zip = await run.trainer.export('zip');
    downloadFile(zip, `student-resnet${run.student.info.depth}.zip`);
    done = null;
    await run.trainer.dispose().catch(() => undefined);
    // The page's model becomes the student; adoptModel frees the old one (the teacher) when it is the page's.
    adoptModel(run.student);
    $('sm-status').textContent = `The student (ResNet${run.student.info.depth}) is now the page’s model, saved as ${zip instanceof File ? zip.name : 'a .zip'}: classify a video with it above.`;
  });
  updateButtons();
}

export function initSmaller(): void {
  const depth = $<HTMLSelectElement>('sm-depth');
  depth.replaceChildren(...DEPTHS.map((d) => el('option', { value: String(d) }, `ResNet${d}`)));
  depth.addEventListener('change', () => void modelWhenReady().then(renderStart));
  $('sm-start').addEventListener('change', () => void modelWhenReady().then(renderStart));
  $('sm-url').addEventListener('input', (ev) => ((ev.target as HTMLInputElement).dataset.edited = '1'));
  $<HTMLInputElement>('sm-clip-files').addEventListener('change', (ev) => {
    const input = ev.target as HTMLInputElement;
    addClips([...(input.files ?? [])]);
    input.value = '';
  });
  $('sm-clear').addEventListener('click', () => {
    clips = [];
    renderClips();
  });
  const zone = $('sm-drop');
  zone.addEventListener('dragover', (ev) => ev.preventDefault());
  zone.addEventListener('drop', (ev) => {
    // Clips dropped here are the student's, not the page-wide classify drop.
    ev.preventDefault();
    ev.stopPropagation();
    // A dropped rawframes folder is one clip, as the page-wide classify drop takes it.
    void clipsFromDrop(ev).then(({ folders, files }) => addClips(files, folders));
  });
  $('sm-make').addEventListener('click', () => void make());
  $('sm-use').addEventListener('click', () => void useStudent());
  onModelChange((m) => renderStart(m));
  onBusyChange(updateButtons);
  renderStart(null);
  renderClips();
}
