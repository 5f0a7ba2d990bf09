/**
 * The Classify panel: a dropped/picked file, a URL or the webcam → top-5 with score bars, the timing split, and the
 * sampled frames as a strip with the preset's crop boxes drawn on them.
 */
import { frameCropBoxes, type ClassifyOptions, type ClassifyResult, type PPTSN, type Prediction, type PresetName, type RawframesSource, type StreamHandle, type StreamResult } from '../src/index.js';
import { currentModel, modelWhenReady, onModelChange, refreshBackend } from './models.js';
import { $, el, formatMs, isBusy, onBusyChange, runTask, showError } from './ui.js';

const video = () => $<HTMLVideoElement>('video');
let objectUrl: string | null = null;

function options(): { preset: PresetName; segments?: number } {
  const preset = $<HTMLSelectElement>('preset').value as PresetName;
  const raw = $<HTMLInputElement>('segments').value.trim();
  const segments = raw ? Math.round(Number(raw)) : NaN;
  return Number.isFinite(segments) && segments >= 1 ? { preset, segments } : { preset };
}

/** The model, after any load or conversion under way (a video given meanwhile waits for it, not refused). */
async function requireModel(): Promise<PPTSN | null> {
  const m = await modelWhenReady();
  if (!m) showError(new Error('Load a model first (section 1): a model.json URL, the weights/ folder, a cached model, or a dropped .pdparams file.'));
  return m;
}

/** Shows the source in the player; resolves once its first frame is there (or it failed: the worker decodes anyway). */
async function show(src: string): Promise<void> {
  const v = video();
  stopWebcam();
  v.srcObject = null;
  v.src = src;
  await new Promise<void>((resolve) => {
    const done = () => {
      v.removeEventListener('loadeddata', done);
      v.removeEventListener('error', done);
      resolve();
    };
    v.addEventListener('loadeddata', done);
    v.addEventListener('error', done);
  });
}

export async function classifyFile(file: File): Promise<void> {
  const m = await requireModel();
  if (!m) return;
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = URL.createObjectURL(file);
  await show(objectUrl);
  await classifySource(m, file, file.name);
}

/** A rawframes folder: classified like a video; no preview or frame strip (the frames have no timestamps). */
export async function classifyRawframes(source: RawframesSource, name: string): Promise<void> {
  const m = await requireModel();
  if (!m) return;
  await classifySource(m, source, name);
}

async function classifyUrl(url: string): Promise<void> {
  const m = await requireModel();
  if (!m) return;
  await show(url);
  await classifySource(m, url, url);
}

async function classifySource(m: PPTSN, source: Blob | string | RawframesSource, name: string): Promise<void> {
  const opts = options();
  $('strip').replaceChildren();
  $('top5').classList.remove('cancelled');
  let seen: { done: number; total: number } | null = null;
  let cancelled = false;
  const result = await runTask(`Classifying ${name}`, async (task) => {
    task.signal.addEventListener('abort', () => (cancelled = true), { once: true });
    task.progress(`Classifying ${name} (decode → preprocess → ${m.backend})`);
    $('top5').classList.remove('running');
    return m.classify(source, {
      ...opts,
      topK: 5,
      signal: task.signal,
      // The running top-5 (features averaged so far) from the first chunk on, with a determinate bar.
      onProgress: (p) => {
        // An AVI or other file WebCodecs cannot read: ffmpeg.wasm decodes it first.
        if (p.decoding !== undefined) {
          task.progress(`Decoding ${name} with ffmpeg.wasm`, Math.round(p.decoding * 100), 100, `${Math.round(p.decoding * 100)} %`);
          return;
        }
        seen = { done: p.done, total: p.total };
        task.progress(`Classifying ${name} on ${m.backend}`, p.done, p.total, `${p.done} / ${p.total} images; top-5 so far`);
        $('top5').classList.toggle('running', p.done < p.total);
        renderTop(p.top);
      },
    });
  });
  $('top5').classList.remove('running');
  refreshBackend();
  if (!result && cancelled) {
    // A cancelled call's running top-5 is partial: say so instead of leaving it looking final.
    const partial = seen as { done: number; total: number } | null;
    $('top5').classList.add('cancelled');
    $('top5').prepend(el('li', { className: 'muted cancelled-note' }, partial && partial.done > 0 ? `Cancelled: partial top-5 from ${partial.done} of ${partial.total} images, not a result.` : 'Cancelled.'));
    $('timings').replaceChildren();
  }
  if (!result) return;
  renderResult(result, m.backend);
  if (typeof source !== 'string' && !(source instanceof Blob)) return;
  // The strip needs each sampled frame's timestamp; preprocess (centre crop, same frames) reports them.
  await runTask('Drawing the sampled frames', async (task) => {
    const pre = await m.preprocess(source, { ...opts, crops: 'center', signal: task.signal } satisfies ClassifyOptions);
    await drawStrip(pre.frameIndices, pre.timestamps, opts.preset, task.signal);
  });
}

