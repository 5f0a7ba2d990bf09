/**
 * What a test page's call returns across `page.evaluate`: the value, or the error's code and message, with the
 * call's duration. Shared by the pages (which build it with `outcome`) and the tests (test/helpers/browser.ts `ok`).
 */
import { isPPTSNError } from '../../../src/core/errors.js';

export type Outcome<T> = { ok: true; ms: number; value: T } | { ok: false; ms: number; code: string; message: string };

/** Runs `f` and reports its value or its error (PPTSNError code, or 'not-a-PPTSNError') as plain data. */
export async function outcome<T>(f: () => Promise<T> | T): Promise<Outcome<T>> {
  const t0 = performance.now();
  try {
    const value = await f();
    return { ok: true, ms: performance.now() - t0, value };
  } catch (e) {
    return { ok: false, ms: performance.now() - t0, code: isPPTSNError(e) ? e.code : 'not-a-PPTSNError', message: String((e as Error)?.message ?? e) };
  }
}
