/**
 * The engine worker the test pages run: src/worker/worker.ts's engine plus two test-only calls, kept out of the
 * published package: `crashForTesting` ends the worker from inside (as a crash would: pending calls never answer)
 * and `loseDeviceForTesting` destroys the WebGPU device (as a driver reset would). `testWorker()` spawns it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expose } from 'comlink';
import { Engine } from '../../../src/worker/engine.js';
import { installErrorTransport } from '../../../src/common/errorTransport.js';
import { workerFrameReader } from '../../../src/worker/frameReader.js';

installErrorTransport();

class TestEngine extends Engine {
  crashForTesting(): void {
    (globalThis as unknown as { close(): void }).close();
  }

  loseDeviceForTesting(): boolean {
    if (tf.getBackend() !== 'webgpu') return false;
    const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
    device?.destroy();
    return device !== undefined;
  }
}

expose(new TestEngine(workerFrameReader));
