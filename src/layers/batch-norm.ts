import * as tf from '@tensorflow/tfjs';
import { hasKernel } from '../backend/kernel-traits.js';
import { BATCH_NORM, BATCH_NORM_APPLY, BATCH_NORM_GRAD } from '../backend/fused-kernels.js';
import { columnSums } from './linear.js';
import { gelu, geluGrad } from './mlp.js';
import { silu } from './silu.js';

/** PyTorch's BatchNorm defaults, so that imported and exported weights behave the same there. */
export const BATCH_NORM_EPS = 1e-5;
export const BATCH_NORM_MOMENTUM = 0.1;

/**
 * The activation applied with the normalisation, as the families' graphs have them: ConvMixer's
 * conv → GELU → BN ('gelu_before'), ResNet's conv → BN → ReLU ('relu_after'), MobileViT's
 * conv → BN → SiLU ('silu_after'), or none. Fused, the backward pass keeps only the layer's input
 * and two numbers per channel, and recomputes the rest (the activation, x̂) on the way back.
 */
export type BatchNormActivation = 'none' | 'gelu_before' | 'relu_after' | 'silu_after';

/** The parameters and buffers of a BatchNorm over `channels` channels named `prefix`, in PyTorch's names. */
export function batchNormShapes(prefix: string, channels: number): { params: Record<string, number[]>; buffers: Record<string, number[]> } {
  return {
    params: { [`${prefix}.weight`]: [channels], [`${prefix}.bias`]: [channels] },
    buffers: { [`${prefix}.running_mean`]: [channels], [`${prefix}.running_var`]: [channels], [`${prefix}.num_batches_tracked`]: [] },
  };
}

/** BatchNorm's count of training batches (an int64 in PyTorch, a float32 here: exact below 2²⁴). */
export function isBatchCount(name: string): boolean {
  return name.endsWith('.num_batches_tracked');
}

/** A BatchNorm's initial value: gain 1, shift 0, running mean 0, running variance 1, count 0 (PyTorch's reset_parameters). */
export function batchNormInitialValue(name: string, shape: number[]): tf.Tensor | null {
  if (name.endsWith('.running_var')) return tf.ones(shape);
  if (name.endsWith('.running_mean') || isBatchCount(name)) return tf.zeros(shape);
  return null;
}

/**
 * BatchNorm over the last (channel) axis of x, NHWC [b, h, w, c] or [b, c], as PyTorch's
 * BatchNorm1d/2d computes it, with `activation` fused in. Training: the batch's mean and biased
 * variance over every axis but the channels normalise, and the running statistics move towards
 * them (momentum 0.1, the variance unbiased: × n/(n − 1)), reported in `updates` for the caller to
 * assign after the step, with the batch count + 1. Evaluation: the running statistics normalise.
 */
export function batchNorm(
  x: tf.Tensor,
  w: (name: string) => tf.Variable,
  prefix: string,
  activation: BatchNormActivation,
  opts: { training: boolean; bufferUpdates?: Record<string, tf.Tensor> },
): tf.Tensor {
  const weight = w(`${prefix}.weight`);
  const bias = w(`${prefix}.bias`);
  const channels = weight.shape[0];
  const rows = tf.reshape(x, [-1, channels]) as tf.Tensor2D;
  if (!opts.training) {
    // (x − mean) / √(var + eps) · weight + bias as one scale and one shift per channel.
    const scale = tf.mul(weight, tf.rsqrt(tf.add(w(`${prefix}.running_var`), BATCH_NORM_EPS)));
    const shift = tf.sub(bias, tf.mul(w(`${prefix}.running_mean`), scale));
    if (hasKernel(BATCH_NORM_APPLY)) {
      const y = tf.engine().runKernel(BATCH_NORM_APPLY, { x: rows, scale, shift } as tf.NamedTensorMap, { activation }) as tf.Tensor;
      return tf.reshape(y, x.shape);
    }
    const input = activation === 'gelu_before' ? gelu(rows) : rows;
    const y = tf.add(tf.mul(input, scale), shift);
    return tf.reshape(activationAfter(y, activation), x.shape);
  }
  const stats: { mean?: tf.Tensor; variance?: tf.Tensor } = {};
  const y = batchNormTraining(rows, weight, bias, activation, stats);
  if (opts.bufferUpdates) {
    const count = rows.shape[0];
    const m = BATCH_NORM_MOMENTUM;
    const updates = opts.bufferUpdates;
    updates[`${prefix}.running_mean`] = tf.keep(tf.add(tf.mul(w(`${prefix}.running_mean`), 1 - m), tf.mul(stats.mean!, m)));
    const unbiased = tf.mul(stats.variance!, count / Math.max(count - 1, 1));
    updates[`${prefix}.running_var`] = tf.keep(tf.add(tf.mul(w(`${prefix}.running_var`), 1 - m), tf.mul(unbiased, m)));
    updates[`${prefix}.num_batches_tracked`] = tf.keep(tf.add(w(`${prefix}.num_batches_tracked`), 1));
  }
  tf.dispose([stats.mean!, stats.variance!]); // kept to leave the customGrad's scope
  return tf.reshape(y, x.shape);
}

