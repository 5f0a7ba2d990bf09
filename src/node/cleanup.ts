/**
 * Temporary files and folders the CLI has open right now (a download's `.part`, an atomic write's temporary
 * name), so an interrupt (Ctrl-C, SIGTERM) can remove them before the process exits. Writers register a path
 * when they create it and release it once it is renamed into place or removed.
 */
import { rmSync } from 'node:fs';

const live = new Set<string>();

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
      removeTemporaries();
      process.exit(128 + number);
    });
  }
}
