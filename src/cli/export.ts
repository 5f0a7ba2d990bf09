/** `pptsn-web export <dir> -o <out.pdparams>`: a converted model back to PaddleVideo's format. */
import { writePdparams } from '../core/formats/pdparamsWriter.js';
import { writeFileAtomic } from '../node/files.js';
import { readModelDir } from '../node/modelDir.js';
import { str, usage, type Command } from './command.js';

export async function exportPdparams(dir: string, out: string, log?: (line: string) => void): Promise<void> {
  const model = await readModelDir(dir);
  const bytes = writePdparams(model.stateDict);
  await writeFileAtomic(out, bytes);
  log?.(`exported ${dir} (ResNet${model.depth}-vd, ${model.numClasses} classes) → ${out} (${(bytes.byteLength / 1048576).toFixed(1)} MB, pickle protocol 4)`);
}

export const exportCommand: Command = {
  name: 'export',
  summary: "write a converted model back as a PaddleVideo .pdparams",
  usage: ['export <dir> -o <out.pdparams>'],
  options: { out: { type: 'string', short: 'o' } },
  async run({ values, positionals }, { log }) {
    if (positionals.length !== 1) usage('export takes one model folder');
    const out = str(values.out) ?? usage('export needs -o <out.pdparams>');
    await exportPdparams(positionals[0]!, out, log);
  },
};
