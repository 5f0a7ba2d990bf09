/**
 * Registers tfjs's gradient functions in Node, which training (src/core/model/trainable.ts) needs: test-only, so
 * the devDependency it imports stays out of dist/. tfjs-core registers them only through its ESM file
 * `dist/register_all_gradients.js`, which Node cannot load from the CommonJS package (a browser bundle imports it
 * directly, as src/worker/trainerEngine.ts does); the `@tensorflow/tfjs` package's Node build registers all of
 * them on load, so it is imported for that side effect (about a second; inference never needs it).
 */
import { messageOf, PPTSNError } from '../../src/core/errors.js';

let gradients: Promise<void> | undefined;

export function registerGradientsNode(): Promise<void> {
  gradients ??= import('@tensorflow/tfjs').then(
    () => undefined,
    (e: unknown) => {
      gradients = undefined;
      throw new PPTSNError('backend-unavailable', `could not load tfjs gradients: ${messageOf(e)}`, { cause: e });
    },
  );
  return gradients;
}
