/**
 * The one error type pptsn-web throws. `code` says what kind of failure it is so callers can branch on it;
 * `message` says what was wrong and what to do. Errors are created where the cause is known and cross the
 * worker boundary unchanged (see `src/worker/`).
 */
export type PPTSNErrorCode =
  | 'model-invalid' // a weight file or model.json is malformed, truncated, hostile, or has wrong shapes
  | 'unsupported-source' // a source type, container or codec we cannot read
  | 'decode-failed' // the container is supported but decoding failed (corrupt data)
  | 'video-too-short' // a video stream with zero frames to sample
  | 'no-video-stream' // the file has no video stream (audio only, a still image container, subtitles)
  | 'cross-origin' // a cross-origin <video> without CORS taints the canvas
  | 'backend-unavailable' // the requested tfjs backend cannot start here
  | 'aborted' // the caller's AbortSignal fired
  | 'device-lost' // the WebGPU device was lost
  | 'out-of-memory'
  | 'network' // a download failed
  | 'integrity' // a download's SHA-256 did not match
  | 'invalid-argument' // an option or argument is out of range
  | 'ffmpeg-missing' // the CLI needs the system's ffmpeg
  | 'storage' // IndexedDB / Cache Storage failed
  | 'quota-exceeded' // the browser's storage quota has no room for a file to cache (the message says how much)
  | 'internal';

export class PPTSNError extends Error {
  readonly code: PPTSNErrorCode;
  override readonly name = 'PPTSNError';
  constructor(code: PPTSNErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isPPTSNError(e: unknown): e is PPTSNError {
  return e instanceof PPTSNError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'PPTSNError' && typeof (e as { code?: unknown }).code === 'string');
}

/** The message of anything thrown: an Error's, a `{ message }` object's (GPU errors, DOMException look-alikes), else its text. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}
