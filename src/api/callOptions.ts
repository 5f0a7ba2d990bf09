/**
 * Small translations of the public call options for the engine, and the `Symbol.asyncDispose` the model's
 * `await using` support needs on runtimes that predate explicit resource management.
 */
import type { ScoreFilter } from '../core/classify/filter.js';
import type { ClassifyOptions } from './types.js';

// TypeScript's own downlevel `await using` looks the method up under Symbol.for('Symbol.asyncDispose') when the
// runtime has no Symbol.asyncDispose; define it as that, so the class's computed key is a symbol either way.
if (typeof Symbol.asyncDispose !== 'symbol') {
  Object.defineProperty(Symbol, 'asyncDispose', { value: Symbol.for('Symbol.asyncDispose'), configurable: true });
}

/** The score filter of a classify or classifyStream call, as the engine takes it (absent when the caller set none). */
export function scoreFilterOf(o: Pick<ClassifyOptions, 'scoreThreshold' | 'classes'>): { filter?: ScoreFilter } {
  if (o.scoreThreshold === undefined && o.classes === undefined) return {};
  // A non-array `classes` (a lone string) stays as it is, so resolveScoreFilter refuses it instead of its letters.
  const classes = Array.isArray(o.classes) ? [...o.classes] : o.classes;
  return { filter: { ...(o.scoreThreshold !== undefined ? { scoreThreshold: o.scoreThreshold } : {}), ...(classes !== undefined ? { classes } : {}) } };
}
