/**
 * PPTSNError across the worker boundary. Comlink's own handler for thrown values keeps only `message`, `name` and
 * `stack`, so a `code` thrown in the worker would arrive as a plain Error. Both sides call
 * `installErrorTransport()`: it wraps comlink's `throw` handler so a PPTSNError is serialised with its code and
 * rebuilt as a real PPTSNError (instanceof works) on the other side; everything else goes through unchanged.
 */
import { transferHandlers, type TransferHandler } from 'comlink';
import { PPTSNError, isPPTSNError, type PPTSNErrorCode } from '../core/errors.js';

interface WireError {
  pptsn: true;
  code: PPTSNErrorCode;
  message: string;
  stack?: string;
}

let installed = false;

/** Idempotent; must run in the main thread and in the worker before the first call. */
export function installErrorTransport(): void {
  if (installed) return;
  const original = transferHandlers.get('throw') as TransferHandler<{ value: unknown }, unknown> | undefined;
  if (!original) throw new Error('comlink has no "throw" transfer handler; the comlink version is not supported');
  const handler: TransferHandler<{ value: unknown }, unknown> = {
    canHandle: (v): v is { value: unknown } => original.canHandle(v),
    serialize(thrown) {
      const e = thrown.value;
      if (isPPTSNError(e)) {
        const wire: WireError = { pptsn: true, code: e.code, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
        return [wire, []];
      }
      return original.serialize(thrown);
    },
    deserialize(wire) {
      if (typeof wire === 'object' && wire !== null && (wire as WireError).pptsn === true) {
        const w = wire as WireError;
        const e = new PPTSNError(w.code, w.message);
        if (w.stack) e.stack = w.stack;
        throw e;
      }
      return original.deserialize(wire);
    },
  };
  // Map.set on an existing key keeps its position, so comlink still checks this handler before any custom one.
  transferHandlers.set('throw', handler as TransferHandler<unknown, unknown>);
  installed = true;
}

/**
 * Turns anything thrown inside the engine into a PPTSNError with the best code we can tell from it, so callers
 * never get an untyped error. `context` prefixes the message (what the engine was doing).
 */
export function toPPTSNError(e: unknown, context: string): PPTSNError {
  if (isPPTSNError(e)) return e as PPTSNError;
  const message = e instanceof Error ? e.message : typeof e === 'object' && e && 'message' in e ? String((e as { message: unknown }).message) : String(e);
  const name = e instanceof Error ? e.name : '';
  let code: PPTSNErrorCode = 'internal';
  if (name === 'AbortError') code = 'aborted';
  else if (/out of memory|OOM|failed to allocate|allocation failed|Array buffer allocation|RangeError: Array buffer/i.test(message) || name === 'RangeError' && /allocation|memory/i.test(message)) code = 'out-of-memory';
  else if (/device (was )?lost|GPUDevice.*lost|context lost|CONTEXT_LOST/i.test(message)) code = 'device-lost';
  return new PPTSNError(code, `${context}: ${message}`, { cause: e });
}
