import * as tf from '@tensorflow/tfjs';
import { columnSums } from './linear.js';

/** a + b (same shapes), for residual connections: unlike tf.add, it keeps neither input alive for the backward pass. */
export const residualAdd = tf.customGrad((a, b) => ({
  value: tf.add(a as tf.Tensor, b as tf.Tensor),
  // Two tensors, not one twice: tfjs disposes a gradient when it accumulates into it.
  gradFunc: (dy) => [tf.clone(dy), tf.clone(dy)],
})) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * x + row for x [b, …] and row [1, …] (one value per position, shared by every sample, as the
 * position embedding). Its gradient Σ_b dy is a product, as wasm's Sum over the batch is slow.
 */
export const addToEachSample = tf.customGrad((x, row) => ({
  value: tf.add(x as tf.Tensor, row as tf.Tensor),
  gradFunc: (dy) =>
    tf.tidy(() => {
      const perSample = tf.util.sizeFromShape(dy.shape.slice(1));
      return [tf.clone(dy), tf.reshape(columnSums(tf.reshape(dy, [-1, perSample])), (row as tf.Tensor).shape)];
    }),
})) as (x: tf.Tensor, row: tf.Tensor) => tf.Tensor;
