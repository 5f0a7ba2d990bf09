/**
 * The frozen part's outputs on disk, for `train --strategy head` (pooled features `[T, 1, 1, F]` per view) and a
 * cached `last-stage` (res5 inputs `[T, h, w, C]`): computed once per item and view, stored as float16 (half the
 * bytes; the frozen part's output rounding is far below the training noise), so an epoch never runs the frozen
 * backbone or the decoder again. One file per item and kind, written atomically (a run killed while caching
 * resumes with the files already complete). The run directory pins the recipe, so a file's contents are a function
 * of (item, view, seed).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { decodeFloat16, encodeFloat16 } from '../../core/formats/float16.js';
import { hashSeed } from '../../core/random.js';
import { writeFileAtomic } from '../files.js';

export class FrozenCache {
  constructor(
    private readonly dir: string,
    /** Shape of one view: `[T, h, w, C]`. */
    readonly viewShape: readonly [number, number, number, number],
  ) {}

  private get viewSize(): number {
    return this.viewShape.reduce((a, b) => a * b, 1);
  }

  private file(kind: 'train' | 'valid', position: number, relPath: string): string {
    return join(this.dir, `${kind}-${position}-${hashSeed(relPath).toString(16)}.f16`);
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /** The stored views of an item (`count` of them), or undefined when none (or an incomplete file) is stored. */
  async read(kind: 'train' | 'valid', position: number, relPath: string, count: number): Promise<Float32Array | undefined> {
    const bytes = await readFile(this.file(kind, position, relPath)).catch(() => undefined);
    if (!bytes || bytes.byteLength !== count * this.viewSize * 2) return undefined;
    const bits = new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return decodeFloat16(bits);
  }

  /** Stores views (`[count·T, h, w, C]` values, float32) as float16. */
  async write(kind: 'train' | 'valid', position: number, relPath: string, values: Float32Array): Promise<void> {
    const bits = encodeFloat16(values);
    await writeFileAtomic(this.file(kind, position, relPath), new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength));
  }

  /** View `v` of a stored item as a tensor `[T, h, w, C]` (the caller owns it). */
  view(values: Float32Array, v: number): tf.Tensor4D {
    const n = this.viewSize;
    return tf.tensor4d(values.subarray(v * n, (v + 1) * n), [...this.viewShape] as [number, number, number, number]);
  }
}
