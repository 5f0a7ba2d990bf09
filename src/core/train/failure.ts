/** What a failed training step means for the user: a WebAssembly trap or an allocation failure, as a typed error. */
import { isPPTSNError, messageOf, PPTSNError } from '../errors.js';
import type { ResolvedSettings } from './settings.js';

/**
 * A WebAssembly trap or an allocation failure during training (issue 26: `full` at ResNet50 defaults ended in
 * "table index is out of bounds") as a typed error that says what to change. After a trap the WASM backend's heap
 * cannot be trusted, so it also says to load the model again.
 */
export function trainingFailure(e: unknown, s: Pick<ResolvedSettings, 'strategy' | 'segments' | 'microBatchSize'>): unknown {
  if (isPPTSNError(e)) return e;
  const m = messageOf(e);
  const trap = (typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError) || /out of bounds|unreachable/i.test(m);
  if (!trap && !/out of memory|allocation failed|Array buffer allocation|Invalid array length|OOM|exceeds? (the )?(maximum|max)|could not allocate/i.test(m)) return e;
  const what = `training ran out of memory (${m}) with strategy '${s.strategy}', ${s.segments} frames a clip, micro-batch ${s.microBatchSize}`;
  const fix = s.strategy === 'full' ? "use strategy 'last-stage' or 'head', a smaller model (ResNet18), fewer segments, or microBatchSize 1" : 'use fewer segments or views, or a smaller model (ResNet18)';
  return new PPTSNError('out-of-memory', `${what}: ${fix}.${trap ? ' The WebAssembly heap may be damaged: load the model again (PPTSN.load) before training or classifying.' : ''}`, { cause: e });
}

