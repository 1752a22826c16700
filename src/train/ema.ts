import * as tf from '@tensorflow/tfjs';
import type { Params } from '../layers/params.js';

/**
 * An exponential moving average of the weights, as timm's ModelEmaV2/V3: after every optimizer
 * step, ema ← d·ema + (1 − d)·w. With `warmup`, d starts small and grows towards `decay`
 * (timm's ModelEmaV3 warm-up, d_t = min(decay, 1 − (1 + t)^(−2/3))), so the average is not
 * dominated by the random initial weights in a short run. The average is what the run evaluates
 * and checkpoints as its weights (see trainer.ts). Buffers (BatchNorm's running statistics) are
 * copied rather than averaged, as timm's ModelEmaV3 does by default: they are already averages.
 */
export class Ema {
  readonly params: Params;

  constructor(
    source: Params,
    private readonly decay: number,
    private readonly warmup: boolean,
    /** The names of `source`'s buffers. */
    private readonly buffers: ReadonlySet<string> = new Set(),
  ) {
    this.params = Object.fromEntries(
      Object.entries(source).map(([name, w]) => [name, tf.variable(w, false)]),
    );
  }

  /** The decay used after optimizer step `step` (counted from 1). */
  decayAt(step: number): number {
    return this.warmup ? Math.min(this.decay, 1 - (1 + step) ** (-2 / 3)) : this.decay;
  }

  /** Moves the average towards `source` after optimizer step `step`. */
  update(source: Params, step: number): void {
    const d = this.decayAt(step);
    tf.tidy(() => {
      const keep = tf.scalar(d);
      const take = tf.scalar(1 - d);
      for (const [name, average] of Object.entries(this.params)) {
        average.assign(this.buffers.has(name) ? source[name] : tf.add(tf.mul(average, keep), tf.mul(source[name], take)));
      }
    });
  }

  dispose(): void {
    tf.dispose(Object.values(this.params));
  }
}
