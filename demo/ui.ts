/**
 * Small DOM helpers shared by the demo's panels: element lookup, the progress bar every long wait goes through,
 * readable error messages, and formatting.
 */
import { isPPTSNError } from '../src/index.js';

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo: #${id} is missing from index.html`);
  return el as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { class?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  const { class: cls, ...rest } = props;
  if (cls) node.className = cls;
  Object.assign(node, rest);
  node.append(...children);
  return node;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export function formatMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** What each error code means for someone using the page, in front of the library's own message. */
const HINTS: Record<string, string> = {
  'model-invalid': 'The model files are not valid PP-TSN weights',
  'unsupported-source': 'This video cannot be read here',
  'decode-failed': 'The video could not be decoded',
  'video-too-short': 'The video has no frames to classify',
  'no-video-stream': 'The file has no video stream (audio only?)',
  'cross-origin': 'The video’s server does not allow this page to read it (no CORS headers); download it and drop the file instead',
  'backend-unavailable': 'That backend cannot start in this browser; pick another one or “auto”',
  aborted: 'Cancelled',
  'device-lost': 'The GPU was lost',
  'out-of-memory': 'Out of memory; try the fast preset, fewer frames or another backend',
  network: 'A download failed',
  integrity: 'A download was corrupted',
  'invalid-argument': 'Invalid input',
  storage: 'Browser storage failed',
  internal: 'Something went wrong',
};

export function describeError(e: unknown): string {
  if (isPPTSNError(e)) {
    const hint = HINTS[e.code];
    return hint ? `${hint}: ${e.message}` : e.message;
  }
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

export function showError(e: unknown): void {
  if (isPPTSNError(e) && e.code === 'aborted') return;
  $('error-text').textContent = describeError(e);
  $('error').hidden = false;
}

export function clearError(): void {
  $('error').hidden = true;
  $('error-text').textContent = '';
}

/** One long-running task at a time: shows the progress bar, offers Cancel, reports errors in the page. */
export interface Task {
  signal: AbortSignal;
  /** Determinate progress (`total` > 0) or an indeterminate bar with elapsed time (`total` 0). */
  progress(label: string, loaded?: number, total?: number, detail?: string): void;
}

let current: AbortController | null = null;
const busyListeners = new Set<(busy: boolean) => void>();

export function onBusyChange(f: (busy: boolean) => void): void {
  busyListeners.add(f);
}

export function isBusy(): boolean {
  return current !== null;
}

/**
 * Runs `work` with the progress bar. Every wait in the demo goes through here so that nothing long happens without
 * a visible indicator and a way to cancel; returns undefined when the task failed (the error is shown) or was
 * cancelled.
 */
export async function runTask<T>(label: string, work: (task: Task) => Promise<T>): Promise<T | undefined> {
  // A task started while another runs (a video dropped during the model's warm-up) waits its turn instead of
  // being dropped: tasks run one at a time, in the order they came.
  const turn = queue;
  let release!: () => void;
  queue = new Promise<void>((r) => (release = r));
  try {
    await turn;
    return await runNow(label, work);
  } finally {
    release();
  }
}

/** The tail of the task queue: resolves when the last task started so far has finished. */
let queue: Promise<void> = Promise.resolve();

async function runNow<T>(label: string, work: (task: Task) => Promise<T>): Promise<T | undefined> {
  clearError();
  const controller = new AbortController();
  current = controller;
  busyListeners.forEach((f) => f(true));
  const box = $('progress');
  const bar = $<HTMLProgressElement>('progress-bar');
  const text = $('progress-label');
  const detail = $('progress-detail');
  const started = performance.now();
  let currentLabel = label;
  let determinate = false;
  const tick = () => {
    if (!determinate) detail.textContent = `${((performance.now() - started) / 1000).toFixed(1)} s`;
  };
  const timer = setInterval(tick, 100);
  const task: Task = {
    signal: controller.signal,
    progress(l, loaded = 0, total = 0, d) {
      if (l !== currentLabel) {
        currentLabel = l;
        text.textContent = l;
      }
      determinate = total > 0;
      if (determinate) {
        bar.max = total;
        bar.value = Math.min(loaded, total);
        detail.textContent = d ?? `${Math.round((100 * loaded) / total)} %`;
      } else {
        bar.removeAttribute('value');
        if (d) detail.textContent = d;
        else tick();
      }
    },
  };
  text.textContent = label;
  bar.removeAttribute('value');
  detail.textContent = '';
  box.hidden = false;
  try {
    return await work(task);
  } catch (e) {
    if (!controller.signal.aborted) showError(e);
    return undefined;
  } finally {
    clearInterval(timer);
    box.hidden = true;
    current = null;
    busyListeners.forEach((f) => f(false));
  }
}

export function cancelTask(): void {
  current?.abort();
}

/** Saves `data` as a download named `name`. */
export function download(data: Blob | ArrayBuffer | Uint8Array | string, name: string): void {
  const blob = data instanceof Blob ? data : new Blob([typeof data === 'string' ? data : (data as BlobPart)]);
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Saves a Blob or File as a download (a File keeps its own name). */
export function downloadFile(f: Blob, fallback: string): void {
  download(f, f instanceof File ? f.name : fallback);
}
