/**
 * The fine-tune panel's held-out evaluation: clips the user set aside per class (never given to the trainer) are
 * classified by the fine-tuned model with `model.evaluate`, and the summary is shown as PaddleVideo reports it
 * (top-1/top-5), per-class accuracy and the confusion matrix.
 */
import type { EvalSummary, EvaluateItem, PPTSN } from '../src/index.js';
import { el } from './ui.js';

/** Runs `model.evaluate` on each class's held-out clips (label = the class's position). */
export async function evaluateHeldOut(model: PPTSN, classes: readonly { name: string; heldOut: File[] }[], signal: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<EvalSummary> {
  const items: EvaluateItem[] = classes.flatMap((c, label) => c.heldOut.map((f) => ({ source: f, label, name: f.name })));
  return model.evaluate(items, { preset: 'fast', signal, onProgress: (p) => onProgress?.(p.done, p.total) });
}

/** Per-class accuracy and the confusion matrix as a table (rows: true class, columns: predicted). */
export function renderEvaluation(container: HTMLElement, s: EvalSummary): void {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const head = el('tr', {}, el('th', {}, 'true \\ predicted'), ...s.perClass.map((c) => el('th', {}, c.label)), el('th', {}, 'accuracy'));
  const rows = s.perClass.map((c, i) => el('tr', {}, el('th', {}, c.label), ...s.confusion[i]!.map((n, j) => el('td', { className: n && i === j ? 'hit' : n ? 'miss' : '' }, String(n))), el('td', {}, c.top1 === null ? '–' : `${pct(c.top1)} (${c.correct}/${c.count})`)));
  container.replaceChildren(
    el('p', {}, `Held-out clips: top-1 ${pct(s.top1)}, top-5 ${pct(s.top5)} over ${s.count} clip${s.count === 1 ? '' : 's'}${s.failed ? `, ${s.failed} failed` : ''}`),
    el('table', { className: 'confusion' }, el('thead', {}, head), el('tbody', {}, ...rows)),
    ...s.failures.map((f) => el('p', { className: 'muted small' }, `failed: ${f.path}: ${f.message}`)),
  );
}
