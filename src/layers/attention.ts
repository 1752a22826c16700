import * as tf from '@tensorflow/tfjs';
import { hasKernel } from '../backend/kernel-traits.js';
import { ATTENTION, ATTENTION_GRAD } from '../backend/fused-kernels.js';
import { rearrange } from '../einops/index.js';
import type { Dropout } from './dropout.js';
import { linear } from './linear.js';

/** What multi-head attention needs of a family's model config (the ViT's and the CCT's keys). */
export interface AttentionSettings {
  heads: number;
  dim_head: number;
  /** Dropout on the attention probabilities. */
  attn_dropout: number;
  /** Dropout on the output projection. */
  dropout: number;
  /** false: the output projection has no bias (SimpleViT's `to_out`); absent: it has one. */
  outBias?: boolean;
}

/**
 * Multi-head self-attention on x [b, n, dim] with the weights `w('attn.qkv.weight')` (no bias) and
 * `w('attn.out.…')`: softmax(q·kᵀ / √dim_head) · v per head, heads concatenated, projected. The
 * output projection is always there (vit-pytorch drops it when heads = 1 and dim_head = dim).
 * Without attention dropout, one fused kernel each way where the backend has it. `capture`
 * (evaluation only) receives the probabilities [b, heads, n, n], kept: the caller disposes them.
 */
export function selfAttention(
  x: tf.Tensor,
  w: (name: string) => tf.Variable,
  cfg: AttentionSettings,
  dropout: Dropout,
  capture?: tf.Tensor[],
): tf.Tensor {
  const h = cfg.heads;
  // The fused kernel keeps its probabilities to itself: capturing them takes the tfjs path.
  if (!capture && cfg.attn_dropout === 0 && hasKernel(ATTENTION)) {
    const out = fusedSelfAttention(linear(x, w('attn.qkv.weight')), h, cfg.dim_head ** -0.5);
    return dropout(linear(out, w('attn.out.weight'), cfg.outBias === false ? undefined : w('attn.out.bias')), cfg.dropout);
  }
  // The fused projection's output splits into q | k | v; splitting its weight's columns instead,
  // x·[Wq Wk Wv] = [x·Wq x·Wk x·Wv], is the same and avoids wasm's slow split of a large tensor.
  const [wq, wk, wv] = tf.split(w('attn.qkv.weight'), 3, 1);
  // Scaling q rather than q·kᵀ by 1/√dim_head is the same product on a tensor n/dim_head times
  // smaller, and so is keeping it (and its gradient) for the backward pass.
  const queries = rearrange(tf.mul(linear(x, wq), cfg.dim_head ** -0.5), 'b n (h d) -> b h n d', { h });
  const keysT = rearrange(linear(x, wk), 'b n (h d) -> b h d n', { h });
  const values = rearrange(linear(x, wv), 'b n (h d) -> b h n d', { h });

  const probabilities = tf.softmax(tf.matMul(queries, keysT));
  if (capture) capture.push(tf.keep(probabilities));
  const attn = dropout(probabilities, cfg.attn_dropout);
  const out = rearrange(tf.matMul(attn, values), 'b h n d -> b n (h d)');
  return dropout(linear(out, w('attn.out.weight'), cfg.outBias === false ? undefined : w('attn.out.bias')), cfg.dropout);
}

/**
 * softmax(scale · q·kᵀ) · v for every head, heads concatenated, from the fused projection
 * qkv [b, n, 3·heads·d] (q | k | v, each `(h d)`) to [b, n, heads·d], as one kernel each way
 * (ATTENTION, ATTENTION_GRAD; the caller checks that the backend has them). The kernels read each
 * head's q, k, v in place and run the heads in parallel, so nothing is split or transposed.
 * The backward pass keeps qkv and the attention probabilities P, and with dS = scale · P ⊙ (dP −
 * rowsum(dP ⊙ P)), dP = dO·vᵀ, returns dq = dS·k, dk = dSᵀ·q, dv = Pᵀ·dO. With `maskDiagonal` no
 * token attends to itself (vit_small's locality self-attention): P's diagonal is 0, and so is its
 * logits' gradient.
 */
export function fusedSelfAttention(qkv: tf.Tensor, heads: number, scale: number, maskDiagonal = false): tf.Tensor {
  const attrs = { heads, scale, maskDiagonal };
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
