/**
 * The fine-tuning trainer's frame pool, which the page and the worker both size by (one definition: the page
 * samples a rawframes clip's pool, the worker a video's). Each clip keeps `POOL_FRAMES` frames, linspace-sampled
 * over the video, scaled so the short side is at most `POOL_SHORT_SIDE` (the train Scale's target, so nothing the
 * pipeline would use is lost); the train sampler then draws T of them per augmented view.
 */

/** Frames kept per clip. */
export const POOL_FRAMES = 16;

/** Short side of the kept frames, at most (pixels). */
export const POOL_SHORT_SIDE = 256;
