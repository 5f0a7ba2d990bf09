/** The training form's option and data types (trainable.ts's TrainableRecognizer; passGrads.ts). */
import type * as tf from '@tensorflow/tfjs-core';
import type { ParamSpec } from './arch.js';
import type { StageBoundary } from './resnetVd.js';
import type { ArchOptions } from './validate.js';

/** Which parameters fine-tuning updates: the FC only, res5 (`bb_3_*`) + FC, or everything. */
export type TrainableSubset = 'head' | 'last-stage' | 'full';

/** Paddle BatchNorm's default momentum, as used by ResNetTweaksTSN. */
export const BN_MOMENTUM = 0.9;

export interface TrainableOptions extends ArchOptions {
  /** Default 'full'. */
  trainable?: TrainableSubset;
  /** Dropout ratio before the FC in train mode; default 0.4 (ppTSNHead `drop_ratio`). */
  dropout?: number;
  /** BN running-statistics momentum; default 0.9 (Paddle). */
  momentum?: number;
}

export interface ForwardOptions {
  /** Train mode (batch statistics in the trainable part, dropout) or eval mode (running statistics). */
  training: boolean;
  /** Stage boundary the input starts at (default 0: normalised NHWC images); e.g. 4 for cached res5 inputs. */
  from?: StageBoundary;
  /** Seed for the dropout mask (tests); unseeded by default. */
  seed?: number;
  /**
   * Train mode: called after each ConvBN layer's forward (`backward` false) and, in the backward pass, after each of
   * their convolutions' gradients (`backward` true): `2 × trainableLayers(from)` calls a forward and backward pass,
   * so a pass of tens of seconds can report progress (issue 26). May throw to leave the pass (step.ts frees the tape).
   */
  onLayer?: (backward: boolean) => void;
}

/** Batch statistics of one BN layer over (N, H, W): mean and biased variance, `[C]`. */
export interface BatchNormStats {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** A model parameter with its PaddleVideo structured key and kind (for weight-decay groups, LR multipliers). */
export interface NamedVariable {
  key: string;
  kind: ParamSpec['kind'];
  /** Conv weights are held as tfjs filters `[kh, kw, I, O]`; every other parameter has Paddle's layout. */
  variable: tf.Variable;
}
