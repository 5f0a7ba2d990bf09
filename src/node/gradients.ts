/**
 * Registers tfjs's gradient functions in Node, which `pptsn-web train` needs (src/core/model/trainable.ts).
 * tfjs-core registers them only through its ESM file `dist/register_all_gradients.js`, which Node cannot load from
 * the CommonJS package (a browser bundle imports it directly, as src/worker/trainerEngine.ts does); the
 * `@tensorflow/tfjs` package's Node build registers all of them on load, so training in Node imports it once
 * (about a second; inference never does). It is an optional peer dependency: only `train` asks for it.
 */
import { messageOf, PPTSNError } from '../core/errors.js';

let gradients: Promise<void> | undefined;

export function registerGradients(): Promise<void> {
  gradients ??= import('@tensorflow/tfjs').then(
    () => undefined,
    (e: unknown) => {
      gradients = undefined;
      const missing = ['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes((e as NodeJS.ErrnoException).code ?? '');
      throw new PPTSNError('backend-unavailable', missing ? 'training in Node needs @tensorflow/tfjs (its Node build registers the gradients): npm install @tensorflow/tfjs' : `could not load tfjs gradients: ${messageOf(e)}`, { cause: e });
    },
  );
  return gradients;
}
