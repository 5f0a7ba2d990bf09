/**
 * The ffmpeg.wasm core in a worker of its own, so that an abort stops a decode at once. The core's `exec` is one
 * synchronous call: run in our worker, it held that thread until the decode ended, and an abort (a message to the
 * worker) could not be seen before. Here the calling thread only exchanges messages; an abort terminates the core's
 * worker and the next file starts a fresh one (the browser's code cache keeps the recompile short).
 *
 * The worker is a module worker made from a small inline source (a `blob:` URL): it needs no file of its own in the
 * library's build. Where it cannot start (a Content-Security-Policy without `blob:` in `worker-src`/`script-src`, a
 * browser without module workers), `openCoreThread` returns null and ffmpegWasm.ts runs the core in the calling
 * thread as before, where aborts wait for the current step.
 */
import { PPTSNError } from '../core/errors.js';
import { EXECS_PER_CORE, type FfmpegCoreRunner } from '../core/preprocess/ffmpegCore.js';
import { abortError } from './util.js';

/** Where `ffmpeg-core.js` and `ffmpeg-core.wasm` are served. */
export interface FfmpegCoreUrls {
  js: string;
  wasm: string;
}

const SOURCE = `
let core = null;
let log = [];
let factory = null;
let compiled = null;
let execs = 0;
let source = null;
const reply = (m, transfer) => self.postMessage(m, transfer || []);
// A core instance from the module compiled once; a fresh one between files every EXECS_PER_CORE runs (ffprobe or
// ffmpeg; core/preprocess/ffmpegCore.ts says why).
async function instance() {
  core = await factory({
    mainScriptUrlOrBlob: source.mainScript,
    instantiateWasm(imports, receive) {
      compiled ??= WebAssembly.compileStreaming(fetch(source.wasm));
      compiled.then((mod) => WebAssembly.instantiate(mod, imports).then((inst) => receive(inst, mod)));
      return {};
    },
  });
  core.setLogger((e) => { if (log.length < 200) log.push(e.message); });
  execs = 0;
}
self.onmessage = async ({ data: m }) => {
  try {
    if (m.type === 'load') {
      factory = (await import(m.js)).default;
      source = m;
      await instance();
      reply({ id: m.id, ok: true });
    } else if (m.type === 'mount') {
      if (execs >= m.execsPerCore) await instance();
      core.FS.mkdir(m.dir);
      if (typeof FileReaderSync !== 'undefined') core.FS.mount(core.FS.filesystems.WORKERFS, { blobs: [{ name: 'video', data: m.blob }] }, m.dir);
      else core.FS.writeFile(m.dir + '/video', new Uint8Array(await m.blob.arrayBuffer()));
      reply({ id: m.id, ok: true });
    } else if (m.type === 'unmount') {
      try { core.FS.unmount(m.dir); } catch { try { core.FS.unlink(m.dir + '/video'); } catch {} }
      reply({ id: m.id, ok: true });
    } else if (m.type === 'ffprobe') {
      execs++;
      log = [];
      core.reset();
      core.ffprobe(...m.args, '-o', '/probe.json');
      let stdout = '';
      try { stdout = core.FS.readFile('/probe.json', { encoding: 'utf8' }); core.FS.unlink('/probe.json'); } catch {}
      reply({ id: m.id, ok: true, stdout, log });
    } else if (m.type === 'exec') {
      log = [];
      core.reset();
      core.setProgress(({ time }) => reply({ id: m.id, progress: time }));
      execs++;
      let code;
      try { code = core.exec(...m.args); } finally { core.setProgress(() => {}); }
      const out = m.args[m.args.length - 1];
      let output = null;
      try { output = core.FS.readFile(out); core.FS.unlink(out); } catch {}
      reply({ id: m.id, ok: true, code, output, log }, output ? [output.buffer] : []);
    }
  } catch (e) {
    reply({ id: m.id, ok: false, crashed: m.type !== 'load', message: String((e && e.message) || e) });
  }
};
`;

interface Reply {
  id: number;
  ok?: boolean;
  progress?: number;
  crashed?: boolean;
  message?: string;
  stdout?: string;
  code?: number;
  output?: Uint8Array | null;
  log?: string[];
}

