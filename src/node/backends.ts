/**
 * Backend setup for Node (CLI, tests, benchmarks). The isomorphic core only imports tfjs-core; this is the one
 * place in Node that decides which tfjs backend runs the numbers (docs/architecture.md, "Where backends are chosen").
 *
 * - `wasm` (default): @tensorflow/tfjs-backend-wasm. In Node its package `main` is the CommonJS build
 *   (`dist/tf-backend-wasm.node.js`), whose Emscripten loader reads the `.wasm` binary with `fs` from its own
 *   directory (`__dirname`), so no `setWasmPaths` is needed as long as the package's `dist/` folder is intact.
 *   tfjs reports no multithreading in Node (`WASM_HAS_MULTITHREAD_SUPPORT` is false there), so the SIMD,
 *   single-threaded binary is used.
 * - `cpu`: @tensorflow/tfjs-backend-cpu, plain JavaScript kernels: slow, but the most complete kernel set.
 *
 * tfjs's `PROD` flag is set: the cpu backend's first tensor write otherwise prints "Hi, looks like you are running
 * TensorFlow.js in Node.js… install our node backend" on stderr (through `backend_util.warn`), advice that does not
 * apply (tfjs-node is not used). In tfjs 4.22 `PROD` is read only by tfjs-core's log.ts `warn`/`log` and
 * environment.ts's two notes (no flag derives from it, no kernel reads it), so numbers do not change; our own
 * warnings go through `log`/`console` directly and stay.
 */
import * as tf from '@tensorflow/tfjs-core';
import { messageOf, PPTSNError } from '../core/errors.js';

export type NodeBackendName = 'wasm' | 'cpu';

/**
 * Registers (once) and activates a tfjs backend in Node. Resolves to the backend's name once `tf.ready()`
 * succeeded; rejects with PPTSNError('backend-unavailable') when it cannot start.
 */
export async function initNodeBackend(name: NodeBackendName = 'wasm'): Promise<NodeBackendName> {
  try {
    tf.env().set('PROD', true);
    // Dynamic imports: registering a backend is a side effect of importing its package, and a CLI run that uses
    // one backend should not pay for loading the other.
    if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    else if (name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
    else throw new PPTSNError('invalid-argument', `unknown Node backend "${String(name)}"; use "wasm" or "cpu"`);
    if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false`);
    await tf.ready();
  } catch (e) {
    if (e instanceof PPTSNError) throw e;
    throw new PPTSNError('backend-unavailable', `the tfjs "${name}" backend could not start in Node: ${messageOf(e)}`, { cause: e });
  }
  return name;
}
