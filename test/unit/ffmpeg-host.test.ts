/**
 * The one ffmpeg.wasm host (src/core/ffmpegHost/) in isolation, on a fake core (no WASM, milliseconds): the module
 * compiled once, a fresh instance every EXECS_PER_CORE runs and after a crash, a crashed run tried once more, an input
 * staged once per file, log lines captured and capped; and the client's thread handling: the watchdog ends a silent
 * thread ('stalled'), an abort ends it at once ('aborted'), a thread that dies fails its call ('crash'), and the next
 * call starts a new thread. The real core on the three transports: test/unit/ffmpeg-wasm.test.ts (Node) and
 * test/browser/frames.test.ts (browser worker; the calling thread under a CSP: test/browser/csp.test.ts).
 *
 *   node --import tsx --test test/unit/ffmpeg-host.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreRunner, CoreFailure, EXECS_PER_CORE, FfmpegCoreHost, INPUT, LOG_LINES, type CoreInput, type CoreModule, type EmscriptenFfmpeg } from '../../src/core/ffmpegHost/host.js';
import { FfmpegCoreClient, type CoreThreadPort } from '../../src/core/ffmpegHost/client.js';
import { serveFfmpegCore, type CoreReply, type CoreRequest } from '../../src/core/ffmpegHost/serve.js';

/** A fake core module: counts compiles and instances; `exec` runs `behaviour(instance, runOnInstance)`. */
function fakeModule(behaviour: (instance: number, run: number, core: EmscriptenFfmpeg) => number = () => 0) {
  const counts = { compiles: 0, instances: 0, written: [] as string[] };
  const module: CoreModule = {
    mainScript: 'core.js#hint',
    compile: async () => { counts.compiles++; return {} as WebAssembly.Module; },
    factory: async () => {
      const instance = counts.instances++;
      let runs = 0;
      let logger: (m: { type: string; message: string }) => void = () => {};
      const files = new Map<string, Uint8Array>();
      const core: EmscriptenFfmpeg = {
        exec: (...args) => {
          const code = behaviour(instance, runs++, core);
          for (let i = 0; i < LOG_LINES + 50; i++) logger({ type: 'stderr', message: `line ${i}` });
          files.set(args[args.length - 1]!, new TextEncoder().encode(`instance ${instance}`));
          return code;
        },
        ffprobe: (...args) => { files.set(args[args.length - 1]!, new TextEncoder().encode('{"streams":[1]}')); return -1; },
        reset: () => {},
        setLogger: (l) => { logger = l; },
        setProgress: () => {},
        FS: {
          mkdir: () => {},
          mount: () => {},
          unmount: () => { throw new Error('not mounted'); },
          readFile: (p) => { const f = files.get(p); if (!f) throw new Error('ENOENT'); return f; },
          unlink: (p) => { files.delete(p); },
          writeFile: (p, data) => { files.set(p, data); counts.written.push(`${instance}:${new TextDecoder().decode(data)}`); },
          filesystems: { WORKERFS: {} },
        },
      };
      return core;
    },
  };
  return { module, counts };
}

/** Inputs by name; a name starting with '!' cannot be read. */
const input: CoreInput<string> = {
  key: async (name) => { if (name.startsWith('!')) throw new Error(`${name} is gone`); return name; },
  read: async (name) => ({ bytes: new TextEncoder().encode(name) }),
};

test('the host: compiled once, a fresh instance every EXECS_PER_CORE runs, an input written once per file, logs capped', async () => {
  const { module, counts } = fakeModule();
  const host = new FfmpegCoreHost(async () => module, input);
  const runs = 2 * EXECS_PER_CORE + 1;
  for (let i = 0; i < runs; i++) {
    const r = await host.run('ffmpeg', ['-i', INPUT, '/out.raw'], i < 3 ? 'a.mp4' : 'b.mp4');
    assert.equal(new TextDecoder().decode(r.output!), `instance ${Math.floor(i / EXECS_PER_CORE)}`, `run ${i}`);
    assert.equal(r.log.length, LOG_LINES);
  }
  assert.equal(counts.compiles, 1);
  assert.equal(counts.instances, 3);
  // a.mp4 once, b.mp4 once per instance.
  assert.deepEqual(counts.written, ['0:a.mp4', '0:b.mp4', '1:b.mp4', '2:b.mp4']);
});

