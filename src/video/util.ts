/** Small async helpers shared by the frame readers: abort and timeouts, so no call can hang. */
import { PPTSNError } from '../core/errors.js';

/** Whether `x` is a <video> element (false where there is no DOM, e.g. in a worker). */
export function isVideoElement(x: unknown): x is HTMLVideoElement {
  return typeof HTMLVideoElement !== 'undefined' && x instanceof HTMLVideoElement;
}

/** Throws PPTSNError('aborted') when the signal has fired. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}

export function abortError(signal?: AbortSignal): PPTSNError {
  return new PPTSNError('aborted', 'Reading the video was aborted.', { cause: signal?.reason });
}

/** Resolves like `p`, or rejects with PPTSNError('aborted') as soon as `signal` fires (p keeps running). */
export function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

/** Resolves like `p`, or rejects with `onTimeout()` after `ms` milliseconds. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => { clearTimeout(t); resolve(v); },
      (e) => { clearTimeout(t); reject(e); },
    );
  });
}

/** Waits for `event` on `target` (or rejects on `signal`/timeout). */
export function once(target: EventTarget, event: string, options: { signal?: AbortSignal; timeoutMs?: number; onTimeout?: () => Error } = {}): Promise<Event> {
  return new Promise<Event>((resolve, reject) => {
    const cleanup = () => {
      target.removeEventListener(event, onEvent);
      options.signal?.removeEventListener('abort', onAbort);
      if (timer !== undefined) clearTimeout(timer);
    };
    const onEvent = (e: Event) => { cleanup(); resolve(e); };
    const onAbort = () => { cleanup(); reject(abortError(options.signal)); };
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (options.signal?.aborted) { reject(abortError(options.signal)); return; }
    target.addEventListener(event, onEvent);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        cleanup();
        reject(options.onTimeout?.() ?? new PPTSNError('internal', `Timed out waiting for '${event}'.`));
      }, options.timeoutMs);
    }
  });
}

/** A URL as messages quote it: a `data:` URL (often megabytes of base64) as its media type and length only. */
export function quotedUrl(url: string): string {
  return url.startsWith('data:') ? `${url.slice(0, Math.min(url.indexOf(',') + 1 || 40, 60))}… (a data: URL of ${url.length} characters)` : url;
}
