import * as tf from '@tensorflow/tfjs';
import { ATTENTION } from '../../backend/fused-kernels.js';
import { hasKernel } from '../../backend/kernel-traits.js';
import { rearrange } from '../../einops/index.js';
import { fusedSelfAttention } from '../../layers/attention.js';
import type { Dropout } from '../../layers/dropout.js';
import { linear } from '../../layers/linear.js';

/** −torch.finfo(float32).max: the value PyTorch's masked_fill writes on the diagonal. */
export const MASK_VALUE = -3.4028234663852886e38;

/**
 * Locality Self-Attention (Lee et al. 2021, §3.2) on x [b, n, dim] with `w('attn.qkv.weight')` (no
 * bias), `w('attn.temperature')` and `w('attn.out.…')`: per head softmax(mask(q·kᵀ · e^τ)) · v,
 * heads concatenated, projected, dropout. τ is learned (initialised to log(dim_head^-½), so e^τ
 * starts as the usual 1/√d: the logits are divided by the learned temperature e^-τ), and the mask
 * removes each token's attention to itself, so attention goes to the other tokens.
 * `capture` (evaluation only) receives the probabilities [b, heads, n, n], kept: the caller disposes
 * them. Where the backend has the fused attention kernel, one kernel each way, with the diagonal
 * masked in it.
 */
export function localitySelfAttention(
  x: tf.Tensor,
  w: (name: string) => tf.Variable,
  cfg: { heads: number; dropout: number },
  dropout: Dropout,
  capture?: tf.Tensor[],
): tf.Tensor {
  const h = cfg.heads;
  // The fused kernel keeps its probabilities to itself: capturing them takes the tfjs path.
  if (!capture && hasKernel(ATTENTION)) {
    // q · e^τ as x · (Wq · e^τ): the q columns of the fused projection scaled, τ's gradient through them.
    const inner = w('attn.qkv.weight').shape[1]! / 3;
    const columnScale = tf.concat([tf.mul(tf.ones([inner]), tf.exp(w('attn.temperature'))), tf.ones([2 * inner])]);
    const qkv = linear(x, tf.mul(w('attn.qkv.weight'), columnScale));
    const out = fusedSelfAttention(qkv, h, 1, true);
    return dropout(linear(out, w('attn.out.weight'), w('attn.out.bias')), cfg.dropout);
  }
  // x·[Wq Wk Wv] = [x·Wq x·Wk x·Wv]: splitting the weight, not the product, as layers/attention.ts does.
  const [wq, wk, wv] = tf.split(w('attn.qkv.weight'), 3, 1);
  // (q · e^τ)·kᵀ = (q·kᵀ) · e^τ: scaling q keeps a tensor n/dim_head times smaller for τ's gradient.
  const queries = rearrange(tf.mul(linear(x, wq), tf.exp(w('attn.temperature'))), 'b n (h d) -> b h n d', { h });
  const keysT = rearrange(linear(x, wk), 'b n (h d) -> b h d n', { h });
  const values = rearrange(linear(x, wv), 'b n (h d) -> b h n d', { h });

  const probabilities = tf.softmax(maskDiagonal(tf.matMul(queries, keysT)));
  if (capture) capture.push(tf.keep(probabilities));
  const out = rearrange(tf.matMul(probabilities, values), 'b h n d -> b n (h d)');
  return dropout(linear(out, w('attn.out.weight'), w('attn.out.bias')), cfg.dropout);
}

/**
 * PyTorch's dots.masked_fill(eye, −max): dots · (1 − I) + I · (−max) is exactly that, as
 * dots · 1 + 0 = dots and 0 + (−max) = −max, and its gradient dy · (1 − I) is masked_fill's (none
 * through the diagonal). softmax gives the diagonal exp(−max − rowmax) = 0, not NaN as −∞ might.
 */
export function maskDiagonal(dots: tf.Tensor): tf.Tensor {
  const n = dots.shape[dots.rank - 1];
  const eye = tf.eye(n);
  return tf.add(tf.mul(dots, tf.sub(1, eye)), tf.mul(eye, MASK_VALUE));
}
