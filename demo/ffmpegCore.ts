/**
 * Dev-server plugin: serves ffmpeg.wasm (`@ffmpeg/core`) where src/worker/ffmpegCoreFiles.ts looks for it when the
 * worker runs from source (`/src/worker/ffmpeg-core.{js,wasm}`); a build copies the files beside the compiled
 * worker instead (vite.config.ts). Used by the demo's and the tests' Vite servers.
 */
import { createReadStream, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Connect, Plugin } from 'vite';

export function ffmpegCoreDev(): Plugin {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('@ffmpeg/core')), '..', 'esm');
  const serve: Connect.NextHandleFunction = (req, res, next) => {
    const m = /^\/src\/worker\/(ffmpeg-core\.(js|wasm))(\?.*)?$/.exec(req.url ?? '');
    if (!m) return next();
    const file = join(dir, m[1]!);
    res.setHeader('content-type', m[2] === 'js' ? 'text/javascript' : 'application/wasm');
    res.setHeader('content-length', String(statSync(file).size));
    createReadStream(file).pipe(res);
  };
  return { name: 'pptsn-ffmpeg-core-dev', configureServer: (server) => { server.middlewares.use(serve); } };
}