/** One core in its worker: calls are answered in order; `terminate` ends every pending one with `reason`. */
class CoreThread {
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: unknown) => void; onProgress?: (time: number) => void }>();
  private nextId = 0;
  dead: unknown = null;

  constructor(private readonly worker: Worker) {
    worker.onmessage = ({ data }: MessageEvent<Reply>) => {
      const p = this.pending.get(data.id);
      if (!p) return;
      if (data.progress !== undefined) return p.onProgress?.(data.progress);
      this.pending.delete(data.id);
      p.resolve(data);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.terminate(new Error(e.message || 'the ffmpeg.wasm worker failed to start'));
    };
  }

  call(msg: Record<string, unknown>, onProgress?: (time: number) => void): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(onProgress ? { onProgress } : {}) });
      this.worker.postMessage({ ...msg, id });
    });
  }

  terminate(reason: unknown): void {
    if (this.dead) return;
    this.dead = reason;
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
  }
}

const threads = new Map<string, Promise<CoreThread | null>>();
let sourceUrl: string | undefined;
/** Set when a core worker could not start here (CSP, no module workers): the caller's thread is used from then on. */
let unavailable = false;

function startThread(urls: FfmpegCoreUrls): Promise<CoreThread | null> {
  let p = threads.get(urls.js);
  if (!p) {
    p = (async () => {
      let worker: Worker;
      try {
        sourceUrl ??= URL.createObjectURL(new Blob([SOURCE], { type: 'text/javascript' }));
        worker = new Worker(sourceUrl, { type: 'module', name: 'pptsn-ffmpeg' });
      } catch {
        unavailable = true;
        return null;
      }
      const thread = new CoreThread(worker);
      const base = typeof location !== 'undefined' ? location.href : undefined;
      const js = new URL(urls.js, base).href;
      // The core finds its WASM through the fragment of mainScriptUrlOrBlob (see ffmpegWasm.ts loadCore).
      const wasm = new URL(urls.wasm, base).href;
      const hint = btoa(JSON.stringify({ wasmURL: wasm, workerURL: '' }));
      const r = await thread.call({ type: 'load', js, wasm, mainScript: `${js}#${hint}` }).catch((e: unknown) => ({ id: -1, ok: false, message: String(e) }) as Reply);
      if (!r.ok) {
        // The worker runs but cannot import the core (a policy on blob: workers, an unreachable URL): the calling
        // thread's own loader reports what is wrong, if anything.
        thread.terminate(new Error(r.message));
        unavailable = true;
        return null;
      }
      return thread;
    })();
    threads.set(urls.js, p);
  }
  return p;
}

/** The core's worker as `FfmpegCoreRunner` for one file, mounted at `input`; `close()` unmounts it. */
export interface CoreThreadSession {
  runner: FfmpegCoreRunner;
  input: string;
  close(): Promise<void>;
}

/**
 * Mounts `blob` in the core's worker (started on first use). Returns null where no worker can run the core (the
 * caller then runs it itself). Aborting `signal` terminates the worker: the pending call rejects with
 * PPTSNError('aborted') and the next file gets a new worker. An Emscripten crash in the worker rejects with
 * 'decode-failed' naming `name`, and also retires that worker.
 */
export async function openCoreThread(urls: FfmpegCoreUrls, blob: Blob, name: string, signal?: AbortSignal): Promise<CoreThreadSession | null> {
  if (unavailable || typeof Worker === 'undefined') return null;
  const thread = await startThread(urls);
  if (!thread) return null;
  const retire = (reason: unknown) => {
    threads.delete(urls.js);
    thread.terminate(reason);
  };
  const onAbort = () => retire(abortError(signal));
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  const call = async (msg: Record<string, unknown>, onProgress?: (time: number) => void): Promise<Reply> => {
    const r = await thread.call(msg, onProgress);
    if (!r.ok) {
      const e = new PPTSNError('decode-failed', `ffmpeg.wasm stopped while reading ${name} (${r.message}); the file may be damaged or too large for the browser's memory.`);
      retire(e);
      throw e;
    }
    return r;
  };
  const dir = `/in${Math.random().toString(36).slice(2)}`;
  try {
    await call({ type: 'mount', dir, blob, execsPerCore: EXECS_PER_CORE });
  } catch (e) {
    signal?.removeEventListener('abort', onAbort);
    throw e;
  }
  return {
    input: `${dir}/video`,
    runner: {
      async ffprobe(args) {
        const r = await call({ type: 'ffprobe', args });
        return { stdout: r.stdout ?? '', log: r.log ?? [] };
      },
      async ffmpeg(args, onTime) {
        const r = await call({ type: 'exec', args }, onTime);
        return { code: r.code ?? 1, output: r.output ?? null, log: r.log ?? [] };
      },
    },
    async close() {
      signal?.removeEventListener('abort', onAbort);
      if (!thread.dead) await thread.call({ type: 'unmount', dir }).catch(() => {});
    },
  };
}
