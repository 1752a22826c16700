/**
 * einops (https://einops.rocks) for TensorFlow.js tensors: reshapes, transposes, reductions and
 * repeats written as patterns such as `'b (h p1) (w p2) c -> b (h w) (p1 p2 c)'`, with the pattern
 * language and semantics of the Python library. Only core tfjs ops are used, so it runs on every
 * backend and is differentiable. Self-contained: it imports nothing else from this project.
 */
import type * as tf from '@tensorflow/tfjs';
import type { AxisLengths } from './lengths.js';
import type { Reduction } from './operation.js';
import { transform } from './transform.js';

export { EinopsError } from './errors.js';
export type { AxisLengths } from './lengths.js';
export type { Reduction } from './operation.js';

/**
 * Reorders, splits and merges axes: `rearrange(x, 'b n (h d) -> b h n d', { h: 8 })`.
 * Returns `x` itself when the pattern changes nothing.
 */
export function rearrange<T extends tf.Tensor = tf.Tensor>(x: tf.Tensor, pattern: string, axes: AxisLengths = {}): T {
  return transform(x, pattern, 'rearrange', axes) as T;
}

/**
 * Like rearrange, and adds axes by copying: `repeat(cls, '1 1 d -> b 1 d', { b })`,
 * `repeat(gray, 'h w -> h w 3')`. A new axis' length comes from `axes` or is written as a number.
 */
export function repeat<T extends tf.Tensor = tf.Tensor>(x: tf.Tensor, pattern: string, axes: AxisLengths = {}): T {
  return transform(x, pattern, 'repeat', axes) as T;
}

/**
 * Like rearrange, and reduces the axes missing on the right: `reduce(x, 'b n d -> b d', 'mean')`,
 * `reduce(x, 'b (h 2) (w 2) c -> b h w c', 'max')`.
 */
export function reduce<T extends tf.Tensor = tf.Tensor>(
  x: tf.Tensor,
  pattern: string,
  reduction: Reduction,
  axes: AxisLengths = {},
): T {
  return transform(x, pattern, reduction, axes) as T;
}
