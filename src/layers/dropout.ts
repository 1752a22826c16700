import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';
import { tfSeed } from './params.js';

/** Dropout of `rate` on x, with an optional broadcast mask shape (stochastic depth: [b, 1, 1]). */
export type Dropout = (x: tf.Tensor, rate: number, noiseShape?: number[]) => tf.Tensor;

/**
 * Inverted dropout in training (kept values scaled by 1/keep), identity in evaluation. Each call
 * takes the next seed from one Rng seeded with the pass's seed, so masks never depend on tfjs's
 * global random state and a replayed step is identical.
 */
export function seededDropout(opts: { training: boolean; seed?: number }): Dropout {
  if (!opts.training) return (x) => x;
  if (opts.seed === undefined) throw new Error('a training pass needs a seed for its dropout masks');
  const rng = new Rng(opts.seed);
  return (x, rate, noiseShape) => (rate > 0 ? tf.dropout(x, rate, noiseShape, tfSeed(rng)) : x);
}