test('the host: a crash drops the instance and the runner tries once more; twice is reported; an unreadable file keeps the core', async () => {
  // Instance 0 crashes on its 2nd run, instance 1 on its first.
  const { module, counts } = fakeModule((instance, run) => {
    if ((instance === 0 && run === 1) || instance === 1) throw new Error('memory access out of bounds');
    return 0;
  });
  const host = new FfmpegCoreHost(async () => module, input);
  const failures: CoreFailure[] = [];
  const runner = (name: string) => coreRunner((kind, args, onTime) => host.run(kind, args, name, onTime), (f) => { failures.push(f); return new Error(`${f.reason}: ${f.message}`); });
  assert.equal((await runner('a').ffmpeg(['/o'])).code, 0);
  await assert.rejects(runner('a').ffmpeg(['/o']), /^Error: crash: memory access out of bounds$/);
  assert.equal(counts.instances, 2, 'a fresh instance for the retry');
  await assert.rejects(runner('!x').ffmpeg(['/o']), /^Error: file: !x is gone$/);
  assert.equal(counts.instances, 3, 'a fresh instance after the second crash');
  assert.equal((await runner('a').ffmpeg(['/o'])).code, 0);
  assert.equal(counts.instances, 3, 'an unreadable file does not cost the instance');
  const probe = await runner('a').ffprobe(['-i', INPUT]).catch((e: unknown) => e);
  assert.deepEqual(probe, { stdout: '{"streams":[1]}', log: [] });
  assert.deepEqual(failures.map((f) => f.reason), ['crash', 'file']);
});

test('the host: a module that cannot load is a load failure, tried again on the next call', async () => {
  let tries = 0;
  const { module } = fakeModule();
  const host = new FfmpegCoreHost(async () => { if (tries++ === 0) throw new Error('404'); return module; }, input);
  await assert.rejects(host.run('ffmpeg', ['/o'], 'a'), (e: unknown) => e instanceof CoreFailure && e.reason === 'load' && e.message === '404');
  assert.equal((await host.run('ffmpeg', ['/o'], 'a')).code, 0);
});

/** A client whose threads serve a fake host in this thread; `silent` threads never answer runs. */
function fakeClient(options: { silent?: boolean; dieOnRun?: boolean; stallMs?: number } = {}) {
  const threads = { started: 0, terminated: 0 };
  const { module } = fakeModule();
  const client = new FfmpegCoreClient<string, string>({
    params: 'params',
    ...(options.stallMs ? { stallMs: () => options.stallMs } : {}),
    spawn(): CoreThreadPort<string, string> {
      threads.started++;
      let toClient: (r: CoreReply) => void = () => {};
      let onDeath: (e: Error) => void = () => {};
      let toHost: (r: CoreRequest<string, string>) => void = () => {};
      let alive = true;
      // Like a Node worker's ref(): a thread with a call in flight keeps the process alive (the watchdog is unref'd).
      let held: ReturnType<typeof setInterval> | undefined;
      const release = () => { clearInterval(held); held = undefined; };
      serveFfmpegCore<string, string>({
        post: (reply) => queueMicrotask(() => alive && toClient(reply)),
        listen: (h) => { toHost = h; },
      }, () => new FfmpegCoreHost(async () => module, input));
      return {
        post: (request) => {
          if (request.type === 'run' && options.dieOnRun) return setTimeout(() => onDeath(new Error('the thread exited (code 1)')), 5);
          if (request.type === 'run' && options.silent) return;
          toHost(request);
        },
        listen: (r, d) => { toClient = r; onDeath = d; },
        terminate: () => { alive = false; threads.terminated++; release(); },
        hold: (busy) => { if (busy && alive) held ??= setInterval(() => {}, 1000); else release(); },
      };
    },
  });
  return { client, threads };
}

test('the client: the watchdog ends a silent thread (stalled), an abort ends it at once, a death fails the call; the next call starts a thread', { timeout: 10_000 }, async () => {
  const stalled = fakeClient({ silent: true, stallMs: 20 });
  await assert.rejects(stalled.client.run('ffmpeg', ['/o'], 'a'), (e: unknown) => e instanceof CoreFailure && e.reason === 'stalled' && /no answer and no progress for 0\.02 s/.test(e.message));
  assert.deepEqual(stalled.threads, { started: 1, terminated: 1 });

  const hung = fakeClient({ silent: true });
  const ac = new AbortController();
  const pending = hung.client.run('ffmpeg', ['/o'], 'a', { signal: ac.signal });
  await hung.client.ready();
  ac.abort();
  await assert.rejects(pending, (e: unknown) => e instanceof CoreFailure && e.reason === 'aborted');
  assert.deepEqual(hung.threads, { started: 1, terminated: 1 });
  await assert.rejects(hung.client.run('ffmpeg', ['/o'], 'a', { signal: ac.signal }), (e: unknown) => e instanceof CoreFailure && e.reason === 'aborted');
  assert.equal(hung.threads.started, 1, 'an aborted signal starts nothing');

  const dying = fakeClient({ dieOnRun: true });
  await assert.rejects(dying.client.run('ffmpeg', ['/o'], 'a'), (e: unknown) => e instanceof CoreFailure && e.reason === 'crash' && /exited/.test(e.message));
  await assert.rejects(dying.client.run('ffmpeg', ['/o'], 'a'), (e: unknown) => e instanceof CoreFailure && e.reason === 'crash');
  assert.equal(dying.threads.started, 2, 'a new thread after a death');

  const ok = fakeClient();
  const r = await ok.client.run('ffmpeg', ['-i', INPUT, '/o'], 'a');
  assert.equal(new TextDecoder().decode(r.output!), 'instance 0');
  await ok.client.close();
  assert.deepEqual(ok.threads, { started: 1, terminated: 1 });
});
