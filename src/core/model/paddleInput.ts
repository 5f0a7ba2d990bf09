/**
 * PaddleVideo's network input `x` (Recognizer2D's `test_step` input after the pipeline's `collate`): float32 NCHW,
 * normalised, `[N, T·C, 3, H, W]` for N clips of T·C images, or one clip `[T·C, 3, H, W]`. The one shape check of
 * every tensor input: the page's `classify`/`embed` of `{ data, shape }`, the CLI's `--tensor`, `Recognizer.predict`
 * and core/classify/tensorInput.ts.
 */
import { PPTSNError } from '../errors.js';

/** N clips of S = T·C images of H×W. */
export interface PaddleInputShape {
  N: number;
  S: number;
  H: number;
  W: number;
}

/**
 * Reads `shape` as `[N, T·C, 3, H, W]` or `[T·C, 3, H, W]` (N = 1). Every dimension must be a positive integer.
 * Errors: `invalid-argument` "`what`: expected shape … found […]".
 */
export function paddleInputShape(shape: readonly number[], what = 'the input'): PaddleInputShape {
  const ok = (shape.length === 5 || shape.length === 4) && shape[shape.length - 3] === 3 && shape.every((d) => Number.isInteger(d) && d > 0);
  if (!ok) throw new PPTSNError('invalid-argument', `${what}: expected shape [N, T·C, 3, H, W] or [T·C, 3, H, W], found [${shape.join(', ')}]`);
  const [H, W] = shape.slice(-2) as [number, number];
  return shape.length === 5 ? { N: shape[0]!, S: shape[1]!, H, W } : { N: 1, S: shape[0]!, H, W };
}

/**
 * A tensor input that must hold one clip (`classify`/`embed` return one clip's result): the shape as above with
 * N = 1, and `length` values. A batch N > 1 is `invalid-argument` saying how to pass each clip, sliced with `slice`
 * (a copy: the page transfers the buffer, so a `subarray` view would detach the whole batch on the first call).
 */
export function oneClipShape(shape: readonly number[], length: number, what = 'a tensor input'): PaddleInputShape {
  if (shape.length === 5 && Number.isInteger(shape[0]) && shape[0]! > 1 && shape.every((d) => Number.isInteger(d) && d > 0)) {
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    throw new PPTSNError(
      'invalid-argument',
      `${what} is one clip, but shape [${shape.join(', ')}] holds ${shape[0]} clips (N = ${shape[0]}); call classify/embed once per clip, ` +
        `clip i as { data: data.slice(i * ${per}, (i + 1) * ${per}), shape: [1, ${shape.slice(1).join(', ')}] }`,
    );
  }
  const s = paddleInputShape(shape, what);
  const n = shape.reduce((a, b) => a * b, 1);
  if (length !== n) throw new PPTSNError('invalid-argument', `${what}: shape [${shape.join(', ')}] needs ${n} values, got ${length}`);
  return s;
}
