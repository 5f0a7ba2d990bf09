/**
 * Paddle's `Momentum` optimiser with `use_nesterov` and per-parameter L2 regularisation and learning-rate
 * multipliers, as PP-TSN configures it:
 *   g ← g + coeff·w                    (L2Decay regulariser: added to the gradient before the update)
 *   v ← μ·v + g
 *   w ← w − lr·(g + μ·v)   (nesterov)   |   w ← w − lr·v   (plain momentum)
 * with lr = global lr × the parameter's multiplier. PP-TSN: μ = 0.9, coeff 1e-4 on conv and FC weights, none on
 * BN scale/offset or the FC bias (their ParamAttr sets L2Decay(0)); multipliers FC weight ×5, FC bias ×10
 * (ppTSNHead's ParamAttr learning_rate). tf.train.momentum is not used: its Nesterov form differs from Paddle's
 * and it has no per-parameter decay or multipliers.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedVariable } from '../model/trainable.js';
import { readFloat32 } from '../readBack.js';
import { fusedMomentum, useFusedMomentum } from './momentumWasm.js';

/** PP-TSN's optimiser constants. */
export const MOMENTUM = 0.9;
export const WEIGHT_DECAY = 1e-4;
export const FC_WEIGHT_LR_MULT = 5;
export const FC_BIAS_LR_MULT = 10;

/** One parameter as the optimiser sees it. */
export interface ParamGroup {
  key: string;
  variable: tf.Variable;
  /** Learning-rate multiplier. */
  lrMult: number;
  /** L2 coefficient. */
  decay: number;
}

export interface MomentumOptions {
  /** μ; default 0.9. */
  momentum?: number;
  /** Paddle's nesterov update; default true. */
  nesterov?: boolean;
  /** L2 coefficient for conv and FC weights (0 switches weight decay off); default 1e-4. */
  weightDecay?: number;
  /** false: every multiplier is 1 (the FC multipliers switched off). Default true. */
  lrMultipliers?: boolean;
}

/**
 * PP-TSN's parameter groups from a model's named parameters: trainable ones only (running statistics are not
 * parameters), decay on 'conv' and 'fc_weight', multipliers on the FC.
 */
export function paramGroups(params: readonly NamedVariable[], opts: MomentumOptions = {}): ParamGroup[] {
  const wd = opts.weightDecay ?? WEIGHT_DECAY;
  const mult = opts.lrMultipliers ?? true;
  return params
    .filter((p) => p.variable.trainable && p.kind !== 'bn_mean' && p.kind !== 'bn_variance')
    .map((p) => ({
      key: p.key,
      variable: p.variable,
      lrMult: !mult ? 1 : p.kind === 'fc_weight' ? FC_WEIGHT_LR_MULT : p.kind === 'fc_bias' ? FC_BIAS_LR_MULT : 1,
      decay: p.kind === 'conv' || p.kind === 'fc_weight' ? wd : 0,
    }));
}

/** Paddle's Momentum (optionally Nesterov) with per-parameter L2 and learning-rate multipliers. */
export class PaddleMomentum {
  readonly momentum: number;
  readonly nesterov: boolean;
  private readonly velocity = new Map<string, tf.Variable>();

  constructor(
    readonly groups: readonly ParamGroup[],
    opts: MomentumOptions = {},
  ) {
    this.momentum = opts.momentum ?? MOMENTUM;
    this.nesterov = opts.nesterov ?? true;
  }

  private velocityOf(g: ParamGroup): tf.Variable {
    let v = this.velocity.get(g.key);
    if (!v) {
      // A variable keeps its own reference to the initial tensor's data: the initial tensor itself must be freed.
      const zeros = tf.zerosLike(g.variable);
      v = tf.variable(zeros, false);
      zeros.dispose();
      this.velocity.set(g.key, v);
    }
    return v;
  }

  /** One update with learning rate `lr`; `grads` maps a parameter key (or variable name) to its gradient. */
  applyGradients(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    const mu = this.momentum;
    for (const g of this.groups) {
      const grad = grads.get(g.key);
      if (!grad) continue;
      const v = this.velocityOf(g);
      const attrs = { decay: g.decay, momentum: mu, lr: lr * g.lrMult, nesterov: this.nesterov };
      if (grad.dtype === 'float32' && useFusedMomentum(attrs)) {
        // One pass of our wasm kernel, bit-identical to the ops below (momentumWasm.ts).
        const [w2, v2] = fusedMomentum(g.variable, grad, v, attrs);
        v.assign(v2);
        g.variable.assign(w2);
        tf.dispose([w2, v2]);
        continue;
      }
      tf.tidy(() => {
        const gr = g.decay > 0 ? tf.add(grad, tf.mul(g.variable, g.decay)) : grad;
        const vNew = tf.add(tf.mul(v, mu), gr);
        const step = this.nesterov ? tf.add(gr, tf.mul(vNew, mu)) : vNew;
        v.assign(vNew);
        g.variable.assign(tf.sub(g.variable, tf.mul(step, lr * g.lrMult)));
      });
    }
  }

  /** The velocities, for a checkpoint (read back asynchronously, `readBack.ts`). */
  async getState(): Promise<Map<string, Float32Array>> {
    const data = await readFloat32([...this.velocity.values()]);
    return new Map([...this.velocity.keys()].map((k, i) => [k, data[i]!]));
  }

  /** Restores velocities saved by `getState` (unknown keys and wrong sizes are ignored). */
  setState(state: ReadonlyMap<string, Float32Array>): void {
    for (const g of this.groups) {
      const s = state.get(g.key);
      if (!s || s.length !== g.variable.size) continue;
      const v = this.velocityOf(g);
      tf.tidy(() => v.assign(tf.tensor(s, g.variable.shape)));
    }
  }

  /** Frees the velocities. */
  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}
