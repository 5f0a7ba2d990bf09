/** A converted model on disk: `model.json` + `group1-shard*of*.bin` in one folder. */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PPTSNError } from '../core/errors.js';
import { readModelJson, type LoadedModelJson, type ModelJson, type Shard } from '../core/formats/modelJson.js';
import { writeDirAtomic } from './files.js';

/** Reads and checks `dir/model.json` and its shards (shard paths may not leave the folder). */
export async function readModelDir(dir: string): Promise<LoadedModelJson> {
  const root = resolve(dir);
  const jsonPath = join(root, 'model.json');
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch {
    throw new PPTSNError('model-invalid', `${jsonPath}: no model.json here; convert weights first with 'pptsn-web convert <file> -o ${dir}'`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PPTSNError('model-invalid', `${jsonPath}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return await readModelJson(json, async (path) => {
      const full = resolve(root, path);
      if (!full.startsWith(root + '/')) throw new PPTSNError('model-invalid', `shard path ${path} leaves the model folder`);
      return new Uint8Array(await readFile(full));
    });
  } catch (e) {
    if (e instanceof PPTSNError) throw new PPTSNError(e.code, `${jsonPath}: ${e.message.replace(/^model\.json: /, '')}`, { cause: e });
    throw e;
  }
}

/** Writes model.json and its shards into `dir` as one unit (nothing half-written on failure). */
export async function writeModelDir(dir: string, model: { modelJson: ModelJson; shards: Shard[] }): Promise<void> {
  await writeDirAtomic(dir, [
    ...model.shards.map((s) => ({ name: s.name, data: s.data })),
    { name: 'model.json', data: JSON.stringify(model.modelJson, null, 1) + '\n' },
  ]);
}
