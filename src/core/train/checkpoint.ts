/**
 * Checkpoints of a fine-tuning run, to resume it (after a reload, from IndexedDB): the trainable part's parameters
 * with the running statistics of its BN layers, the optimiser's velocities and the position. Plain data.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PPTSNError } from '../errors.js';
import type { TrainableRecognizer } from '../model/trainable.js';
import { readFloat32 } from '../readBack.js';
import type { PaddleMomentum } from './optimizer.js';
import type { EpochInfo, TrainingPosition } from './progress.js';

/** Everything needed to resume. Plain data (structured-clone friendly, for IndexedDB). */
export interface TrainerCheckpoint {
  epoch: number;
  stepInEpoch: number;
  iteration: number;
  /** Trainable part's parameters and running statistics, keyed by PaddleVideo key, in the variables' layouts. */
  params: Record<string, Float32Array>;
  velocity: Record<string, Float32Array>;
  history: EpochInfo[];
  preciseBNDone: boolean;
  /** TrainingPosition.lrScale (absent: 1). */
  lrScale?: number;
}

export type { TrainingPosition };

/** Keys of the parameters a checkpoint holds: the trainable ones plus the running statistics of trainable BNs. */
function checkpointKeys(model: TrainableRecognizer): Set<string> {
  const params = model.parameters();
  const keys = new Set<string>();
  for (const p of params) if (p.variable.trainable) keys.add(p.key);
  for (const p of params) {
    if (p.kind === 'bn_mean' || p.kind === 'bn_variance') {
      const layer = p.key.replace(/\._batch_norm\._(mean|variance)$/, '');
      if (keys.has(`${layer}._batch_norm.weight`)) keys.add(p.key);
    }
  }
  return keys;
}

/** A checkpoint of `model`, `optimizer` and `position` (parameters and velocities read back asynchronously, `readBack.ts`). */
export async function takeCheckpoint(model: TrainableRecognizer, optimizer: PaddleMomentum, position: TrainingPosition): Promise<TrainerCheckpoint> {
  const state = { ...position, history: [...position.history] };
  const keys = checkpointKeys(model);
  const saved = model.parameters().filter((p) => keys.has(p.key));
  const [data, velocity] = await Promise.all([readFloat32(saved.map((p) => p.variable)), optimizer.getState()]);
  return { ...state, params: Object.fromEntries(saved.map((p, i) => [p.key, data[i]!])), velocity: Object.fromEntries(velocity) };
}

/**
 * Writes checkpoint `c` into `model` and `optimizer` (a trainer with the same settings) and returns its position.
 * Throws PPTSNError('invalid-argument') before changing anything when a parameter does not fit.
 */
export function restoreCheckpoint(model: TrainableRecognizer, optimizer: PaddleMomentum, c: TrainerCheckpoint): TrainingPosition {
  const byKey = new Map(model.parameters().map((p) => [p.key, p.variable]));
  for (const [k, data] of Object.entries(c.params)) {
    const v = byKey.get(k);
    if (!v || v.size !== data.length) throw new PPTSNError('invalid-argument', `checkpoint parameter ${k} does not fit this trainer`);
  }
  tf.tidy(() => {
    for (const [k, data] of Object.entries(c.params)) {
      const v = byKey.get(k)!;
      v.assign(tf.tensor(data, v.shape));
    }
  });
  optimizer.setState(new Map(Object.entries(c.velocity)));
  return { epoch: c.epoch, stepInEpoch: c.stepInEpoch, iteration: c.iteration, history: [...c.history], preciseBNDone: c.preciseBNDone, ...(c.lrScale !== undefined ? { lrScale: c.lrScale } : {}) };
}
