/**
 * Decoded frame pixels, the hand-off between the frame readers (`src/video/` in the browser, the CLI's ffmpeg
 * reader in Node) and preprocessing (`src/core/preprocess/`). Isomorphic: no DOM types.
 */

/**
 * One decoded frame, row-major, interleaved, 8 bits per channel, no row padding: pixel (x, y) channel c is
 * `data[(y * width + x) * channels + c]`. `channels` is 3 (RGB, what ffmpeg's rgb24 gives) or 4 (RGBA, what the
 * browser gives; alpha is 255 and is ignored by preprocessing).
 */
export interface FramePixels {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array | Uint8ClampedArray;
}
