/**
 * `vite build` makes the self-contained bundle: dist/pptsn-web.bundle.js (the public API, ESM) and
 * dist/pptsn-web.worker.js (the engine with TensorFlow.js and every backend inside) plus the WASM files, so a
 * plain `<script type="module">` can `import { PPTSN } from './pptsn-web.bundle.js'` with no bundler and no npm.
 * It builds from the tsc output (dist/index.js, run `tsc -p src` first), i.e. from exactly what npm consumers get,
 * so the bundle also proves that dist/ bundles cleanly with Vite.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { wasmAssets } from './tools/wasmAssets.js';
import { ffmpegCoreAssets } from './tools/ffmpegCore.js';

const root = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  // The tfjs WASM binaries and the pthread glue (tfjs-backend-wasm-threaded-simd.js) go next to the compiled worker
  // (dist/worker/), where src/worker/wasmFiles.ts points with `new URL('./…', import.meta.url)`: bundlers that
  // consume dist/ emit them as assets, and an unbundled dist/ serves them from beside worker.js. Copied before the
  // bundle is built, which needs them too.
  // ffmpeg.wasm beside the worker too: the fallback decoder, fetched only for files WebCodecs cannot read.
  plugins: [wasmAssets({ copyTo: join(root, 'dist', 'worker') }), ffmpegCoreAssets({ copyTo: join(root, 'dist', 'worker') })],
  publicDir: false,
  // Relative asset URLs (new URL('./x', import.meta.url)): the bundle works from any directory it is served from.
  base: './',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    // Maps for debugging this build only: 'hidden' leaves no sourceMappingURL in the shipped bundle, whose maps
    // package.json's files list leaves out (a URL to a file not shipped is a warning in every devtools).
    sourcemap: 'hidden',
    copyPublicDir: false,
    assetsInlineLimit: 0,
    // Not library mode: it inlines every asset, and the WASM binaries (1.2 MB) must stay separate files.
    modulePreload: false,
    rollupOptions: {
      input: { 'pptsn-web.bundle': 'dist/index.js' },
      // Keep the entry's exports: an app build would drop them.
      preserveEntrySignatures: 'strict',
      output: { entryFileNames: '[name].js', assetFileNames: '[name][extname]', chunkFileNames: 'pptsn-web.[name].js' },
    },
  },
  worker: {
    format: 'es',
    rollupOptions: {
      // The WASM binaries go to dist/worker/, where the tsc build's worker finds them too: one copy in the package.
      // Two workers: the engine's, and ffmpeg.wasm's (src/video/ffmpegCoreWorker.ts, which the engine starts).
      output: { entryFileNames: (chunk) => (chunk.name === 'ffmpegCoreWorker' ? 'pptsn-web.ffmpeg-worker.js' : 'pptsn-web.worker.js'), chunkFileNames: 'pptsn-web.worker.[name].js', assetFileNames: 'worker/[name][extname]' },
    },
  },
});
