import * as tf from '@tensorflow/tfjs';
import type { NamedArrays } from '../checkpoint/checkpoint.js';
import { restoreVariables } from '../checkpoint/weights.js';
import type { TrainConfig } from '../config/schema.js';
import type { Params } from '../layers/params.js';

export type LookaheadSettings = NonNullable<TrainConfig['lookahead']>;

/**
 * Lookahead-style weight averaging as airbench and hlb-CIFAR10 do it (their LookaheadState):
 * every `every` optimizer steps from epoch `start_epoch` on, a slow copy of the weights moves
 * towards them, slow ← ρ·slow + (1 − ρ)·w, and the weights are set back to it, w ← slow, with
 * ρ = decay^every · (step / total)^power: ≈ 0 early (the weights move freely), up to decay^every
 * at the end (they are pulled back strongly). The first such step only copies the weights; after
 * every epoch the weights are set to the slow copy. Unlike the EMA, which only watches, it changes
 * the weights that train on.
 */
export class Lookahead {
  private slow: Params | null = null;

  constructor(private readonly settings: LookaheadSettings) {}

  /** After optimizer step `step` (counted from 1) of `total`, in epoch `epoch` (from 1). */
  afterStep(params: Params, step: number, total: number, epoch: number): void {
    const { every, decay, power, start_epoch: start } = this.settings;
    if (epoch < start || step % every !== 0) return;
    if (this.slow === null) {
      this.slow = Object.fromEntries(Object.entries(params).map(([name, w]) => [name, tf.variable(w, false)]));
      return;
    }
    this.pull(params, decay ** every * Math.min(step / total, 1) ** power);
  }

  /** At the end of an epoch: the weights become the slow copy (airbench's update with decay 1). */
  endEpoch(params: Params): void {
    if (this.slow !== null) this.pull(params, 1);
  }

  /** The slow copy, null before the first lookahead step (the checkpoint saves it). */
  get weights(): Params | null {
    return this.slow;
  }

  /** Continues from a saved slow copy of `params` (null: not started yet), checked against their names and shapes. */
  restore(params: Params, saved: NamedArrays | null, source: string): void {
    this.dispose();
    if (saved === null) return;
    const slow: Params = Object.fromEntries(Object.entries(params).map(([name, w]) => [name, tf.variable(w, false)]));
    try {
      restoreVariables(slow, saved, source);
    } catch (err) {
      tf.dispose(Object.values(slow));
      throw err;
    }
    this.slow = slow;
  }

  private pull(params: Params, rho: number): void {
    tf.tidy(() => {
      for (const [name, slow] of Object.entries(this.slow!)) {
        slow.assign(tf.add(tf.mul(slow, rho), tf.mul(params[name], 1 - rho)));
        params[name].assign(slow);
      }
    });
  }

  dispose(): void {
    if (this.slow) tf.dispose(Object.values(this.slow));
    this.slow = null;
  }
}
