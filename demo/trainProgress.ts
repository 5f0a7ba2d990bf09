/** The fine-tune panel's progress line: the trainer's phase, its counts and its one ETA (TrainingProgress). */
import type { TrainingProgress } from '../src/index.js';
import { formatMs } from './ui.js';

/** Label, bar position and detail for a progress event (null: nothing to show). */
export function describeProgress(p: TrainingProgress): { label: string; done: number; total: number; detail: string } | null {
  const eta = p.etaMs !== null && p.etaMs > 0 ? ` · ETA ${formatMs(p.etaMs)}` : '';
  switch (p.phase) {
    case 'features':
      return { label: 'Computing features', done: p.done, total: p.total, detail: `clip ${Math.min(p.total, Math.floor(p.done) + 1)} of ${p.total}${p.view ? `, view ${p.view}/${p.views}` : ''}${eta}` };
    case 'training':
      return { label: 'Training', done: p.done, total: p.total, detail: `epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.steps}${eta}` };
    case 'validating':
      return { label: 'Validating', done: p.done, total: p.total, detail: `epoch ${p.epoch}/${p.epochs}: ${p.done}/${p.total} validation clips${eta}` };
    case 'saving':
      return { label: 'Saving a checkpoint', done: 0, total: 0, detail: `after epoch ${p.epoch}/${p.epochs}${eta}` };
    case 'stopping':
      return { label: 'Stopping…', done: 0, total: 0, detail: 'after the current clip, then a checkpoint' };
    default:
      return null;
  }
}
