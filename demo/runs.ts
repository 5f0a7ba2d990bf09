/**
 * The fine-tune panel's list of stored runs (`PPTSN.trainingRuns()`): name, classes, strategy, epochs done and
 * planned, last accuracy, clips and size, each with Resume (reopens it with its clips and checkpoint) and Delete.
 */
import { PPTSN } from '../src/index.js';
import { $, el, formatBytes } from './ui.js';

export async function renderRuns(list: HTMLElement, actions: { resume(name: string): void; remove(name: string): void }): Promise<void> {
  const runs = await PPTSN.trainingRuns().catch(() => []);
  $('ft-runs-title').hidden = runs.length === 0;
  list.replaceChildren(
    ...runs.map((r) => {
      const resume = el('button', { type: 'button', className: 'secondary' }, 'Resume');
      resume.setAttribute('aria-label', `Resume the run ${r.name}`);
      resume.addEventListener('click', () => actions.resume(r.name));
      const remove = el('button', { type: 'button', className: 'danger' }, 'Delete');
      remove.setAttribute('aria-label', `Delete the run ${r.name}`);
      remove.addEventListener('click', () => actions.remove(r.name));
      const acc = r.accuracy === null ? '' : `, accuracy ${(100 * r.accuracy).toFixed(1)} %`;
      const row = el(
        'li',
        {},
        el('span', { class: 'cls' }, r.name),
        el('span', { class: 'muted small' }, `${r.classes.join(', ')} · ${r.strategy} · epoch ${r.epoch}/${r.epochs}${acc} · ${r.clips} clips · ${formatBytes(r.bytes)}`),
        resume,
        remove,
      );
      row.dataset.run = r.name;
      return row;
    }),
  );
}
