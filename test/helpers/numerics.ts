import assert from 'node:assert/strict';

/** Largest |a_i − b_i| (a loop: assert.deepEqual and spreads are far too slow on millions of elements). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'same element count');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** max |got − want| / max |want|: the fixtures README's agreement measure. */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length, 'same element count');
  let d = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i]! - want[i]!));
    m = Math.max(m, Math.abs(want[i]!));
  }
  return d / m;
}
