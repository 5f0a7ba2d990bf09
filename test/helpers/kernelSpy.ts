/** Records the names of the tfjs kernels run until `restore()` (which tests call in a `finally`). */
import * as tf from '@tensorflow/tfjs-core';

export function spyKernels(): { calls: string[]; restore: () => void } {
  const calls: string[] = [];
  const engine = tf.engine();
  const { runKernel } = engine;
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    calls.push(name);
    return (runKernel as (...a: unknown[]) => unknown).call(this, name, ...rest);
  } as typeof runKernel;
  return { calls, restore: () => void (engine.runKernel = runKernel) };
}