function renderResult(r: ClassifyResult, backend: string): void {
  renderTop(r.top);
  const t = r.timings;
  $('timings').replaceChildren(
    ...[
      ['Decode', formatMs(t.decodeMs)],
      ['Preprocess', formatMs(t.preprocessMs)],
      ['Inference', formatMs(t.inferenceMs)],
      ['Total', formatMs(t.totalMs)],
      ['Backend', backend],
      ['Frames', `${r.frameIndices.length} (${r.frameIndices.join(', ')})`],
    ].flatMap(([k, v]) => [el('dt', {}, k!), el('dd', {}, v!)]),
  );
}

function renderTop(top: Prediction[]): void {
  $('top5').replaceChildren(
    ...top.map((p) => {
      const pct = (100 * p.score).toFixed(1);
      const fill = el('div');
      fill.style.width = `${Math.max(0.5, 100 * p.score)}%`;
      const bar = el('div', { class: 'bar' }, fill);
      bar.setAttribute('role', 'meter');
      bar.setAttribute('aria-valuenow', pct);
      bar.setAttribute('aria-valuemin', '0');
      bar.setAttribute('aria-valuemax', '100');
      bar.setAttribute('aria-label', `${p.label} score`);
      return el('li', {}, el('div', { class: 'label' }, el('span', { title: p.label }, p.label.replace(/_/g, ' ')), el('span', {}, `${pct} %`)), bar);
    }),
  );
}

function waitFor(target: EventTarget, event: string, signal: AbortSignal, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      target.removeEventListener(event, done);
      signal.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      target.removeEventListener(event, done);
      reject(new DOMException('aborted', 'AbortError'));
    }
    target.addEventListener(event, done, { once: true });
    signal.addEventListener('abort', abort, { once: true });
  });
}

/** Seeks the player to each sampled frame, draws it small, and outlines the crops the network saw. */
async function drawStrip(indices: number[], timestamps: number[], preset: PresetName, signal: AbortSignal): Promise<void> {
  const v = video();
  const strip = $('strip');
  strip.replaceChildren();
  if (!v.videoWidth || v.readyState < 1) {
    strip.append(el('p', { class: 'muted small' }, 'The browser cannot show this video, so the frames cannot be drawn (the classification above is still valid).'));
    return;
  }
  // Seek to the middle of each frame's display interval: exactly at its timestamp a seek may land on the previous one.
  const span = indices.length > 1 ? (timestamps.at(-1)! - timestamps[0]!) / Math.max(1, indices.at(-1)! - indices[0]!) : 1 / 30;
  const half = Math.max(0, span / 2);
  const wasPaused = v.paused;
  const resumeAt = v.currentTime;
  v.pause();
  const h = 120;
  const w = Math.round((h * v.videoWidth) / v.videoHeight);
  const boxes = frameCropBoxes({ width: v.videoWidth, height: v.videoHeight }, preset);
  const sx = w / v.videoWidth;
  for (let i = 0; i < indices.length; i++) {
    if (signal.aborted) return;
    const t = Math.min(timestamps[i]! + half, Math.max(0, v.duration - 0.001));
    if (Math.abs(v.currentTime - t) > 1e-4) {
      const seeked = waitFor(v, 'seeked', signal);
      v.currentTime = t;
      await seeked;
    }
    const canvas = el('canvas', { width: w * 2, height: h * 2 });
    canvas.setAttribute('aria-label', `Frame ${indices[i]} at ${timestamps[i]!.toFixed(2)} s`);
    const ctx = canvas.getContext('2d')!;
    ctx.scale(2, 2);
    ctx.drawImage(v, 0, 0, w, h);
    ctx.lineWidth = 1.5;
    for (const b of boxes) {
      ctx.strokeStyle = b.flip ? 'rgba(255, 214, 0, .9)' : 'rgba(0, 255, 140, .95)';
      ctx.setLineDash(b.flip ? [3, 3] : []);
      ctx.strokeRect(b.x * sx + 0.75, b.y * sx + 0.75, b.width * sx - 1.5, b.height * sx - 1.5);
    }
    strip.append(el('figure', {}, canvas, el('figcaption', {}, `#${indices[i]} · ${timestamps[i]!.toFixed(2)} s`)));
  }
  v.currentTime = resumeAt;
  if (!wasPaused) void v.play();
}

// ---- Webcam ------------------------------------------------------------------------------------------------------

// Live classification: `model.classifyStream` keeps a window of per-frame features in the worker, so each newly
// sampled camera frame costs one backbone pass.
const WINDOW_SECONDS = 2.5;
let webcam: { stream: MediaStream; stop: AbortController; handle?: StreamHandle } | null = null;

function stopWebcam(): void {
  if (!webcam) return;
  const { stream, stop, handle } = webcam;
  webcam = null;
  stop.abort();
  void handle?.stop().catch(() => undefined);
  stream.getTracks().forEach((t) => t.stop());
  const v = video();
  v.srcObject = null;
  $('webcam-toggle').textContent = 'Start webcam (live)';
  updateWebcamAvailability(currentModel());
}

