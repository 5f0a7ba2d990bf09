/**
 * The engine's live streams (`classifyStream`): each pushed frame goes through preprocessing and the backbone once,
 * its features wait in a ring of the window's last frames (featureRing.ts), and every result is the head over that
 * window. Pushes run in the scheduler's compute lane, so they interleave with classify calls.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TopKOptions } from '../core/classify/scores.js';
import { PPTSNError } from '../core/errors.js';
import type { FramePixels } from '../core/frames/pixels.js';
import { preprocessFrames } from '../core/preprocess/pipeline.js';
import type { PreprocessConfig } from '../core/preprocess/presets.js';
import { toPPTSNError } from '../common/errorTransport.js';
import { FeatureRing } from './featureRing.js';
import type { EngineStreamFrame, EngineStreamOptions, EngineStreamResult } from './protocol.js';
import type { CallScheduler } from './queue.js';
import type { ModelRuntime } from './runtime.js';

/** A live stream: its preprocessing and the ring of its window's features. */
interface LiveStream {
  config: PreprocessConfig;
  topK: number;
  filter?: TopKOptions;
  ring: FeatureRing;
  closed: boolean;
}

export class LiveStreams {
  private readonly streams = new Map<number, LiveStream>();

  constructor(
    private readonly runtime: ModelRuntime,
    private readonly scheduler: CallScheduler,
  ) {}

  /** Opens stream `id`; its options were validated by the page (api/config.ts `validateStreamConfig`). */
  open(id: number, options: EngineStreamOptions): void {
    try {
      this.runtime.loaded();
      if (this.streams.has(id)) throw new PPTSNError('invalid-argument', `stream id ${id} is already in use`);
      this.streams.set(id, { config: options.preprocess, topK: options.topK, ...(options.filter ? { filter: options.filter } : {}), ring: new FeatureRing(options.windowFrames), closed: false });
    } catch (e) {
      throw toPPTSNError(e, 'starting live classification failed');
    }
  }

  /** Adds one frame to stream `id` and returns the result over its window. */
  async push(id: number, frame: FramePixels, meta: EngineStreamFrame): Promise<EngineStreamResult> {
    const t0 = performance.now();
    try {
      const stream = this.streams.get(id);
      if (!stream || stream.closed) throw new PPTSNError('aborted', 'the stream was stopped');
      return await this.scheduler.compute(async () => {
        if (stream.closed) throw new PPTSNError('aborted', 'the stream was stopped');
        // After a lost device, recovery empties every ring: the window restarts from this frame.
        const step = await this.runtime.withDeviceRecovery(() => this.step(stream, frame, meta), () => stream.closed);
        return {
          ...this.runtime.predictions(step.logits, stream.topK, stream.filter),
          frames: step.indices.length,
          frameNumbers: step.indices,
          timestamps: step.timestamps,
          timings: { decodeMs: 0, preprocessMs: step.preprocessMs, inferenceMs: step.inferenceMs, totalMs: performance.now() - t0 },
        };
      });
    } catch (e) {
      throw toPPTSNError(e, 'live classification failed');
    }
  }

  /** One frame: backbone features into the ring (synchronously, so a close cannot slip in between), then the head. */
  private async step(stream: LiveStream, frame: FramePixels, meta: EngineStreamFrame) {
    const rec = this.runtime.loaded().recognizer;
    this.runtime.checkDevice();
    const t0 = performance.now();
    const pre = preprocessFrames([frame], stream.config);
    const t1 = performance.now();
    let features: tf.Tensor2D;
    try {
      features = tf.tidy(() => rec.features(pre.input, { batchSize: this.runtime.chunkSize }));
    } finally {
      pre.input.dispose();
    }
    stream.ring.push({ features, index: meta.index, timestamp: meta.timestamp });
    const indices = stream.ring.indices;
    const timestamps = stream.ring.timestamps;
    const logits = tf.tidy(() => rec.head(stream.ring.window()));
    try {
      const data = (await logits.data()) as Float32Array;
      return { logits: Float32Array.from(data), indices, timestamps, preprocessMs: t1 - t0, inferenceMs: performance.now() - t1 };
    } finally {
      logits.dispose();
    }
  }

  /** Closes stream `id` and frees its features; a frame in flight finishes and is dropped. No-op if unknown. */
  close(id: number): void {
    const stream = this.streams.get(id);
    if (!stream) return;
    stream.closed = true;
    stream.ring.clear();
    this.streams.delete(id);
  }

  /** Empties every window (after a lost device, whose features are gone). */
  clearWindows(): void {
    for (const s of this.streams.values()) s.ring.clear();
  }

  closeAll(): void {
    for (const id of [...this.streams.keys()]) this.close(id);
  }
}
