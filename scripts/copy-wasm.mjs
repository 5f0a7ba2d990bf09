// Copies the tfjs WASM binaries next to the compiled worker (dist/worker/), where src/worker/wasmFiles.ts points
// with `new URL('./tfjs-backend-*.wasm', import.meta.url)`: bundlers that consume dist/ emit them as assets, and an
// unbundled dist/ serves them from beside worker.js.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const from = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
const to = join(root, 'dist', 'worker');
mkdirSync(to, { recursive: true });
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  copyFileSync(join(from, f), join(to, f));
}
console.log(`copied the tfjs WASM binaries to ${to}`);