/** Live strip: the frame on screen when each result arrived, the newest last (the window's frames, approximately). */
function pushLiveThumb(v: HTMLVideoElement, keep: number): void {
  if (!v.videoWidth) return;
  const strip = $('strip');
  const h = 120;
  const w = Math.round((h * v.videoWidth) / v.videoHeight);
  // Twice the CSS size, so the thumbnail stays sharp on high-density screens.
  const canvas = el('canvas', { width: w * 2, height: h * 2 });
  const boxes = frameCropBoxes({ width: v.videoWidth, height: v.videoHeight }, 'fast');
  const ctx = canvas.getContext('2d');
  if (ctx) {
    ctx.scale(2, 2);
    ctx.drawImage(v, 0, 0, w, h);
    ctx.strokeStyle = 'rgba(0, 255, 140, .95)';
    ctx.lineWidth = 1.5;
    for (const b of boxes) ctx.strokeRect((b.x * w) / v.videoWidth, (b.y * w) / v.videoWidth, (b.width * w) / v.videoWidth, (b.height * w) / v.videoWidth);
  }
  strip.append(el('figure', {}, canvas, el('figcaption', {}, new Date().toLocaleTimeString())));
  while (strip.children.length > keep) strip.firstElementChild?.remove();
}

function renderLive(r: StreamResult, handle: StreamHandle | undefined): void {
  renderTop(r.top);
  const t = r.timings;
  $('timings').replaceChildren(
    ...[
      ['Mode', `live, ${WINDOW_SECONDS} s window`],
      ['Preprocess', formatMs(t.preprocessMs)],
      ['Inference', formatMs(t.inferenceMs)],
      ['Grab → result', formatMs(t.totalMs)],
      ['Backend', r.backend],
      ['Frames', `${r.frames} in window${handle ? ` · ${handle.results} results, ${handle.dropped} dropped` : ''}`],
    ].flatMap(([k, v]) => [el('dt', {}, k!), el('dd', {}, v!)]),
  );
}

async function toggleWebcam(): Promise<void> {
  if (webcam) {
    stopWebcam();
    return;
  }
  const m = await requireModel();
  if (!m) return;
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (e) {
    showError(new Error(`The webcam could not be opened: ${(e as Error).message}. Allow camera access for this page and try again.`));
    return;
  }
  const v = video();
  v.removeAttribute('src');
  v.srcObject = stream;
  await v.play().catch(() => undefined);
  const stop = new AbortController();
  const session: { stream: MediaStream; stop: AbortController; handle?: StreamHandle } = { stream, stop };
  webcam = session;
  $('webcam-toggle').textContent = 'Stop webcam';
  $('strip').replaceChildren();
  const segments = options().segments ?? 8;
  try {
    const handle = m.classifyStream(v, {
      windowSeconds: WINDOW_SECONDS,
      segments,
      preset: 'fast',
      topK: 5,
      signal: stop.signal,
      onResult: (r) => {
        renderLive(r, session.handle);
        pushLiveThumb(v, segments);
      },
      onError: (e) => showError(e),
    });
    session.handle = handle;
    await handle.done;
  } catch (e) {
    if (!stop.signal.aborted) showError(e);
  } finally {
    if (webcam === session) stopWebcam();
  }
}

function updateWebcamAvailability(m: PPTSN | null): void {
  const button = $<HTMLButtonElement>('webcam-toggle');
  const note = $('webcam-note');
  if (webcam) {
    button.disabled = false;
    note.textContent = `Live: each result averages the last ${WINDOW_SECONDS} s of the camera.`;
  } else if (!navigator.mediaDevices?.getUserMedia) {
    button.disabled = true;
    note.textContent = 'No camera access here (the page must be served over HTTPS or from localhost).';
  } else {
    button.disabled = isBusy() || !m;
    note.textContent = m ? `Classifies a sliding ${WINDOW_SECONDS} s window of the camera.` : 'Load a model first.';
  }
}

// ---- Wiring ------------------------------------------------------------------------------------------------------

export function isVideoFile(f: File): boolean {
  return f.type.startsWith('video/') || /\.(mp4|m4v|mov|webm|mkv|ogv|avi)$/i.test(f.name);
}

export function initClassify(): void {
  $<HTMLInputElement>('video-file').addEventListener('change', (ev) => {
    const input = ev.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (file) void classifyFile(file);
  });
  $('video-url-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const url = $<HTMLInputElement>('video-url').value.trim();
    if (!url) {
      showError(new Error('Paste the URL of a video (its server must allow CORS), or drop a file.'));
      return;
    }
    void classifyUrl(url);
  });
  $('webcam-toggle').addEventListener('click', () => void toggleWebcam());
  onModelChange((m) => {
    // The live stream belongs to the model that started it.
    if (webcam) stopWebcam();
    updateWebcamAvailability(m);
  });
  onBusyChange((busy) => {
    for (const id of ['video-file', 'video-url-go']) $<HTMLButtonElement | HTMLInputElement>(id).disabled = busy;
    updateWebcamAvailability(currentModel());
  });
  updateWebcamAvailability(currentModel());
}
