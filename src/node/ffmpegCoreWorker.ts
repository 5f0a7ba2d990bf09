/**
 * The worker thread of the CLI's in-process decoder (src/node/ffmpegWasm.ts starts it): the shared ffmpeg.wasm host
 * (core/ffmpegHost/) over `parentPort`, with the core loaded from the installed @ffmpeg/core and a file given by
 * its path copied into the core's memory. Built by `tsc` to dist/node/ffmpegCoreWorker.js; run from source through
 * tsx's loader (ffmpegWasm.ts's bootstrap).
 */
import { readFile, stat } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { FfmpegCoreHost, type CoreFactory, type CoreInput, type CoreModule } from '../core/ffmpegHost/host.js';
import { serveFfmpegCore } from '../core/ffmpegHost/serve.js';

/** Where the core's files are (the load request's parameters). */
export interface NodeCoreFiles {
  /** ffmpeg-core.js (the ESM build), a file: URL. */
  jsUrl: string;
  wasmPath: string;
  wasmUrl: string;
}

/** A file to read, by path. */
export interface PathInput {
  path: string;
}

/**
 * The file as the core's input: one copy for the probe and the decode that follows (the key holds its size and
 * time, so a file changed in between is read again). A named pipe is refused before it is read: reading it would
 * block this thread, and the CLI with it, until someone writes to it.
 */
const pathInput: CoreInput<PathInput> = {
  async key({ path }) {
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a regular file');
    return `${path}:${st.size}:${st.mtimeMs}`;
  },
  async read({ path }) {
    return { bytes: await readFile(path) };
  },
};

function coreModule(files: NodeCoreFiles): () => Promise<CoreModule> {
  return async () => {
    // The core is Emscripten's web/worker build: it reads self.location.href while it starts (this thread only).
    const g = globalThis as Record<string, unknown>;
    g['self'] ??= globalThis;
    g['location'] ??= { href: files.jsUrl };
    const mod = (await import(files.jsUrl)) as { default: CoreFactory };
    const hint = Buffer.from(JSON.stringify({ wasmURL: files.wasmUrl, workerURL: '' })).toString('base64');
    return { factory: mod.default, mainScript: `${files.jsUrl}#${hint}`, compile: async () => WebAssembly.compile(await readFile(files.wasmPath)) };
  };
}

const port = parentPort!;
serveFfmpegCore<NodeCoreFiles, PathInput>({
  post: (reply, transfer) => port.postMessage(reply, transfer),
  listen: (handler) => void port.on('message', handler),
}, (files) => new FfmpegCoreHost(coreModule(files), pathInput));
