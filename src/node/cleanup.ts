/**
 * Temporary files and folders the CLI has open right now (a download's `.part`, an atomic write's temporary
 * name, a decode's spooled frames), and the tools it is running (the system ffmpeg), so an interrupt (Ctrl-C,
 * SIGTERM) can stop and remove them before the process exits. Writers register a path when they create it and
 * release it once it is renamed into place or removed; a spawned tool is registered until it closes.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const live = new Set<string>();
const children = new Set<ChildProcess>();

/**
 * Registers a running child process to be killed on interrupt (a signal sent to the CLI alone, as a supervisor or
 * `timeout` sends it, would otherwise leave a system ffmpeg decoding on into a removed folder); returns the release.
 */
export function trackChild(child: ChildProcess): () => void {
  children.add(child);
  return () => { children.delete(child); };
}

/** Registers `path` for removal on interrupt; returns the function that releases it. */
export function trackTemporary(path: string): () => void {
  live.add(path);
  return () => { live.delete(path); };
}

/** Removes every registered path now (synchronously: this runs in a signal handler, just before exit). */
export function removeTemporaries(): string[] {
  const removed: string[] = [];
  for (const path of live) {
    try {
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // Best effort: the process is exiting; a path we cannot remove is reported by its absence from the list.
    }
  }
  live.clear();
  return removed;
}

/**
 * Installs the interrupt handlers once: remove the temporaries, then exit with 128 + the signal number (130 for
 * SIGINT), as shells expect.
 */
export function cleanUpOnInterrupt(): void {
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
    process.once(signal, () => {
      // Stop the writers first, so nothing writes into a folder being removed.
      for (const c of children) c.kill('SIGKILL');
      children.clear();
      removeTemporaries();
      process.exit(128 + number);
    });
  }
}
