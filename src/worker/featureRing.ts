/**
 * The per-stream window of live classification: backbone features of the last `capacity` sampled frames, oldest
 * first. Each new frame costs one backbone pass (its C crops); a result is ppTSNHead on the window's features,
 * i.e. exactly what `classify` computes for those frames, without recomputing the frames already seen.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface RingEntry {
  /** `[C, F]`: the frame's crops' pooled features (crop order as preprocessing emits them). */
  features: tf.Tensor2D;
  /** Sequence number of the frame in its stream (0-based, as grabbed). */
  index: number;
  /** Media or capture time of the frame, seconds. */
  timestamp: number;
}

export class FeatureRing {
  private readonly entries: RingEntry[] = [];

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.length;
  }

  get indices(): number[] {
    return this.entries.map((e) => e.index);
  }

  get timestamps(): number[] {
    return this.entries.map((e) => e.timestamp);
  }

  /** Adds a frame's features (the ring takes ownership) and frees the oldest beyond capacity. */
  push(entry: RingEntry): void {
    this.entries.push(entry);
    while (this.entries.length > this.capacity) this.entries.shift()!.features.dispose();
  }

  /**
   * The window as the head's input `[1, n·C, F]` in PaddleVideo's order (crop-major: image c·n + t). Call inside
   * `tf.tidy`: the intermediate slices are freed there.
   */
  window(): tf.Tensor3D {
    const n = this.entries.length;
    const [C, F] = this.entries[0]!.features.shape;
    const rows: tf.Tensor2D[] = [];
    for (let c = 0; c < C; c++) for (const e of this.entries) rows.push(C === 1 ? e.features : tf.slice(e.features, [c, 0], [1, F]));
    return tf.reshape(rows.length === 1 ? rows[0]! : tf.concat(rows, 0), [1, n * C, F]) as tf.Tensor3D;
  }

  /** Frees every feature (stream closed, or the backend they lived on is gone). */
  clear(): void {
    for (const e of this.entries.splice(0)) e.features.dispose();
  }
}
