import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../util/rng.js';

/**
 * Layer dropout (Fan et al. 2019, "Reducing Transformer Depth on Demand"), as models/cait.py's
 * `dropout_layers` does it: each of `count` blocks is skipped with probability `rate`, and when
 * every one would be, one chosen at random is kept. No rescaling. Drawn from `rng` (seeded from
 * the training pass's seed), so a replayed step skips the same blocks; null (evaluation): none.
 */
export function keptBlocks(count: number, rate: number, rng: Rng | null): boolean[] {
  if (!rng || rate === 0) return new Array<boolean>(count).fill(true);
  const kept = Array.from({ length: count }, () => rng.next() >= rate);
  if (!kept.includes(true)) kept[rng.int(count)] = true;
  return kept;
}

/**
 * A skipped block: x unchanged, and a zero gradient for each of the block's `unused` parameters
 * (the optimizer wants one per parameter; PyTorch's zeroed .grad, as zero_grad() leaves it in 1.x).
 */
export function skippedBlock(x: tf.Tensor, unused: tf.Tensor[]): tf.Tensor {
  const op = tf.customGrad((...args) => {
    const input = args[0] as tf.Tensor;
    return { value: tf.clone(input), gradFunc: (dy: tf.Tensor) => [tf.clone(dy), ...unused.map((p) => tf.zerosLike(p))] };
  }) as (...inputs: tf.Tensor[]) => tf.Tensor;
  return op(x, ...unused);
}
