/**
 * Class-name lists. PaddleVideo's Kinetics-400 list is `id name` with 0-based ids; UCF101's `classInd.txt` is
 * `id Name` with 1-based ids; a plain file may also be one name a line. The result is indexed by class id.
 */
import { PPTSNError } from './errors.js';

export function parseLabels(text: string, source = 'labels'): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length === 0) throw new PPTSNError('invalid-argument', `${source}: no labels in the file`);
  const numbered = lines.map((l) => /^(\d+)[\s,]+(.+)$/.exec(l));
  if (!numbered.every((m) => m !== null)) return lines;
  const ids = numbered.map((m) => Number(m![1]));
  const base = Math.min(...ids); // 0 for PaddleVideo's lists, 1 for UCF101's classInd.txt
  const out: string[] = new Array<string>(lines.length);
  numbered.forEach((m, i) => {
    const id = ids[i]! - base;
    if (id < 0 || id >= lines.length || out[id] !== undefined) {
      throw new PPTSNError('invalid-argument', `${source}: line ${i + 1} has id ${ids[i]}, which is out of range or repeated`);
    }
    out[id] = m![2]!.trim();
  });
  return out;
}

/** Fallback names when a model has no label list: `class_0`, `class_1`, … */
export function defaultLabels(numClasses: number): string[] {
  return Array.from({ length: numClasses }, (_, i) => `class_${i}`);
}
