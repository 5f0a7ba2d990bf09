/**
 * Reads a teacher-logits file (`classify --json` or `eval --out` JSON Lines) for distillation; the parsing and its
 * checks are src/core/train/teacherLogits.ts.
 */
import { readFile } from 'node:fs/promises';
import { PPTSNError } from '../core/errors.js';
import { parseTeacherLogits, type TeacherLogits } from '../core/train/teacherLogits.js';

/**
 * The teacher's logits in `file`, keyed by input path. `numClasses`: the student's class count, which every
 * record must have. Throws `PPTSNError('invalid-argument')` naming the file (and the line) when it cannot be read or
 * holds a bad record.
 */
export async function readTeacherLogits(file: string, options: { numClasses?: number } = {}): Promise<TeacherLogits> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new PPTSNError('invalid-argument', `cannot read the teacher logits ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseTeacherLogits(text, file, options);
}
