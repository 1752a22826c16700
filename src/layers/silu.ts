import * as tf from '@tensorflow/tfjs';
import { SILU, SILU_GRAD } from '../backend/fused-kernels.js';
import { hasKernel } from '../backend/kernel-traits.js';

/**
 * SiLU (swish), x · σ(x), as PyTorch's nn.SiLU. Where the backend has the fused kernels, one kernel
 * each way, keeping only x for the backward pass, dx = dy · σ(x) · (1 + x · (1 − σ(x))); in
 * tfjs's ops it is a Sigmoid and a Multiply forward and five ops back.
 */
export function silu<T extends tf.Tensor>(x: T): T {
  if (!hasKernel(SILU)) return tf.mul(x, tf.sigmoid(x));
  const op = tf.customGrad((input, save) => {
    (save as tf.GradSaveFunc)([input as tf.Tensor]);
    return {
      value: tf.engine().runKernel(SILU, { x: input as tf.Tensor }) as tf.Tensor,
      gradFunc: (dy, [saved]) => tf.engine().runKernel(SILU_GRAD, { x: saved, dy } as tf.NamedTensorMap) as tf.Tensor,
    };
  }) as (x: tf.Tensor) => tf.Tensor;
  return op(x) as T;
}
