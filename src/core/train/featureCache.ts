/**
 * Caches of the frozen part's output, computed once per clip, so the 'head' and 'last-stage' strategies never run
 * the frozen backbone again during training:
 * - 'head': pooled backbone features `[T, F]` of V augmented views per clip (each view = one train sampling +
 *   MultiScaleCrop + RandomFlip draw) and of the valid view (centre crop), so an epoch is a few small matMuls;
 * - 'last-stage': the input of res5 (`Recognizer.runStages(images, 0, 4)`), `[T, h, w, C]` per view.
 * The inference `Recognizer` computes them (BN folded: the frozen part is in eval mode either way).
 */
import * as tf from '@tensorflow/tfjs-core';
import { isPPTSNError, PPTSNError } from '../errors.js';
import type { Recognizer } from '../model/recognizer.js';
import { settleTurn } from '../yieldTurn.js';
import { FEATURE_MAP_BOUNDARY, LAST_STAGE_BOUNDARY, globalAvgPool } from '../model/resnetVd.js';

/** What is cached: pooled features ('head') or the res5 input ('last-stage'). */
export type CacheKind = 'head' | 'last-stage';

/** One clip's cached views. */
export interface CachedClip {
  /** Train views, each `[T, 1, 1, F]` ('head') or `[T, h, w, C]` ('last-stage'). */
  views: tf.Tensor4D[];
  /** The valid (centre-crop) view, same layout. */
  valid: tf.Tensor4D;
}

/** Per-clip caches keyed by clip id. Owns its tensors: `delete`/`clear`/`dispose` free them. */
export class FeatureCache {
  private readonly clips = new Map<string, CachedClip>();

  constructor(
    readonly kind: CacheKind,
    private readonly recognizer: Recognizer,
    /** Images per backbone call (bounds peak memory). */
    private readonly chunkSize = 8,
  ) {}

  /** The frozen part on normalised images `[n, 224, 224, 3]` → the cached form (input not disposed). */
  encode(images: tf.Tensor4D): tf.Tensor4D {
    const n = images.shape[0];
    const parts: tf.Tensor4D[] = [];
    try {
      for (let s = 0; s < n; s += this.chunkSize) {
        const size = Math.min(this.chunkSize, n - s);
        parts.push(
          tf.tidy(() => {
            const part = size === n ? images : tf.slice(images, s, size);
            if (this.kind === 'last-stage') return this.recognizer.runStages(part, 0, LAST_STAGE_BOUNDARY);
            const map = this.recognizer.runStages(part, 0, FEATURE_MAP_BOUNDARY);
            const f = globalAvgPool(map);
            // [n, 1, 1, F]: a 1×1 feature map, so the trainable head's global pool is the identity on it.
            return tf.reshape(f, [size, 1, 1, f.shape[1]]) as tf.Tensor4D;
          }),
        );
      }
      return parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
    } finally {
      if (parts.length > 1) tf.dispose(parts);
    }
  }

  has(id: string): boolean {
    return this.clips.has(id);
  }

  get(id: string): CachedClip | undefined {
    return this.clips.get(id);
  }

  /** Stores a clip's views (takes ownership). */
  set(id: string, clip: CachedClip): void {
    this.delete(id);
    this.clips.set(id, clip);
  }

  delete(id: string): void {
    const c = this.clips.get(id);
    if (!c) return;
    tf.dispose([...c.views, c.valid]);
    this.clips.delete(id);
  }

  clear(): void {
    for (const id of [...this.clips.keys()]) this.delete(id);
  }

  dispose(): void {
    this.clear();
  }
}

/**
 * Computes the cache of every clip in `clips` that has none yet: V train views and the valid view (`images(clip, v)`
 * gives view v's images, v = V the valid one). Reports `onProgress(done, total, view, views)` after every view
 * (done counts clips fractionally) and yields between views, so a stop (`signal`) lands within one view's forward
 * pass; a stopped clip keeps no partial cache, and the function returns quietly.
 */
export async function fillCaches<C extends { id: string }>(
  cache: FeatureCache,
  clips: readonly C[],
  V: number,
  images: (clip: C, v: number) => tf.Tensor4D,
  onProgress?: (done: number, total: number, view?: number, views?: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  const todo = clips.filter((c) => !cache.has(c.id));
  if (todo.length > 0) onProgress?.(0, todo.length, 0, V + 1);
  for (let i = 0; i < todo.length; i++) {
    if (signal?.aborted) return;
    const clip = todo[i]!;
    const views: tf.Tensor4D[] = [];
    try {
      for (let v = 0; v <= V; v++) {
        const x = images(clip, v);
        try {
          views.push(cache.encode(x));
        } finally {
          x.dispose();
        }
        await views.at(-1)!.data();
        onProgress?.(i + (v + 1) / (V + 1), todo.length, v + 1, V + 1);
        await settleTurn();
        if (signal?.aborted) throw new PPTSNError('aborted', 'stopped while computing features');
      }
      const valid = views.pop()!;
      cache.set(clip.id, { views, valid });
    } catch (e) {
      tf.dispose(views);
      if (isPPTSNError(e) && e.code === 'aborted') return;
      throw e;
    }
  }
}
