import * as tf from '@tensorflow/tfjs';
import { rearrange, repeat } from '../../einops/index.js';
import type { Dropout } from '../../layers/dropout.js';
import { linear } from '../../layers/linear.js';

/**
 * CaiT's talking-heads attention (Shazeer et al. 2020), as models/cait.py writes it: queries from
 * x [b, n, dim], keys and values from x, or from [x; context] in a class-attention block (the cls
 * token attends to itself and the patches, which are not normalised again). Per head h,
 *   L = W_pre ·ₕ (q·kᵀ / √dim_head),  P = softmax(L),  A = W_post ·ₕ P,  out = A·v
 * with ·ₕ mixing the heads (mixHeads), then the heads concatenated and projected. Weights under
 * `w('attn.…')`: q and kv (no bias), mix_pre and mix_post, out. `capture` (evaluation only)
 * receives the softmax's probabilities P [b, heads, n, keys], kept: the caller disposes them.
 */
export function talkingHeadsAttention(
  x: tf.Tensor,
  context: tf.Tensor | null,
  w: (name: string) => tf.Variable,
  cfg: { heads: number; dim_head: number; dropout: number },
  dropout: Dropout,
  capture?: tf.Tensor[],
): tf.Tensor {
  const h = cfg.heads;
  const keysIn = context ? tf.concat([x, context], 1) : x;
  // x·[Wk Wv] = [x·Wk x·Wv]: the weight's columns split rather than the (larger) product.
  const [wk, wv] = tf.split(w('attn.kv.weight'), 2, 1);
  // Scaling q rather than q·kᵀ is the same product, on a smaller tensor.
  const queries = rearrange(tf.mul(linear(x, w('attn.q.weight')), cfg.dim_head ** -0.5), 'b n (h d) -> b h n d', { h });
  const keysT = rearrange(linear(keysIn, wk), 'b m (h d) -> b h d m', { h });
  const values = rearrange(linear(keysIn, wv), 'b m (h d) -> b h m d', { h });

  const probabilities = tf.softmax(mixHeads(tf.matMul(queries, keysT), w('attn.mix_pre.weight')));
  if (capture) capture.push(tf.keep(probabilities));
  const attention = mixHeads(probabilities, w('attn.mix_post.weight'));
  const out = rearrange(tf.matMul(attention, values), 'b h n d -> b n (h d)');
  return dropout(linear(out, w('attn.out.weight'), w('attn.out.bias')), cfg.dropout);
}

/**
 * Talking heads: each output head a weighted sum of the input heads' maps, A'_g = Σ_h W[g, h] · A_h,
 * for a [b, heads, n, m] and W [heads out, heads in], as one batched product per sample.
 */
export function mixHeads(a: tf.Tensor, mix: tf.Tensor): tf.Tensor {
  const [b, , n] = a.shape;
  const mixed = tf.matMul(repeat(mix, 'g h -> b g h', { b }), rearrange(a, 'b h n m -> b h (n m)'));
  return rearrange(mixed, 'b g (n m) -> b g n m', { n });
}
