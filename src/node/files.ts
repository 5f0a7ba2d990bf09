/**
 * File output for the CLI that never leaves anything half-written: data goes to a temporary name in the same
 * folder and is renamed into place only when complete (rename is atomic on one file system).
 */
import { mkdir, rename, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { trackTemporary } from './cleanup.js';

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const full = resolve(path);
  await mkdir(dirname(full), { recursive: true });
  const tmp = join(dirname(full), `.${basename(full)}.${process.pid}.${Date.now()}.tmp`);
  const release = trackTemporary(tmp);
  try {
    await writeFile(tmp, data);
    await rename(tmp, full);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    release();
  }
}

/**
 * Writes a set of files as one unit into `dir`: all go to a fresh temporary folder beside it, then each is
 * renamed into `dir`. A failure before the renames leaves `dir` untouched.
 */
export async function writeDirAtomic(dir: string, files: { name: string; data: Uint8Array | string }[]): Promise<void> {
  const full = resolve(dir);
  await mkdir(dirname(full), { recursive: true });
  const tmp = await mkdtemp(join(dirname(full), `.${basename(full)}.tmp-`));
  const release = trackTemporary(tmp);
  try {
    for (const f of files) await writeFile(join(tmp, f.name), f.data);
    await mkdir(full, { recursive: true });
    for (const f of files) await rename(join(tmp, f.name), join(full, f.name));
  } finally {
    await rm(tmp, { recursive: true, force: true });
    release();
  }
}
