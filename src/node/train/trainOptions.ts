/** The options, events and summary of `trainOnLists` (datasetTrainer.ts), apart so the trainer's parts can share them. */
import type { ListFormat, ListItem } from '../../core/dataset/lists.js';
import type { StateDict } from '../../core/stateDict.js';
import type { DatasetRecipe } from '../../core/train/recipe.js';
import type { NodeRunnerChoice } from '../runtime.js';
import type { ItemReader } from './data.js';
import type { SavedState } from './runDir.js';
import type { ValidResult } from './validate.js';
import type { DistillOptions } from './teacher.js';

export interface DatasetTrainerOptions {
  runDir: string;
  recipe: DatasetRecipe;
  format: ListFormat;
  train: ListItem[];
  valid: ListItem[];
  classes: string[];
  /** The complete starting state dict (backbone + the head for `classes`). */
  init: StateDict;
  /** PaddleVideo's `model_name` (file prefix), default ppTSN. */
  name: string;
  /** Everything else that makes this run this run (lists, starting weights), recorded in run.json. */
  identity: Record<string, unknown>;
  decoder?: ItemReader['decoder'];
  /** Runtime of the frozen part for cached strategies (default auto: onnxruntime-node when installed). */
  backend?: NodeRunnerChoice;
  /** Clips per forward/backward when the input is images ('full', recomputed 'last-stage'); default min(B, 4) on onnxruntime, min(B, 8) on tfjs. */
  microBatch?: number;
  /** Largest cache a 'last-stage' run keeps on disk before it recomputes instead (default 2 GiB). */
  cacheBytes?: number;
  /** Distillation (`--teacher`): train items labelled `UNLABELLED` get the distillation term only. */
  distill?: DistillOptions;
  signal?: AbortSignal;
  onEvent?: (e: TrainEvent) => void;
}

export type TrainEvent =
  | { phase: 'resume'; epoch: number; iteration: number }
  /** What runs the trainable part's forward and backward passes. */
  | { phase: 'runtime'; trainable: string }
  | { phase: 'cache'; done: number; total: number }
  | { phase: 'iter'; epoch: number; epochs: number; iter: number; iters: number; step: number; loss: number; top1: number; lr: number; ips: number; etaS: number; kd?: number }
  | { phase: 'epoch'; epoch: number; valid?: ValidResult; agreement?: number; best: SavedState['best'] }
  | { phase: 'saved'; file: string };

export interface TrainSummary {
  stopped: boolean;
  epochs: number;
  best: { epoch: number; top1: number; top5: number } | null;
  files: string[];
}
