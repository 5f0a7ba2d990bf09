/**
 * Seeded randomness, one place for every module that draws: the `Rng` type (like `Math.random`), mulberry32 (the
 * fixtures' PRNG), `randint`, a Fisher–Yates `permutation` and `hashSeed` (a seed per clip, iteration or view).
 * Training runs are reproducible from their seed; Python's `random`/`np.random` streams cannot be matched bit for
 * bit anyway, so PaddleVideo's draws are mirrored in distribution, not in value.
 */

/**
 * A source of uniform random numbers in [0, 1), like `Math.random`. Injectable so training is reproducible and
 * tests can script the choices. (Python's `random`/`np.random` streams cannot be reproduced bit for bit anyway.)
 */
export type Rng = () => number;

/** `np.random.randint(n)`: an integer in [0, n). */
export function randint(rng: Rng, n: number): number {
  const r = rng();
  // Guard against an RNG that returns exactly 1 (or slightly above through scaling): stay inside [0, n).
  return Math.min(n - 1, Math.max(0, Math.floor(r * n)));
}

/**
 * mulberry32: a small seeded RNG (the fixtures' PRNG, see fixtures/README.md) for reproducible training runs
 * and tests. Returns the `Rng` of the stream seeded with `seed`.
 */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) >>> 8) / 16777216;
  };
}

/** FNV-1a of a string, for per-clip/per-iteration seeds. */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A uniformly random permutation of 0..n−1 (Fisher–Yates; `np.random.permutation`). */
export function permutation(n: number, rng: Rng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(rng() * (i + 1)));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}