/**
 * Training-mode BatchNorm on rows [n, c] with its closed-form gradient. With a = act(x) (GELU
 * before) or x, x̂ = (a − mean) · invStd and g = dy' · weight, where dy' is dy through the ReLU
 * after (where x̂ · weight + bias > 0):
 *   da = invStd · (g − mean(g) − x̂ · mean(g · x̂)),  dWeight = Σ dy' · x̂,  dBias = Σ dy'
 * and dx = da · GELU'(x) when the GELU comes first. One fused kernel each way where the backend
 * has them (BATCH_NORM, BATCH_NORM_GRAD). The batch's mean and biased variance go to `stats`.
 */
function batchNormTraining(
  x: tf.Tensor2D,
  weight: tf.Tensor,
  bias: tf.Tensor,
  activation: BatchNormActivation,
  stats: { mean?: tf.Tensor; variance?: tf.Tensor },
): tf.Tensor {
  const attrs = { eps: BATCH_NORM_EPS, activation };
  const op = tf.customGrad((x, weight, bias, save) => {
    const [y, mean, variance, invStd] = hasKernel(BATCH_NORM)
      ? (tf.engine().runKernel(BATCH_NORM, { x, weight, bias } as tf.NamedTensorMap, attrs) as tf.Tensor[])
      : batchNormForward(x as tf.Tensor2D, weight as tf.Tensor, bias as tf.Tensor, activation);
    stats.mean = tf.keep(mean);
    stats.variance = tf.keep(variance);
    (save as tf.GradSaveFunc)([x as tf.Tensor, mean, invStd, weight as tf.Tensor, bias as tf.Tensor]);
    return {
      value: y,
      gradFunc: (dy, [x, mean, invStd, weight, bias]) =>
        tf.tidy(() =>
          hasKernel(BATCH_NORM_GRAD)
            ? (tf.engine().runKernel(BATCH_NORM_GRAD, { dy, x, mean, invStd, weight, bias } as tf.NamedTensorMap, attrs) as tf.Tensor[])
            : batchNormBackward(dy as tf.Tensor2D, x as tf.Tensor2D, mean, invStd, weight, bias, activation),
        ),
    };
  }) as (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) => tf.Tensor;
  return op(x, weight, bias);
}

/** BatchNorm's forward pass in tfjs ops: [y, mean, biased variance, 1/√(variance + eps)], the statistics per channel. */
function batchNormForward(x: tf.Tensor2D, weight: tf.Tensor, bias: tf.Tensor, activation: BatchNormActivation): tf.Tensor[] {
  const n = x.shape[0];
  const a = activation === 'gelu_before' ? gelu(x) : x;
  // Column sums as products: wasm's reductions over rows are slow.
  const mean = tf.div(columnSums(a), n);
  const centered = tf.sub(a, mean);
  const variance = tf.div(columnSums(tf.square(centered)), n);
  const invStd = tf.rsqrt(tf.add(variance, BATCH_NORM_EPS));
  const y = tf.add(tf.mul(tf.mul(centered, invStd), weight), bias);
  return [activationAfter(y, activation), mean, variance, invStd];
}

/** The activation that follows the normalisation, if any. */
function activationAfter(y: tf.Tensor, activation: BatchNormActivation): tf.Tensor {
  if (activation === 'relu_after') return tf.relu(y);
  return activation === 'silu_after' ? silu(y) : y;
}

/** BatchNorm's gradient in tfjs ops, recomputing the activation and x̂ from x and the statistics: [dx, dWeight, dBias]. */
function batchNormBackward(
  dy: tf.Tensor2D,
  x: tf.Tensor2D,
  mean: tf.Tensor,
  invStd: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor,
  activation: BatchNormActivation,
): tf.Tensor[] {
  const n = x.shape[0];
  const a = activation === 'gelu_before' ? gelu(x) : x;
  const normalized = tf.mul(tf.sub(a, mean), invStd);
  const dOut = activationAfterGrad(dy, tf.add(tf.mul(normalized, weight), bias), activation);
  const dWeight = columnSums(tf.mul(dOut, normalized));
  const dBias = columnSums(dOut);
  const g = tf.mul(dOut, weight);
  const da = tf.mul(tf.sub(tf.sub(g, tf.div(columnSums(g), n)), tf.mul(normalized, tf.div(columnSums(tf.mul(g, normalized)), n))), invStd);
  return [activation === 'gelu_before' ? geluGrad(x, da) : da, dWeight, dBias];
}

/** dy through the activation after the normalisation, z its input: ReLU'(z) = step(z) (0 at 0, as PyTorch), SiLU'(z) = σ(z) · (1 + z · (1 − σ(z))). */
function activationAfterGrad(dy: tf.Tensor, z: tf.Tensor, activation: BatchNormActivation): tf.Tensor {
  if (activation === 'relu_after') return tf.mul(dy, tf.step(z));
  if (activation !== 'silu_after') return dy;
  const s = tf.sigmoid(z);
  return tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(z, tf.sub(1, s)))));
}
