import * as tf from '@tensorflow/tfjs';
import { hasKernel } from '../backend/kernel-traits.js';
import { GELU, GELU_GRAD } from '../backend/fused-kernels.js';
import type { Dropout } from './dropout.js';
import { affineValue, columnSums, matMulT } from './linear.js';

/**
 * The transformer MLP on every token of x [b, n, dim], with the weights `w('mlp.fc1.…')` and
 * `w('mlp.fc2.…')`: Linear → GELU → dropout → Linear → dropout.
 */
export function mlp(x: tf.Tensor, w: (name: string) => tf.Variable, dropoutRate: number, dropout: Dropout): tf.Tensor {
  const [dim, hidden] = w('mlp.fc1.weight').shape;
  const rows = tf.reshape(x, [-1, dim]);
  // Dropout's multiplier drawn here, in the same order as dropout(gelu(…)) would draw it.
  const dropMask = dropoutRate > 0 ? dropout(tf.ones([rows.shape[0], hidden]), dropoutRate) : tf.scalar(1);
  const y = feedForward(rows, w('mlp.fc1.weight'), w('mlp.fc1.bias'), w('mlp.fc2.weight'), w('mlp.fc2.bias'), dropMask);
  return dropout(tf.reshape(y, x.shape), dropoutRate);
}

/**
 * The MLP, Linear → GELU (exact, as PyTorch's nn.GELU()) → dropout → Linear, on rows [rows, dim],
 * as one differentiable op. Autodiff through it would keep the hidden activation three times
 * over (pre-activation, GELU output, and their gradients) until the end of the backward pass;
 * this keeps only the input and the pre-activation, and recomputes the GELU output.
 * `dropMask` is the dropout multiplier (0 or 1/keep per element), or a scalar 1 for no dropout.
 */
export const feedForward = tf.customGrad((x, w1, b1, w2, b2, dropMask, save) => {
  const preActivation = affineValue(x as tf.Tensor2D, w1 as tf.Tensor2D, b1 as tf.Tensor1D);
  const hidden = masked(gelu(preActivation), dropMask as tf.Tensor);
  (save as tf.GradSaveFunc)([x, w1, w2, preActivation, dropMask] as tf.Tensor[]);
  return {
    value: affineValue(hidden as tf.Tensor2D, w2 as tf.Tensor2D, b2 as tf.Tensor1D),
    // A tidy: tfjs frees a customGrad's temporaries only after the whole backward pass otherwise.
    gradFunc: (dy, [x, w1, w2, preActivation, dropMask]) =>
      tf.tidy(() => {
        const hidden = masked(gelu(preActivation), dropMask);
        const dPre = geluGrad(preActivation, masked(matMulT(dy, w2, false, true), dropMask));
        return [
          matMulT(dPre, w1, false, true),
          matMulT(x, dPre, true, false),
          columnSums(dPre),
          matMulT(hidden, dy, true, false),
          columnSums(dy),
          tf.zerosLike(dropMask), // not trained; tfjs wants a gradient for every input
        ];
      }),
  };
}) as (x: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor, dropMask: tf.Tensor) => tf.Tensor2D;

/** x · mask; a scalar mask is the 1 that stands for "no dropout", so nothing is computed. */
function masked(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  return mask.rank === 0 ? x : tf.mul(x, mask);
}

/** x · Φ(x) = x/2 · (1 + erf(x/√2)); one fused kernel where the backend has it. */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (hasKernel(GELU)) return tf.engine().runKernel(GELU, { x }) as tf.Tensor;
  return tf.mul(x, normalCdf(x));
}

/** dy · d/dx x · Φ(x) = dy · (Φ(x) + x · φ(x)), with φ the standard normal density. */
export function geluGrad(x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  if (hasKernel(GELU_GRAD)) return tf.engine().runKernel(GELU_GRAD, { x, dy }) as tf.Tensor;
  const density = tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return tf.mul(dy, tf.add(normalCdf(x), tf.mul(x, density)));
}

/** Φ(x) = (1 + erf(x/√2)) / 2. */
function normalCdf(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))), 0.5);
}
