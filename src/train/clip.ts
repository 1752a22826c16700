import * as tf from '@tensorflow/tfjs';

/** The L2 norm of all gradients together, as if they were concatenated into one vector. */
export function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum<tf.Scalar>(tf.square(g))))));
}

/**
 * PyTorch's `clip_grad_norm_`: when the global norm exceeds `maxNorm`, every gradient is scaled by
 * maxNorm / (norm + 1e-6). The factor is clamped on the device instead of branching in JS, so
 * clipping never has to wait for the norm to be read back.
 */
export function clipByGlobalNorm(grads: tf.Tensor[], norm: tf.Scalar, maxNorm: number): tf.Tensor[] {
  return tf.tidy(() => {
    const scale = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    return grads.map((g) => tf.mul(g, scale));
  });
}
