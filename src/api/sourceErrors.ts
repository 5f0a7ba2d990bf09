/**
 * Which error a failed read of a video source reports, on the page. The worker reads a File/URL first; when it
 * cannot (no decoder, a fetch it was refused), the page retries with a `<video>` element (api/videoSource.ts). If
 * that element cannot play it either, its error ("cannot play this video", MEDIA_ELEMENT_ERROR) says less than the
 * worker's did: a 404 became "an unknown or damaged container", and ffmpeg.wasm's diagnosis was lost. So the
 * first error stands unless the element's is more specific. Messages also get the source's name (a File's name,
 * a URL, a `<video>`'s src) when they lack it, so a page classifying many files can say which one failed.
 */
import { PPTSNError, isPPTSNError, type PPTSNErrorCode } from '../core/errors.js';
import { isVideoElement, quotedUrl } from '../video/util.js';

/** The error to report when the worker failed with `first` and the `<video>` fallback then failed with `second`. */
export function fallbackError(first: unknown, second: unknown): unknown {
  if (isPPTSNError(second) && second.code === 'unsupported-source' && isPPTSNError(first)) return first;
  return second;
}

/** Errors about the source itself (not the call, the options or the model): these name it. */
const ABOUT_SOURCE = new Set<PPTSNErrorCode>(['unsupported-source', 'decode-failed', 'video-too-short', 'no-video-stream', 'network', 'cross-origin']);

/** How a message names `source`, or null when it has no name (an unnamed Blob, frames, a tensor). */
export function sourceName(source: unknown): string | null {
  if (typeof source === 'string') return quotedUrl(source);
  if (typeof URL !== 'undefined' && source instanceof URL) return source.href;
  if (typeof File !== 'undefined' && source instanceof File && source.name) return `'${source.name}'`;
  if (isVideoElement(source)) {
    const src = source.currentSrc || source.src;
    return src ? `the <video> of ${quotedUrl(src)}` : null;
  }
  return null;
}

/**
 * `e` with the source's name (`sourceName`, taken when the call started: a `<video>` may have another src by now)
 * in front of its message when the message does not name it already.
 */
export function namedSourceError(e: unknown, name: string | null): unknown {
  if (!isPPTSNError(e) || !ABOUT_SOURCE.has(e.code) || !name) return e;
  const bare = name.replace(/^'|'$/g, '').replace(/^the <video> of /, '');
  const tail = bare.slice(bare.lastIndexOf('/') + 1);
  if (e.message.includes(bare) || (tail.length > 0 && e.message.includes(tail))) return e;
  const named = new PPTSNError(e.code, `${name}: ${e.message}`, { cause: e });
  return Object.assign(named, fieldsOf(e));
}

/** Extra fields a PPTSNError may carry (`file`, `bytes`, …), so a renamed error keeps them. */
function fieldsOf(e: PPTSNError): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(e)) if (!['code', 'name', 'message', 'stack', 'cause'].includes(k)) out[k] = (e as unknown as Record<string, unknown>)[k];
  return out;
}

/**
 * A `<video>` with nothing to play (no src, no srcObject, no `<source>` child) never loads: refuse it at once
 * instead of waiting out the metadata timeout (15 s).
 */
export function checkElementHasSource(source: unknown): void {
  if (!isVideoElement(source) || source.srcObject || source.currentSrc || source.src) return;
  if (source.querySelector('source[src]')) return;
  throw new PPTSNError(
    'invalid-argument',
    'the <video> element has no source (no src, srcObject or <source>): set its src (or srcObject, for a camera) first, or pass the File or URL itself',
  );
}
