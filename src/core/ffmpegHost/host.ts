/**
 * The life of an ffmpeg.wasm core (`@ffmpeg/core` 0.12, ffmpeg 6, the single-threaded Emscripten build) in the
 * thread that runs it, written once for the three places it runs: the browser's fallback decoder in its own worker
 * (src/video/ffmpegCoreWorker.ts) or in the calling thread (src/video/ffmpegWasm.ts), and the CLI's in-process
 * decoder in a Node worker thread (src/node/ffmpegCoreWorker.ts). Those supply only how the core's module is loaded
 * (`CoreModule`) and how a file reaches its file system (`CoreInput`).
 *
 * - The WASM is compiled once per host; each instance is made from that module (milliseconds, not a recompile).
 * - An instance serves `EXECS_PER_CORE` runs, then a fresh one is made (the core leaks state on every run).
 * - An Emscripten abort (a crash in a decoder, out of memory) leaves the instance unusable: it is dropped, the call
 *   fails as a 'crash' `CoreFailure`, and the next call gets a fresh instance (runner.ts tries it once more there).
 * - The log lines of each run (up to `LOG_LINES`) come back with its result: the driver
 *   (core/frames/ffmpegCore.ts) reads ffmpeg's complaints from them, as from the system ffmpeg's stderr.
 * - Runs are serial: the core keeps global state (its return code, the logger, the mounted file).
 */
import type { FfmpegCoreRunner } from '../frames/ffmpegCore.js';

/**
 * ffprobe and ffmpeg runs on one core instance before a fresh one is made. @ffmpeg/core 0.12 leaks state on every
 * run: measured in Node, the 99th decode (probe + ffmpeg) on one instance failed with "memory access out of bounds"
 * or hung, whatever the file (H.264, 10-bit, MPEG-4); after some damaged files a probe failed sooner. A run that
 * crashes the core anyway is tried once more on a fresh instance (runner.ts).
 */
export const EXECS_PER_CORE = 48;

/** Log lines kept per run (the driver reads the last few; a damaged file can log one per packet). */
export const LOG_LINES = 200;

/** The folder of the core's file system where the current input is written or mounted, and its path there. */
export const INPUT_DIR = '/in';
export const INPUT_NAME = 'video';
export const INPUT = `${INPUT_DIR}/${INPUT_NAME}`;

/** The parts of @ffmpeg/core's Emscripten module used here. */
export interface EmscriptenFfmpeg {
  exec(...args: string[]): number;
  ffprobe(...args: string[]): number;
  reset(): void;
  setLogger(logger: (m: { type: string; message: string }) => void): void;
  setProgress(progress: (p: { progress: number; time: number }) => void): void;
  FS: {
    mkdir(path: string): void;
    mount(type: unknown, options: { blobs: { name: string; data: Blob }[] }, path: string): void;
    unmount(path: string): void;
    readFile(path: string): Uint8Array;
    unlink(path: string): void;
    writeFile(path: string, data: Uint8Array): void;
    filesystems: { WORKERFS: unknown };
  };
}

/** The default export of `ffmpeg-core.js`: Emscripten's module factory. */
export type CoreFactory = (options: Record<string, unknown>) => Promise<EmscriptenFfmpeg>;

/** The core's code, loaded once per host by the transport that runs it. */
export interface CoreModule {
  factory: CoreFactory;
  /**
   * The core's `mainScriptUrlOrBlob`: its URL with `#` + base64 JSON `{ wasmURL, workerURL }`. The core replaces
   * `Module.locateFile` with its own, which reads the WASM URL from this fragment.
   */
  mainScript: string;
  /** Compiles `ffmpeg-core.wasm` (called once per host; again only after a failure). */
  compile(): Promise<WebAssembly.Module>;
}

