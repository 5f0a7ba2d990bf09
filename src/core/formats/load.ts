/**
 * One entry point for a weight file the user hands us: sniffs the format from the bytes (never the file name),
 * reads it, checks it against the architecture and records where it came from.
 */
import { PPTSNError } from '../errors.js';
import type { Depth } from '../model/arch.js';
import type { StateDict } from '../stateDict.js';
import type { WeightFormat, WeightSource } from './modelJson.js';
import { readPdiparams } from './pdiparams.js';
import { readPdparams } from './pdparams.js';
import type { DistillationPart, DistillationPick } from './distillation.js';
import { sha256Hex } from './sha256.js';

/** A weight file read and checked. */
export interface LoadedWeights {
  /** Structured keys in PaddleVideo's state-dict order, Paddle layouts. */
  stateDict: StateDict;
  depth: Depth;
  numClasses: number;
  source: WeightSource;
  /** For a training checkpoint, the key its state dict was under (`model`, `state_dict`, …). */
  checkpointKey?: string;
  /** For a distillation checkpoint (formats/distillation.ts), its layout and which model was taken. */
  distillation?: DistillationPick;
}

/** What the first bytes say a file is. */
export function sniffWeightFormat(bytes: Uint8Array): WeightFormat | 'zip' | 'unknown' {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5) return 'pdparams';
  // A LoDTensor starts with u32 version 0 and a small u64 LoD level.
  if (bytes.length >= 12 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0 && bytes[3] === 0 && bytes[4]! < 16 && bytes.subarray(5, 12).every((b) => b === 0)) return 'pdiparams';
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4) return 'zip';
  let i = 0;
  while (i < bytes.length && i < 64 && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] === 0x7b) return 'model.json';
  return 'unknown';
}

/**
 * Reads a PaddleVideo weight file (`.pdparams` pickle or `.pdiparams`, optionally with its `.pdiparams.info`),
 * checks it is a complete PP-TSN model and returns the state dict with depth, class count and provenance. A
 * distillation checkpoint gives its student, or with `part: 'teacher'` its teacher, in `Recognizer2D` layout.
 * Throws `PPTSNError('model-invalid')` for anything malformed, hostile, partial or of the wrong shape.
 */
export async function loadWeightFile(bytes: Uint8Array | ArrayBuffer, options: { fileName: string; info?: Uint8Array | ArrayBuffer; part?: DistillationPart }): Promise<LoadedWeights> {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const { fileName } = options;
  const format = sniffWeightFormat(b);
  let result: { stateDict: StateDict; depth: Depth; numClasses: number; checkpointKey?: string; distillation?: DistillationPick };
  try {
    switch (format) {
      case 'pdparams':
        result = readPdparams(b, fileName, options.part ? { part: options.part } : {});
        break;
      case 'pdiparams': {
        if (options.part === 'teacher') throw new PPTSNError('model-invalid', `${fileName} is an inference model (.pdiparams), which holds one model: it has no teacher to take; use it as the teacher itself`);
        const info = options.info === undefined ? undefined : options.info instanceof Uint8Array ? options.info : new Uint8Array(options.info);
        result = readPdiparams(b, { fileName, ...(info ? { info } : {}) });
        break;
      }
      default:
        return notWeights(format, fileName);
    }
  } catch (e) {
    // Every message names the file (the readers' low-level ones, e.g. a malformed pickle, do not).
    if (e instanceof PPTSNError && !e.message.includes(fileName)) throw new PPTSNError(e.code, `${fileName}: ${e.message}`, { cause: e });
    throw e;
  }
  const sha256 = await sha256Hex(b);
  return { stateDict: result.stateDict, depth: result.depth, numClasses: result.numClasses, source: { fileName, sha256, format }, ...(result.checkpointKey ? { checkpointKey: result.checkpointKey } : {}), ...(result.distillation ? { distillation: result.distillation } : {}) };
}

function notWeights(format: string, fileName: string): never {
  switch (format) {
    case 'model.json':
      throw new PPTSNError('model-invalid', `${fileName} looks like a model.json: it needs its shards, load it with readModelJson`);
    case 'zip':
      throw new PPTSNError('model-invalid', `${fileName} is a zip archive (a PyTorch checkpoint?), not a PaddleVideo .pdparams or .pdiparams file`);
    default:
      throw new PPTSNError('model-invalid', `${fileName} is not a PaddleVideo weight file: expected a .pdparams pickle or a .pdiparams inference file`);
  }
}
