/**
 * ffmpeg.wasm (`@ffmpeg/core`, single-threaded: ffmpeg-core.js + ffmpeg-core.wasm), the browser's fallback decoder
 * (src/video/ffmpegWasm.ts), as a build-time asset like the tfjs WASM files (wasmAssets.ts):
 * - `copyTo`: a build copies both next to the compiled worker (the library's dist/worker/), where
 *   src/worker/ffmpegCoreFiles.ts points with `new URL('./ffmpeg-core.*', import.meta.url)`;
 * - dev servers (demo, tests, bench) serve them at `/src/worker/ffmpeg-core.{js,wasm}`, where that URL points when
 *   the worker runs from source;
 * - `emitTo`: an app build from source (the demo) emits them into that output folder (`assets/`, where the worker
 *   chunk is, so the worker's unresolved `new URL('./ffmpeg-core.js', import.meta.url)` finds them).
 */
import { copyFileSync, createReadStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connect, Plugin } from 'vite';
import { assetPlugin } from './assetPlugin.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const FFMPEG_CORE_FILES = ['ffmpeg-core.js', 'ffmpeg-core.wasm'] as const;

/** dist/esm of the installed @ffmpeg/core (its export map hides package.json: resolve the entry instead). */
function coreDir(): string {
  return join(dirname(createRequire(join(ROOT, 'package.json')).resolve('@ffmpeg/core')), '..', 'esm');
}

/**
 * Answers the worker's ffmpeg-core URLs. Where the worker runs from source they end in `/src/worker/ffmpeg-core.*`:
 * at the root in the tests' servers, but under Vite's `/@fs/<repository>/` prefix in the demo's (its root is demo/,
 * so src/ is outside it), which the first version of this pattern missed: AVI drops failed under `npm start`.
 */
export const serveFfmpegCore: Connect.NextHandleFunction = (req, res, next) => {
  const m = /^(?:\/@fs\/.*)?\/src\/worker\/(ffmpeg-core\.(js|wasm))(\?.*)?$/.exec(req.url ?? '');
  if (!m) return next();
  const file = join(coreDir(), m[1]!);
  res.setHeader('content-type', m[2] === 'js' ? 'text/javascript' : 'application/wasm');
  res.setHeader('content-length', String(statSync(file).size));
  createReadStream(file).pipe(res);
};

export function ffmpegCoreAssets(options: { copyTo?: string; emitTo?: string } = {}): Plugin {
  const { copyTo, emitTo } = options;
  return assetPlugin({
    name: 'pptsn-ffmpeg-core',
    serve: serveFfmpegCore,
    ...(copyTo
      ? {
          copy: () => {
            mkdirSync(copyTo, { recursive: true });
            for (const f of FFMPEG_CORE_FILES) copyFileSync(join(coreDir(), f), join(copyTo, f));
          },
        }
      : {}),
    ...(emitTo !== undefined ? { emit: () => FFMPEG_CORE_FILES.map((f) => ({ fileName: `${emitTo}/${f}`, source: readFileSync(join(coreDir(), f)) })) } : {}),
  });
}
