/**
 * A training run's directory (`pptsn-web train -o <run_dir>`), as PaddleVideo's `output_dir` plus what resuming
 * needs:
 * - `run.json`: the run's identity (recipe, lists, starting weights), written once; the same command resumes, another
 *   recipe into the same directory is refused (as `eval --out` refuses another run);
 * - `log.jsonl`: one JSON object a line, `iter` and `epoch` records (cut back to the saved state on resume, so it
 *   reads as one uninterrupted run);
 * - `state.bin`: the last consistent state (trainable parameters with BN statistics, momentum velocities, position,
 *   best so far), one file replaced atomically at every epoch end, every few minutes and on Ctrl-C;
 * - `init/`: the starting weights as a converted model (the frozen part runs from it on onnxruntime-node);
 * - `cache/`: the frozen part's outputs (frozenCache.ts);
 * - PaddleVideo's files: `<name>_best.pdparams`, `<name>_epoch_{n:05d}.pdparams`, and `model/` (model.json).
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PPTSNError } from '../../core/errors.js';
import type { TrainerCheckpoint } from '../../core/train/checkpoint.js';
import { writeFileAtomic } from '../files.js';

/** What makes two invocations the same run. */
export type RunIdentity = Record<string, unknown>;

export interface SavedState {
  checkpoint: TrainerCheckpoint;
  /** Best validation top-1 so far and its epoch (PaddleVideo's `best`, 0 before any). */
  best: { top1: number; top5: number; epoch: number };
  /** Files written so far (the summary's list). */
  files: string[];
}

export class RunDir {
  constructor(readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Records the identity on a fresh run; on an existing one, refuses a different identity naming what differs. */
  async claim(identity: RunIdentity): Promise<'new' | 'resume'> {
    const file = this.path('run.json');
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) {
      await writeFileAtomic(file, JSON.stringify(identity, null, 1) + '\n');
      return 'new';
    }
    let old: RunIdentity;
    try {
      old = JSON.parse(text) as RunIdentity;
    } catch {
      throw new PPTSNError('invalid-argument', `${file} is not a run record (damaged?): use another -o directory, or remove ${this.dir}`);
    }
    const differs = [...new Set([...Object.keys(old), ...Object.keys(identity)])].filter((k) => JSON.stringify(old[k]) !== JSON.stringify(identity[k]));
    if (differs.length > 0) {
      const show = (v: unknown) => (JSON.stringify(v) ?? 'unset').slice(0, 80);
      throw new PPTSNError('invalid-argument', `${this.dir} holds another training run (${differs.map((k) => `${k}: ${show(old[k])} there, ${show(identity[k])} now`).join('; ')}): run the same command to resume it, or train into another -o directory`);
    }
    return 'resume';
  }

  /** The saved state, or undefined before the first save. */
  async loadState(): Promise<SavedState | undefined> {
    const file = this.path('state.bin');
    const bytes = await readFile(file).catch(() => undefined);
    if (bytes === undefined) return undefined;
    // One file: u32 length of the JSON index, the index, padding to 4 bytes, then the float32 arrays.
    const n = bytes.readUInt32LE(0);
    const meta = JSON.parse(bytes.subarray(4, 4 + n).toString('utf8')) as Omit<SavedState, 'checkpoint'> & { checkpoint: Omit<TrainerCheckpoint, 'params' | 'velocity'>; arrays: { group: 'params' | 'velocity'; key: string; offset: number; length: number }[] };
    const start = 4 + n + ((4 - ((4 + n) % 4)) % 4);
    const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.byteLength));
    const params: Record<string, Float32Array> = {};
    const velocity: Record<string, Float32Array> = {};
    for (const a of meta.arrays) {
      if (a.offset + a.length > all.length) throw new PPTSNError('invalid-argument', `${file} is cut short: remove it to restart the run from the beginning`);
      (a.group === 'params' ? params : velocity)[a.key] = all.slice(a.offset, a.offset + a.length);
    }
    return { best: meta.best, files: meta.files, checkpoint: { ...meta.checkpoint, params, velocity } };
  }

  /**
   * Replaces the saved state. One file renamed into place: the position and the arrays it describes can never come
   * from two different saves (a kill between the renames of two files did exactly that).
   */
  async saveState(s: SavedState): Promise<void> {
    const arrays: { group: 'params' | 'velocity'; key: string; offset: number; length: number }[] = [];
    let offset = 0;
    const parts: Float32Array[] = [];
    for (const group of ['params', 'velocity'] as const) {
      for (const [key, data] of Object.entries(s.checkpoint[group])) {
        arrays.push({ group, key, offset, length: data.length });
        parts.push(data);
        offset += data.length;
      }
    }
    const { params: _p, velocity: _v, ...position } = s.checkpoint;
    const index = Buffer.from(JSON.stringify({ checkpoint: position, best: s.best, files: s.files, arrays }), 'utf8');
    const start = 4 + index.length + ((4 - ((4 + index.length) % 4)) % 4);
    const out = new Uint8Array(start + offset * 4);
    new DataView(out.buffer).setUint32(0, index.length, true);
    out.set(index, 4);
    const all = new Float32Array(out.buffer, start, offset);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    await writeFileAtomic(this.path('state.bin'), out);
  }

  /**
   * Cuts `log.jsonl` back to what the saved state covers: iteration records of steps before `iteration`, epoch
   * records up to `epoch`. A run killed mid-epoch logged steps it will train again.
   */
  async trimLog(iteration: number, epoch: number): Promise<void> {
    const text = await readFile(this.path('log.jsonl'), 'utf8').catch(() => '');
    const keep = text.split('\n').filter((line) => {
      if (!line.trim()) return false;
      try {
        const r = JSON.parse(line) as { type?: string; step?: number; epoch?: number };
        return r.type === 'iter' ? (r.step ?? Infinity) < iteration : r.type === 'epoch' ? (r.epoch ?? Infinity) <= epoch : true;
      } catch {
        return false; // a line cut by a kill
      }
    });
    await writeFileAtomic(this.path('log.jsonl'), keep.map((l) => l + '\n').join(''));
  }

  async log(record: Record<string, unknown>): Promise<void> {
    await appendFile(this.path('log.jsonl'), JSON.stringify(record) + '\n');
  }

  async writeText(name: string, text: string): Promise<void> {
    await writeFile(this.path(name), text);
  }
}
