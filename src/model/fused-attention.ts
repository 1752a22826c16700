import * as tf from '@tensorflow/tfjs';
import { ATTENTION, ATTENTION_GRAD } from './fused-kernels.js';

/**
 * softmax(scale · q·kᵀ) · v for every head, heads concatenated, from the fused projection
 * qkv [b, n, 3·heads·d] (q | k | v, each `(h d)`) to [b, n, heads·d], as one kernel each way
 * (ATTENTION, ATTENTION_GRAD; the caller checks that the backend has them). The kernels read each
 * head's q, k, v in place and run the heads in parallel, so nothing is split or transposed.
 * The backward pass keeps qkv and the attention probabilities P, and with dS = scale · P ⊙ (dP −
 * rowsum(dP ⊙ P)), dP = dO·vᵀ, returns dq = dS·k, dk = dSᵀ·q, dv = Pᵀ·dO.
 */
export function fusedSelfAttention(qkv: tf.Tensor, heads: number, scale: number): tf.Tensor {
  const attrs = { heads, scale };
  const op = tf.customGrad((qkv, save) => {
    const [out, probs] = tf.engine().runKernel(ATTENTION, { qkv } as tf.NamedTensorMap, attrs) as tf.Tensor[];
    (save as tf.GradSaveFunc)([qkv as tf.Tensor, probs]);
    return {
      value: out,
      gradFunc: (dy, [qkv, probs]) => tf.engine().runKernel(ATTENTION_GRAD, { dy, qkv, probs }, attrs) as tf.Tensor,
    };
  }) as (qkv: tf.Tensor) => tf.Tensor;
  return op(qkv);
}
