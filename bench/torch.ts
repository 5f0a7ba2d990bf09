/** Native PyTorch (bench/torch_resnet.py in a child process) as a comparison runtime for the network section. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { ROOT } from '../test/helpers/browser.js';
import type { Timed } from './timed.js';
import type { Options } from './options.js';

/** `script`: bench/torch_resnet.py (inference, default) or bench/torch_train.py (a training step per line). */
export async function torchRuntime(o: Options, extraArgs: string[] = [], script = 'bench/torch_resnet.py'): Promise<{ timed: Timed; info: { description: string; threads: number; setupMs: number } } | { error: string }> {
  // $PPTSN_PYTHON: a Python with PyTorch elsewhere (a GPU machine's CUDA build; bench/gpu-session.sh sets it).
  const python = process.env['PPTSN_PYTHON'] ?? '/usr/bin/python3';
  if (!existsSync(python)) return { error: `${python} not found (set PPTSN_PYTHON to a Python with PyTorch)` };
  let proc: ChildProcessWithoutNullStreams;
  try {
    proc = spawn(python, [join(ROOT, script), '--threads', String(o.torchThreads), '--depth', String(o.depth), '--size', String(o.size), ...extraArgs]);
  } catch (e) {
    return { error: String(e) };
  }
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += String(d)));
  const rl: Interface = createInterface({ input: proc.stdout });
  const lines: string[] = [];
  const waiters: { resolve: (s: string) => void; reject: (e: Error) => void }[] = [];
  rl.on('line', (l) => (waiters.length ? waiters.shift()!.resolve(l) : lines.push(l)));
  // One exit listener for the process's life (not one per request), failing whoever still waits.
  proc.once('exit', () => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${script} exited: ${stderr.slice(-500)}`));
  });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      if (lines.length) return resolve(lines.shift()!);
      if (proc.exitCode !== null) return reject(new Error(`${script} exited: ${stderr.slice(-500)}`));
      waiters.push({ resolve, reject });
    });
  try {
    const info = JSON.parse(await next()) as { runtime?: string; error?: string; description: string; threads: number; setupMs: number };
    if (info.error) throw new Error(info.error);
    return {
      info,
      timed: {
        name: info.runtime ?? 'pytorch-native',
        async time(n) {
          proc.stdin.write(`${n}\n`);
          return (JSON.parse(await next()) as { seconds: number }).seconds;
        },
        async close() {
          proc.stdin.end();
          proc.kill();
        },
      },
    };
  } catch (e) {
    proc.kill();
    return { error: (e as Error).message };
  }
}
