/**
 * Progress of a long `classify` on stderr: nothing for the first ~2 s (a fast call prints nothing extra), then one
 * line, redrawn in place, with images done / total and the running top-1 (the head on the features averaged so far).
 * Only on a terminal or when asked (`--progress`, or PPTSN_PROGRESS=1); a pipe or a log gets no carriage returns.
 */
import type { ClipProgress } from '../core/classify/clip.js';
import { softmax, topK } from '../core/classify/scores.js';

/** Calls shorter than this print no progress. */
export const PROGRESS_AFTER_MS = 2000;

export interface ProgressLine {
  /** For the clip runner's `onChunk` (with `runningLogits`). */
  onChunk(p: ClipProgress): void;
  /** Ends the line (if one was drawn). */
  done(): void;
}

export function progressLine(labels: readonly string[], write: (s: string) => void = (s) => process.stderr.write(s), now: () => number = () => performance.now()): ProgressLine {
  const start = now();
  let drawn = false;
  return {
    onChunk(p) {
      const elapsed = now() - start;
      if (elapsed < PROGRESS_AFTER_MS && p.done < p.total) return;
      if (!drawn && p.done >= p.total) return;
      const best = p.logits ? topK(softmax(p.logits), labels, 1)[0] : undefined;
      const rate = p.done / (elapsed / 1000);
      const top = best ? `, so far: ${best.label} ${(best.score * 100).toFixed(1)} %` : '';
      write(`\r\x1b[Kclassifying: ${p.done}/${p.total} images (${Math.round((100 * p.done) / p.total)} %, ${rate.toFixed(1)} images/s)${top}`);
      drawn = true;
    },
    done() {
      if (drawn) write('\n');
      drawn = false;
    },
  };
}

/** Whether to show progress: asked for, or stderr is a terminal. */
export function wantProgress(flag: boolean | undefined): boolean {
  return flag ?? (process.stderr.isTTY === true || process.env.PPTSN_PROGRESS === '1');
}
