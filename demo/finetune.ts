/**
 * The Fine-tune panel. Placeholder until the trainer API lands: says clearly that fine-tuning is unavailable.
 */
import { currentModel, onModelChange } from './models.js';
import { $ } from './ui.js';

function hasTrainer(): boolean {
  const m = currentModel();
  return !!m && typeof (m as unknown as { createTrainer?: unknown }).createTrainer === 'function';
}

function render(): void {
  const available = hasTrainer();
  const note = $('ft-unavailable');
  note.hidden = available;
  note.textContent = 'Fine-tuning is unavailable in this build of pptsn-web: the model has no createTrainer() yet.';
  for (const c of document.querySelectorAll<HTMLButtonElement | HTMLInputElement | HTMLSelectElement>('#ft-panel button, #ft-panel input, #ft-panel select')) c.disabled = !available;
}

export function initFinetune(): void {
  onModelChange(render);
  render();
}
