/**
 * Running answers for `model.classify({ onProgress })`: after each chunk of images, the top-k of the head on the
 * mean of the features so far (core/classify/clip.ts's `runningLogits`), sent to the page's callback (a comlink
 * proxy). The last report is made from the final logits themselves, so its `top` is exactly the result's, and it is
 * awaited, so the page sees it before the call resolves.
 */
import { releaseProxy } from 'comlink';
import type { ClipProgress, ClipRunOptions } from '../core/classify/clip.js';
import { softmax, topK } from '../core/classify/scores.js';
import type { ClassifyProgress } from '../common/types.js';

/** The page's callback as the worker sees it (a comlink proxy: calls return promises). */
export type ClassifyProgressCallback = (p: ClassifyProgress) => unknown;

export interface ProgressReporter {
  /** Options to merge into the clip runner's options. */
  clipOptions: Pick<ClipRunOptions, 'onChunk' | 'runningLogits'>;
  /** A report while the ffmpeg.wasm fallback decodes: `fraction` 0..1 of the decode, `total` the images to come. */
  decode(fraction: number, total: number): void;
  /** Sends the final report (from the result's logits) and waits until the page has run it. */
  finish(logits: Float32Array): Promise<void>;
  /** Closes the proxy's port (after the call, success or not). */
  release(): void;
}

/** A reporter for one call; `k` is the call's topK, `labels` the model's class names. */
export function progressReporter(callback: ClassifyProgressCallback, labels: readonly string[], k: number): ProgressReporter {
  let total = 0;
  // A callback that throws (or a page that went away) must not fail the classification.
  const send = (p: ClassifyProgress) => Promise.resolve(callback(p)).then(() => undefined, () => undefined);
  return {
    clipOptions: {
      runningLogits: true,
      onChunk: (p: ClipProgress) => {
        total = p.total;
        // The last chunk is reported by finish(), from the exact final logits.
        if (p.done < p.total && p.logits) void send({ done: p.done, total: p.total, top: topK(softmax(p.logits), labels, k) });
      },
    },
    decode: (fraction, images) => void send({ done: 0, total: images, top: [], decoding: fraction }),
    finish: (logits) => send({ done: total, total, top: topK(softmax(logits), labels, k) }),
    release: () => {
      (callback as unknown as { [releaseProxy]?: () => void })[releaseProxy]?.();
    },
  };
}
