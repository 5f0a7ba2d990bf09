/**
 * Distillation checkpoints as PaddleVideo writes them (docs/contract.md §7; `paddlevideo/modeling/framework/recognizers/
 * recognizerDistillation.py`, `paddlevideo/utils/save_load.py`): `RecognizerDistillation` registers teacher and
 * student as `nn.Sequential(backbone, head)` sublayers named `Teacher` and `Student`, so its state dict
 * (`_best.pdparams`, `_epoch_N.pdparams`) is keyed `Student.0.…` (backbone), `Student.1.fc.weight` (head),
 * `Teacher.0.…`, `Teacher.1.…`; `_best_student.pdparams` is the student with `Student.` removed (`0.…`, `1.…`).
 * This module takes one of the two models and renames its keys to `Recognizer2D`'s layout (`backbone.…`,
 * `head.…`), which the rest of the readers check as any PP-TSN state dict.
 */
import { PPTSNError } from '../errors.js';
import { printable } from './pyValues.js';

/** Which model of a distillation checkpoint to take. */
export type DistillationPart = 'student' | 'teacher';

/** The two layouts: the whole `RecognizerDistillation`, or the student alone (`_best_student.pdparams`). */
export type DistillationLayout = 'RecognizerDistillation' | 'student-only';

/** What was taken from a distillation checkpoint, for the report. */
export interface DistillationPick {
  layout: DistillationLayout;
  part: DistillationPart;
}

const WHOLE = /^(Student|Teacher)\.[01]\./;
const SEQUENTIAL = /^[01]\./;

/** The distillation layout `keys` (tensor keys, tables excluded) are in, or undefined for any other file. */
export function distillationLayout(keys: readonly string[]): DistillationLayout | undefined {
  if (!keys.length) return undefined;
  if (keys.every((k) => WHOLE.test(k))) return 'RecognizerDistillation';
  if (keys.every((k) => SEQUENTIAL.test(k))) return 'student-only';
  return undefined;
}

/** `0.x` → `backbone.x`, `1.x` → `head.x` (`nn.Sequential(backbone, head)` numbers its children from 0). */
function toRecognizer2D(key: string): string {
  return key.startsWith('0.') ? `backbone.${key.slice(2)}` : `head.${key.slice(2)}`;
}

/**
 * Takes `part` out of `tensors` (keyed as the file keys them) when they are a distillation checkpoint, renamed to
 * `Recognizer2D` keys in file order; `names` (the `StructuredToParameterName@@` table), if any, likewise.
 * Returns undefined for a file that is not a distillation checkpoint, unless the teacher was asked for. Throws
 * `PPTSNError('model-invalid')` naming `fileName` when the asked-for model is not in the file.
 */
export function takeDistillationPart<T>(
  tensors: ReadonlyMap<string, T>,
  names: ReadonlyMap<string, string> | undefined,
  part: DistillationPart | undefined,
  fileName: string,
): { tensors: Map<string, T>; names: Map<string, string> | undefined; pick: DistillationPick } | undefined {
  const keys = [...tensors.keys()];
  const layout = distillationLayout(keys);
  const want = part ?? 'student';
  if (!layout) {
    if (part === 'teacher') {
      throw new PPTSNError('model-invalid', `${fileName} is not a distillation checkpoint (no Student.…/Teacher.… keys, e.g. ${printable((keys[0] ?? '').slice(0, 60))}): it holds one model; use the file itself as the teacher`);
    }
    return undefined;
  }
  let strip: (k: string) => string | undefined;
  if (layout === 'student-only') {
    if (want === 'teacher') {
      throw new PPTSNError('model-invalid', `${fileName} holds only a distillation's student (0.…/1.… keys, a _best_student.pdparams): it has no teacher; take the teacher from the RecognizerDistillation checkpoint saved beside it (_best.pdparams), or give the teacher's own weights`);
    }
    strip = (k) => k;
  } else {
    const prefix = want === 'student' ? 'Student.' : 'Teacher.';
    strip = (k) => (k.startsWith(prefix) ? k.slice(prefix.length) : undefined);
    if (!keys.some((k) => k.startsWith(prefix))) {
      throw new PPTSNError('model-invalid', `${fileName} is a RecognizerDistillation checkpoint without a ${want} (no ${prefix}… keys)`);
    }
  }
  const out = new Map<string, T>();
  for (const [k, v] of tensors) {
    const s = strip(k);
    if (s !== undefined) out.set(toRecognizer2D(s), v);
  }
  let outNames: Map<string, string> | undefined;
  if (names) {
    outNames = new Map();
    for (const [k, v] of names) {
      const s = strip(k);
      if (s !== undefined && SEQUENTIAL.test(s)) outNames.set(toRecognizer2D(s), v);
    }
  }
  return { tensors: out, names: outNames, pick: { layout, part: want } };
}

/** One line for the CLI: what the file was and what was taken. */
export function describeDistillationPick(fileName: string, pick: DistillationPick): string {
  const what = pick.layout === 'RecognizerDistillation' ? 'a RecognizerDistillation checkpoint (Student.… and Teacher.… keys)' : 'a distillation\'s student (0.…/1.… keys, as _best_student.pdparams)';
  return `${fileName} is ${what}: taking the ${pick.part}, in Recognizer2D layout (backbone.…, head.fc.…)`;
}
