import * as tf from '@tensorflow/tfjs';
import { hasKernel } from '../backend/kernel-traits.js';
import { LAYER_NORM, LAYER_NORM_GRAD } from '../backend/fused-kernels.js';
import { columnSums } from './linear.js';

export const LAYER_NORM_EPS = 1e-5; // PyTorch's default, so exported weights behave the same there

/**
 * LayerNorm over the last axis: normalise to zero mean and unit variance, then scale and shift.
 * Written with its closed-form gradient, which keeps only x̂ and 1/σ for the backward pass
 * (autodiff through the moments keeps a dozen activation-sized tensors):
 *   dx = (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)) / σ  with ĝ = dy · weight.
 * Each direction is one fused kernel where the backend has it (LAYER_NORM, LAYER_NORM_GRAD).
 */
export const layerNorm = tf.customGrad((x, weight, bias, save) => {
  const [value, normalized, invStd] = hasKernel(LAYER_NORM)
    ? (tf.engine().runKernel(LAYER_NORM, { x, weight, bias } as tf.NamedTensorMap, { eps: LAYER_NORM_EPS }) as tf.Tensor[])
    : layerNormForward(x as tf.Tensor, weight as tf.Tensor, bias as tf.Tensor);
  (save as tf.GradSaveFunc)([normalized, invStd, weight as tf.Tensor]);
  return {
    value,
    gradFunc: (dy, [normalized, invStd, weight]) =>
      tf.tidy(() =>
        hasKernel(LAYER_NORM_GRAD)
          ? (tf.engine().runKernel(LAYER_NORM_GRAD, { dy, normalized, invStd, weight }) as tf.Tensor[])
          : layerNormBackward(dy, normalized, invStd, weight),
      ),
  };
}) as (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) => tf.Tensor;

/** LayerNorm in tfjs ops: [x̂ · weight + bias, x̂, 1/σ]. */
function layerNormForward(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor[] {
  const centered = tf.sub(x, tf.mean(x, -1, true));
  const invStd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), LAYER_NORM_EPS));
  const normalized = tf.mul(centered, invStd);
  return [tf.add(tf.mul(normalized, weight), bias), normalized, invStd];
}

/** LayerNorm's gradient in tfjs ops: [dx, dWeight, dBias]. */
function layerNormBackward(dy: tf.Tensor, normalized: tf.Tensor, invStd: tf.Tensor, weight: tf.Tensor): tf.Tensor[] {
  const dim = weight.shape[0];
  const g = tf.mul(dy, weight);
  const projection = tf.mul(normalized, tf.mean(tf.mul(g, normalized), -1, true));
  const dx = tf.mul(tf.sub(tf.sub(g, tf.mean(g, -1, true)), projection), invStd);
  return [dx, columnSums(tf.reshape(tf.mul(dy, normalized), [-1, dim])), columnSums(tf.reshape(dy, [-1, dim]))];
}
