/** Built-in label lists shipped in the package's `weights/labels/`, and label files given on the command line. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseLabels } from '../core/labels.js';
import { PPTSNError } from '../core/errors.js';

/** Names accepted by `--labels` besides a file path. */
export const BUILTIN_LABELS = { kinetics400: 'kinetics400.txt', ucf101: 'ucf101_classInd.txt' } as const;

export async function loadLabels(nameOrPath: string): Promise<string[]> {
  const builtin = BUILTIN_LABELS[nameOrPath as keyof typeof BUILTIN_LABELS];
  // src/node/labels.ts and dist/node/labels.js both sit two levels below the package root.
  const path = builtin ? fileURLToPath(new URL(`../../weights/labels/${builtin}`, import.meta.url)) : nameOrPath;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new PPTSNError('invalid-argument', `${path}: cannot read the label file (${(e as Error).message}); use kinetics400, ucf101 or a path`);
  }
  return parseLabels(text, path);
}