/** How a caller's file (`I`: a Blob in browsers, a path in Node) reaches the core's file system. */
export interface CoreInput<I> {
  /**
   * What `input` names now (a path with its size and time, a session's id): a run with the key of the file already
   * in place reuses it (the probe and the decode that follows share one copy). Throws when the file cannot be read.
   */
  key(input: I): Promise<string>;
  /** The file's bytes to copy into the core, or a Blob to mount read-only (WORKERFS, workers only). Throws like `key`. */
  read(input: I): Promise<{ bytes: Uint8Array } | { mount: Blob }>;
}

export type CoreRunKind = 'ffprobe' | 'ffmpeg';

/** One run's exit code, the file it wrote (its last argument; null when none) and its log lines. */
export interface CoreRunResult {
  code: number;
  output: Uint8Array | null;
  log: string[];
}

/**
 * Why a call to the core failed: 'load' (its code or WASM could not be loaded), 'file' (the input could not be read;
 * the core is fine), 'crash' (the core aborted; its instance or thread is gone), 'stalled' (no answer and no progress
 * for the watchdog's limit, client.ts), 'aborted' (the caller's signal). Transports turn it into a PPTSNError in
 * their own words.
 */
export type CoreFailureReason = 'load' | 'file' | 'crash' | 'stalled' | 'aborted';

export class CoreFailure extends Error {
  constructor(readonly reason: CoreFailureReason, message: string) {
    super(message);
    this.name = 'CoreFailure';
  }
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A core's instances, in the thread that runs them (module doc). */
export class FfmpegCoreHost<I> {
  private module: Promise<CoreModule> | null = null;
  private compiled: Promise<WebAssembly.Module> | null = null;
  private core: Promise<EmscriptenFfmpeg> | null = null;
  /** Runs on the current instance. */
  private execs = 0;
  /** The key of the input in the current instance's file system. */
  private placed: string | null = null;
  private log: string[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly load: () => Promise<CoreModule>, private readonly input: CoreInput<I>) {}

  /** Loads the core and an instance now, so that a transport learns at once whether it can run here ('load'). */
  ready(): Promise<void> {
    return this.serial(async () => void (await this.instance()));
  }

  /**
   * Runs ffprobe or ffmpeg with `args` (the last is the output file, read back and removed) on `input`, mounted at
   * `INPUT`. `onTime(µs)` follows ffmpeg's decode (the core reports about every frame). Rejects with CoreFailure.
   */
  run(kind: CoreRunKind, args: readonly string[], input: I, onTime?: (microseconds: number) => void): Promise<CoreRunResult> {
    return this.serial(async () => {
      const core = await this.instance();
      await this.stage(core, input);
      this.log = [];
      this.execs++;
      let code: number;
      try {
        core.reset();
        if (kind === 'ffprobe') code = core.ffprobe(...args);
        else {
          core.setProgress(({ time }) => onTime?.(time));
          try { code = core.exec(...args); } finally { core.setProgress(() => {}); }
        }
      } catch (e) {
        this.drop();
        throw new CoreFailure('crash', messageOf(e));
      }
      const out = args[args.length - 1]!;
      let output: Uint8Array | null = null;
      try { output = core.FS.readFile(out); core.FS.unlink(out); } catch { output = null; }
      return { code, output, log: [...this.log] };
    });
  }

  /** Removes the current input from the core (a session's end: a copied Blob's bytes are freed). */
  release(): Promise<void> {
    return this.serial(async () => {
      const core = await this.core?.catch(() => null);
      if (core) this.unstage(core);
    });
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f);
    this.queue = run.catch(() => {});
    return run;
  }

  /** The current instance; a fresh one every EXECS_PER_CORE runs and after a crash. */
  private async instance(): Promise<EmscriptenFfmpeg> {
    if (this.execs >= EXECS_PER_CORE) this.drop();
    const p = (this.core ??= this.create());
    try {
      return await p;
    } catch (e) {
      if (this.core === p) this.core = null;
      throw e;
    }
  }

  private drop(): void {
    this.core = null;
    this.placed = null;
    this.execs = 0;
  }

