/**
 * `vite build` makes the self-contained bundle: dist/pptsn-web.bundle.js (the public API, ESM) and
 * dist/pptsn-web.worker.js (the engine with TensorFlow.js and every backend inside) plus the WASM binaries, so a
 * plain `<script type="module">` can `import { PPTSN } from './pptsn-web.bundle.js'` with no bundler and no npm.
 * It builds from the tsc output (dist/index.js, run `tsc -p src` first), i.e. from exactly what npm consumers get,
 * so the bundle also proves that dist/ bundles cleanly with Vite.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));

/**
 * Copies the tfjs WASM binaries next to the compiled worker (dist/worker/), where src/worker/wasmFiles.ts points
 * with `new URL('./tfjs-backend-*.wasm', import.meta.url)`: bundlers that consume dist/ emit them as assets, and an
 * unbundled dist/ serves them from beside worker.js. It runs before the bundle, which needs them too.
 */
function copyWasmBinaries(): Plugin {
  return {
    name: 'pptsn-copy-wasm',
    buildStart() {
      const require = createRequire(join(root, 'package.json'));
      const from = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
      const to = join(root, 'dist', 'worker');
      mkdirSync(to, { recursive: true });
      for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
        copyFileSync(join(from, f), join(to, f));
      }
      // ffmpeg.wasm, the fallback decoder (src/worker/ffmpegCoreFiles.ts): fetched only for files WebCodecs cannot read.
      const ffmpeg = join(dirname(require.resolve('@ffmpeg/core')), '..', 'esm'); // the export map hides package.json
      for (const f of ['ffmpeg-core.js', 'ffmpeg-core.wasm']) copyFileSync(join(ffmpeg, f), join(to, f));
    },
  };
}

export default defineConfig({
  plugins: [copyWasmBinaries()],
  publicDir: false,
  // Relative asset URLs (new URL('./x', import.meta.url)): the bundle works from any directory it is served from.
  base: './',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: true,
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
      output: { entryFileNames: 'pptsn-web.worker.js', chunkFileNames: 'pptsn-web.worker.[name].js', assetFileNames: '[name][extname]' },
    },
  },
});
