/**
 * The fine-tune panel's test clips: clips the user set aside per class (never given to the trainer; not the trainer's
 * own validation split, which comes from the training clips) are classified by the fine-tuned model with `model.evaluate`, and the summary is shown as PaddleVideo reports it
 * (top-1/top-5), per-class accuracy and the confusion matrix.
 */
import type { EvalSummary, EvaluateItem, PPTSN, Trainer } from '../src/index.js';
import { el } from './ui.js';

/** Runs `model.evaluate` on each class's test clips (label = the class's position). */
export async function evaluateTestClips(model: PPTSN, classes: readonly { name: string; test: File[] }[], signal: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<EvalSummary> {
  const items: EvaluateItem[] = classes.flatMap((c, label) => c.test.map((f) => ({ source: f, label, name: f.name })));
  return model.evaluate(items, { preset: 'fast', signal, onProgress: (p) => onProgress?.(p.done, p.total) });
}

/** Per-class accuracy and the confusion matrix as a table (rows: true class, columns: predicted). */
export function renderEvaluation(container: HTMLElement, s: EvalSummary): void {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const head = el('tr', {}, el('th', {}, 'true \\ predicted'), ...s.perClass.map((c) => el('th', {}, c.label)), el('th', {}, 'accuracy'));
  const rows = s.perClass.map((c, i) => el('tr', {}, el('th', {}, c.label), ...s.confusion[i]!.map((n, j) => el('td', { className: n && i === j ? 'hit' : n ? 'miss' : '' }, String(n))), el('td', {}, c.top1 === null ? '–' : `${pct(c.top1)} (${c.correct}/${c.count})`)));
  container.replaceChildren(
    el('p', {}, `Test clips: top-1 ${pct(s.top1)}, top-5 ${pct(s.top5)} over ${s.count} clip${s.count === 1 ? '' : 's'}${s.failed ? `, ${s.failed} failed` : ''}`),
    el('table', { className: 'confusion' }, el('thead', {}, head), el('tbody', {}, ...rows)),
    ...s.failures.map((f) => el('p', { className: 'muted small' }, `failed: ${f.path}: ${f.message}`)),
  );
}

/**
 * The trainer's accuracy on its validation split ("validation clips": its own split of the training clips), then,
 * when the user set test clips aside, the fine-tuned model on them ("test clips").
 */
export async function showTrainerEvaluation(t: Trainer<PPTSN>, classes: readonly { name: string; test: File[] }[], table: HTMLElement, setAccuracy: (text: string) => void, signal?: AbortSignal): Promise<void> {
  const r = await t.evaluate();
  const s = r.clips === 1 ? '' : 's';
  setAccuracy(
    r.split === 'validation'
      ? `Accuracy: ${(100 * r.accuracy).toFixed(1)} % on ${r.clips} validation clip${s} (the trainer's own split of the training clips)`
      : `Accuracy: ${(100 * r.accuracy).toFixed(1)} % on the ${r.clips} training clip${s} (too few clips for a validation split)`,
  );
  if (!classes.some((c) => c.test.length)) return;
  const m = await t.toModel();
  try {
    renderEvaluation(table, await evaluateTestClips(m, classes, signal ?? new AbortController().signal));
  } finally {
    await m.dispose();
  }
}