  private async create(): Promise<EmscriptenFfmpeg> {
    let mod: CoreModule;
    try {
      mod = await (this.module ??= this.load());
    } catch (e) {
      this.module = null;
      throw new CoreFailure('load', messageOf(e));
    }
    const compiled = (this.compiled ??= mod.compile());
    let core: EmscriptenFfmpeg;
    try {
      core = await new Promise<EmscriptenFfmpeg>((resolve, reject) => {
        mod.factory({
          mainScriptUrlOrBlob: mod.mainScript,
          // Emscripten's hook: the instance from the module compiled once (a failure here would otherwise leave
          // the factory's promise pending for ever).
          instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
            compiled.then((m) => WebAssembly.instantiate(m, imports).then((instance) => receive(instance, m))).catch(reject);
            return {};
          },
        }).then(resolve, reject);
      });
    } catch (e) {
      if (this.compiled === compiled) this.compiled = null;
      throw new CoreFailure('load', messageOf(e));
    }
    core.setLogger(({ message }) => { if (this.log.length < LOG_LINES) this.log.push(message); });
    core.FS.mkdir(INPUT_DIR);
    this.execs = 0;
    this.placed = null;
    return core;
  }

  /** Puts `input` at INPUT unless it is there already. */
  private async stage(core: EmscriptenFfmpeg, input: I): Promise<void> {
    let key: string;
    let data: Awaited<ReturnType<CoreInput<I>['read']>>;
    try {
      key = await this.input.key(input);
      if (key === this.placed) return;
      this.unstage(core);
      data = await this.input.read(input);
    } catch (e) {
      throw new CoreFailure('file', messageOf(e));
    }
    try {
      if ('mount' in data) core.FS.mount(core.FS.filesystems.WORKERFS, { blobs: [{ name: INPUT_NAME, data: data.mount }] }, INPUT_DIR);
      else core.FS.writeFile(INPUT, data.bytes);
    } catch (e) {
      // Out of the core's memory for the copy: a fresh instance for the next file.
      this.drop();
      throw new CoreFailure('crash', messageOf(e));
    }
    this.placed = key;
  }

  private unstage(core: EmscriptenFfmpeg): void {
    this.placed = null;
    try { core.FS.unmount(INPUT_DIR); } catch { /* not mounted */ }
    try { core.FS.unlink(INPUT); } catch { /* not written */ }
  }
}

/** ffprobe's output file: it writes its JSON there (`-o`) rather than to a stdout the core does not capture. */
export const PROBE_OUT = '/probe.json';

/** A call to a host, wherever it runs (the same thread, or a worker through client.ts). */
export type CoreCall = (kind: CoreRunKind, args: readonly string[], onTime?: (microseconds: number) => void) => Promise<CoreRunResult>;

/**
 * The driver's `FfmpegCoreRunner` (core/frames/ffmpegCore.ts) over `call`. A crash is tried once more, on the
 * fresh instance (or thread) made after it: the core's state is broken by earlier runs, not necessarily by this file;
 * a file that crashes it twice is reported. Every other CoreFailure, and the second crash, goes through `fail`.
 */
export function coreRunner(call: CoreCall, fail: (failure: CoreFailure) => Error): FfmpegCoreRunner {
  const run = async (kind: CoreRunKind, args: readonly string[], onTime?: (microseconds: number) => void) => {
    try {
      try {
        return await call(kind, args, onTime);
      } catch (e) {
        if (e instanceof CoreFailure && e.reason === 'crash') return await call(kind, args, onTime);
        throw e;
      }
    } catch (e) {
      throw e instanceof CoreFailure ? fail(e) : e;
    }
  };
  return {
    async ffprobe(args) {
      const r = await run('ffprobe', [...args, '-o', PROBE_OUT]);
      return { stdout: r.output ? new TextDecoder().decode(r.output) : '', log: r.log };
    },
    async ffmpeg(args, onTime) {
      const { code, output, log } = await run('ffmpeg', args, onTime);
      return { code, output, log };
    },
  };
}
