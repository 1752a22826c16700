import * as tf from '@tensorflow/tfjs';

const LAYER_NORM_EPS = 1e-5; // PyTorch's default, so exported weights behave the same there

/**
 * x · W (+ b) over the last axis, computed as one plain 2-D matMul on [rows, in]: that is the
 * form wasm runs on its fast (XNNPACK) path.
 */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const [inDim, outDim] = weight.shape;
  const y = matMul2d(tf.reshape(x, [-1, inDim]), weight);
  return tf.reshape(bias ? tf.add(y, bias) : y, [...x.shape.slice(0, -1), outDim]);
}

/**
 * x · W with a gradient written as explicit transposes followed by plain 2-D matMuls:
 * tfjs's own matMul gradient uses the transposed-operand forms, which wasm runs ~13x slower.
 */
const matMul2d = tf.customGrad((x, w, save) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy, [x, w]) => [tf.matMul(dy, tf.transpose(w)), tf.matMul(tf.transpose(x), dy)],
  };
}) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor2D;

/** LayerNorm over the last axis: normalise to zero mean and unit variance, then scale and shift. */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LAYER_NORM_EPS)));
  return tf.add(tf.mul(normalized, weight), bias);
}

/** The exact GELU, x · Φ(x) = x/2 · (1 + erf(x/√2)), as PyTorch's nn.GELU() computes it. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}
