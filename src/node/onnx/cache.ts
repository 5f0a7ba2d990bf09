/**
 * The ONNX graph of a converted model folder, built once and kept next to the model (`pptsn.onnx`, with
 * `pptsn.onnx.key` naming what it was built from: the writer version, model.json's SHA-256 and each shard's size
 * and mtime). A folder we cannot write to (read-only install) still works: the graph is then built in memory on
 * every run (about a second for depth 50).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LoadedModelJson } from '../../core/formats/modelJson.js';
import { writeFileAtomic } from '../files.js';
import { ONNX_WRITER_VERSION, ppTSNToOnnx } from './pptsn.js';

export const ONNX_FILE = 'pptsn.onnx';

/** Where the graph came from, for the CLI's one-line report. */
export type OnnxSource = 'cache' | 'built' | 'memory';

async function cacheKey(dir: string): Promise<string> {
  const root = resolve(dir);
  const json = await readFile(join(root, 'model.json'));
  const h = createHash('sha256').update(`writer ${ONNX_WRITER_VERSION}\n`).update(json);
  const manifest = (JSON.parse(json.toString('utf8')) as { weightsManifest?: { paths?: string[] }[] }).weightsManifest ?? [];
  for (const group of manifest) {
    for (const p of group.paths ?? []) {
      const s = await stat(resolve(root, p)).catch(() => null);
      h.update(`${p} ${s?.size ?? -1} ${s?.mtimeMs ?? -1}\n`);
    }
  }
  return h.digest('hex');
}

/**
 * The ONNX model bytes for the model in `dir` (already read as `model`): from the cache when its key matches,
 * else built and (if the folder is writable) cached.
 */
export async function onnxForModelDir(dir: string, model: LoadedModelJson): Promise<{ bytes: Uint8Array; source: OnnxSource; path: string }> {
  const path = join(resolve(dir), ONNX_FILE);
  const key = await cacheKey(dir);
  const cachedKey = await readFile(`${path}.key`, 'utf8').catch(() => null);
  if (cachedKey?.trim() === key) {
    const bytes = await readFile(path).catch(() => null);
    if (bytes) return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), source: 'cache', path };
  }
  const bytes = ppTSNToOnnx(model.stateDict, model.depth, model.numClasses, { features: 'only' });
  try {
    await writeFileAtomic(path, bytes);
    await writeFileAtomic(`${path}.key`, key + '\n');
    return { bytes, source: 'built', path };
  } catch {
    return { bytes, source: 'memory', path };
  }
}
