/**
 * `pptsn-web train --unlabeled <list>`: the clips a student learns from the teacher alone (issue 22). The list is a
 * PaddleVideo videos or rawframes list whose labels, if any, are ignored, or a plain list of paths, one a line
 * (without spaces; `#` lines and blank lines skipped). A plain list's format is `--format`, the labelled list's, or
 * guessed from its first path (a folder: rawframes, whose frames are counted; a file: videos).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { joinRoot, parseList, type ListFormat, type ListItem } from '../../core/dataset/lists.js';
import { PPTSNError } from '../../core/errors.js';
import { isDirectory } from '../rawframes.js';

/** Items of an unlabelled list (their `label` is meaningless: the caller marks them unlabelled). */
export async function readUnlabelled(file: string, o: { format?: ListFormat; root?: string; suffix?: string }): Promise<{ format: ListFormat; items: ListItem[]; text: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot read the unlabelled list ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = text.split(/\r?\n/).map((l, i) => ({ text: l.trim(), line: i + 1 })).filter((l) => l.text && !l.text.startsWith('#'));
  if (!lines.length) throw new PPTSNError('invalid-argument', `the unlabelled list ${file} is empty: give one path a line, or a PaddleVideo list`);
  let format: ListFormat;
  let items: ListItem[];
  if (lines.every((l) => !/\s/.test(l.text))) {
    items = lines.map((l) => ({ relPath: l.text, path: joinRoot(o.root, l.text), label: 0, line: l.line }));
    format = o.format ?? ((await isDirectory(items[0]!.path)) ? 'rawframes' : 'videos');
  } else {
    const parsed = parseList(text, { source: basename(file), ...(o.format ? { format: o.format } : {}), ...(o.root ? { root: o.root } : {}) });
    const bad = parsed.entries.find((e) => e.problem);
    if (bad?.problem) throw new PPTSNError('invalid-argument', `${bad.problem.message} (${file}; a plain list holds one path a line)`);
    format = parsed.format;
    items = parsed.entries.map((e) => e.item!);
  }
  if (o.suffix && format === 'videos') for (const it of items) it.path += o.suffix;
  return { format, items, text };
}
