import * as tf from '@tensorflow/tfjs';
import { hasKernel, kernelTraits } from '../backend/kernel-traits.js';
import { AFFINE } from '../backend/fused-kernels.js';

/**
 * x · W (+ b) over the last axis, computed on [rows, in] as one plain 2-D matMul: the form wasm
 * runs on its fast (XNNPACK) path.
 */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const [inDim, outDim] = weight.shape;
  const rows = tf.reshape(x, [-1, inDim]);
  const y = bias ? affine(rows, weight, bias) : matMul2d(rows, weight);
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

/**
 * linear without bias for an x that is data, a function of no parameter (a first layer's images):
 * a customGrad computes the gradient of every input it takes, so x is closed over, not an input,
 * and only dW = xᵀ · dy is computed (dx = dy · Wᵀ was 5% of a CCT step, for nothing).
 */
export function linearOfData(x: tf.Tensor, weight: tf.Tensor): tf.Tensor {
  const [inDim, outDim] = weight.shape;
  const rows = tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  const product = tf.customGrad((w, save) => {
    (save as tf.GradSaveFunc)([rows]); // the forward pass's tidy would free it otherwise
    return { value: tf.matMul(rows, w as tf.Tensor2D), gradFunc: (dy, [saved]) => tf.tidy(() => matMulT(saved, dy, true, false)) };
  }) as (w: tf.Tensor) => tf.Tensor2D;
  return tf.reshape(product(weight), [...x.shape.slice(0, -1), outDim]);
}

// tfjs runs a customGrad's gradFunc outside any tidy and frees what it allocates only after the
// whole backward pass: each gradFunc below is a tidy, so its temporaries go at once.

/** x · W, with the gradients dx = dy · Wᵀ and dW = xᵀ · dy in the fastest form (see matMulT). */
const matMul2d = tf.customGrad((x, w, save) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy, [x, w]) => tf.tidy(() => [matMulT(dy, w, false, true), matMulT(x, dy, true, false)]),
  };
}) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor2D;

/** x · W + b; the bias gradient (a column sum) is a product too, as wasm's Sum over rows is slow. */
const affine = tf.customGrad((x, w, b, save) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: affineValue(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
    gradFunc: (dy, [x, w]) => tf.tidy(() => [matMulT(dy, w, false, true), matMulT(x, dy, true, false), columnSums(dy)]),
  };
}) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

/** x · W + b on rows [rows, in], without a gradient: one fused kernel where the backend has AFFINE. */
export function affineValue(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (hasKernel(AFFINE)) return tf.engine().runKernel(AFFINE, { x, weight: w, bias: b } as tf.NamedTensorMap) as tf.Tensor2D;
  return tf.add(tf.matMul(x, w), b);
}

/**
 * op(a) · op(b) with op a transpose where asked. Some backends (wasm without the native addon)
 * run the transposed-operand forms on a scalar loop ~13x slower than an explicit transpose
 * followed by a plain matMul; elsewhere the flags are free.
 */
export function matMulT(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  if (kernelTraits().transposedMatMulIsFast) {
    return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, transposeA, transposeB);
  }
  return tf.matMul(transposeA ? tf.transpose(a as tf.Tensor2D) : a, transposeB ? tf.transpose(b as tf.Tensor2D) : b) as tf.Tensor2D;
}

/** Σ over the rows of m, as the product 1ᵀ · m. */
export function columnSums(m: tf.Tensor): tf.Tensor1D {
  const [rows, columns] = m.shape;
  return tf.reshape(tf.matMul(tf.ones([1, rows]), m as tf.Tensor2D), [columns]);
}
