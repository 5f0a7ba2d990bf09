/**
 * pptsn-web demo entry: wires the four panels (model, classify, fine-tune, make a smaller model) and page-wide drag and drop. The demo
 * uses only pptsn-web's public API, like any app would.
 */
import { classifyFile, classifyRawframes, initClassify, isVideoFile } from './classify.js';
import { rawframesFromDrop } from './rawframes.js';
import { initFinetune } from './finetune.js';
import { initSmaller } from './smaller.js';
import { convertFiles, initModels } from './models.js';
import { $, cancelTask, clearError, showError } from './ui.js';

function isWeightFile(f: File): boolean {
  return /\.(pdparams|pdiparams|info)$/i.test(f.name);
}

/** Routes dropped files by kind, wherever they land: weights are converted, videos classified. */
function handleDrop(files: File[]): void {
  if (files.length === 0) return;
  if (files.some(isWeightFile)) void convertFiles(files);
  else if (isVideoFile(files[0]!)) void classifyFile(files[0]!);
  else showError(new Error(`"${files[0]!.name}" is neither a video nor a .pdparams/.pdiparams weight file.`));
}

function initDragAndDrop(): void {
  // Without preventDefault on dragover a drop anywhere would navigate away to the file.
  window.addEventListener('dragover', (ev) => ev.preventDefault());
  window.addEventListener('drop', (ev) => {
    ev.preventDefault();
    // Drops handled by the zones below (fine-tune class rows) stop propagation; the rest are routed here.
    // A dropped rawframes folder (or its img_*.jpg files) is classified as one clip.
    const files = [...(ev.dataTransfer?.files ?? [])];
    void rawframesFromDrop(ev).then((raw) => (raw ? classifyRawframes(raw.source, raw.name) : handleDrop(files)));
  });
  for (const zone of document.querySelectorAll<HTMLElement>('.dropzone')) {
    zone.addEventListener('dragenter', () => zone.classList.add('over'));
    zone.addEventListener('dragleave', (ev) => {
      if (!zone.contains(ev.relatedTarget as Node | null)) zone.classList.remove('over');
    });
    zone.addEventListener('drop', () => zone.classList.remove('over'));
  }
}

function main(): void {
  $('progress-cancel').addEventListener('click', cancelTask);
  $('error-close').addEventListener('click', clearError);
  $('isolation').textContent = globalThis.crossOriginIsolated
    ? 'cross-origin isolated: multi-threaded WASM available'
    : 'not cross-origin isolated: WASM runs single-threaded';
  initDragAndDrop();
  initClassify();
  initFinetune();
  initSmaller();
  void initModels().finally(() => document.body.setAttribute('data-ready', 'true'));
}

main();
