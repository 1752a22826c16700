import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { rearrange, reduce } from '../../einops/index.js';
import { type Dropout, seededDropout } from '../../layers/dropout.js';
import { layerNorm } from '../../layers/layer-norm.js';
import { linear } from '../../layers/linear.js';
import { feedForward } from '../../layers/mlp.js';
import { type Params, paramOf } from '../../layers/params.js';
import { residualAdd } from '../../layers/residual.js';
import type { ForwardOptions } from '../family.js';
import type { MlpMixerConfig } from './config.js';

/**
 * MLP-Mixer (Tolstikhin et al. 2021) as kentaroy47/vision-transformers-cifar10 writes it
 * (models/mlpmixer.py, lucidrains/mlp-mixer-pytorch's):
 *   x ← Linear(patches)                                  [b, n, dim], n = (s / p)² patches
 *   per block:  x ← x + MLP_tokens(LN(x))                 mixes the n patches, per feature
 *               x ← x + MLP_channels(LN(x))               mixes the dim features, per patch
 *   logits = Linear(mean over patches of LN(x))
 * each MLP Linear → GELU → dropout → Linear → dropout. No position embedding: token mixing's
 * weights are per patch position, so they know where each patch is.
 * NHWC [b, s, s, 3] in, logits [b, num_classes] out; training draws every dropout mask from
 * `opts.seed`, so a replayed step is identical.
 */
export function mlpMixerForward(params: Params, cfg: MlpMixerConfig, images: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D {
  const [, height, width, channels] = images.shape;
  if (height !== cfg.image_size || width !== cfg.image_size || channels !== CHANNELS) {
    throw new Error(`mlpMixerForward: expected images [b, ${cfg.image_size}, ${cfg.image_size}, 3], got [${images.shape}]`);
  }
  const dropout = seededDropout(opts);
  const p = (name: string) => paramOf(params, name, 'mlpMixerForward');
  return tf.tidy(() => {
    // PyTorch's Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)') on NHWC: the same patch order and flattening.
    const patches = rearrange(images, 'b (h p1) (w p2) c -> b (h w) (p1 p2 c)', { p1: cfg.patch_size, p2: cfg.patch_size });
    let x = linear(patches, p('patch_embed.weight'), p('patch_embed.bias'));
    for (let i = 0; i < cfg.depth; i++) {
      const block = (name: string) => p(`blocks.${i}.${name}`);
      // A tidy per block frees what the backward pass does not keep (the transposed copies, the
      // sums) as soon as the block is done, rather than at the end of the whole forward pass.
      const input = x;
      x = tf.tidy(() => {
        const norm = (t: tf.Tensor, sublayer: string) => layerNorm(t, block(`${sublayer}.norm.weight`), block(`${sublayer}.norm.bias`));
        const mixed = residualAdd(input, tokenMixing(norm(input, 'token_mix'), block, cfg.dropout, dropout));
        return residualAdd(mixed, channelMixing(norm(mixed, 'channel_mix'), block, cfg.dropout, dropout));
      });
    }
    const pooled = reduce(layerNorm(x, p('head.norm.weight'), p('head.norm.bias')), 'b n d -> b d', 'mean');
    return linear(pooled, p('head.linear.weight'), p('head.linear.bias')) as tf.Tensor2D;
  });
}

/**
 * Token mixing on x [b, n, dim]: that code's Conv1d(n, n·expansion_factor, kernel_size=1) reads
 * [b, n, dim] as n channels at dim positions, so it is one MLP across the patches, applied to each
 * feature column alike: the columns become rows, '(b d) n', and the MLP is two plain products.
 */
export function tokenMixing(x: tf.Tensor, block: (name: string) => tf.Variable, rate: number, dropout: Dropout): tf.Tensor {
  const [b] = x.shape;
  const columns = rearrange(x, 'b n d -> (b d) n');
  // A Conv1d kernel [1, in, out] with its one tap is the matrix [in, out].
  const mixed = mixingMlp(columns, block, 'token_mix', (w) => rearrange(w, '1 i o -> i o'), rate, dropout);
  return rearrange(mixed, '(b d) n -> b n d', { b });
}

/** Channel mixing on x [b, n, dim]: one MLP across the features, applied to each patch alike. */
function channelMixing(x: tf.Tensor, block: (name: string) => tf.Variable, rate: number, dropout: Dropout): tf.Tensor {
  const [, n] = x.shape;
  const mixed = mixingMlp(rearrange(x, 'b n d -> (b n) d'), block, 'channel_mix', (w) => w, rate, dropout);
  return rearrange(mixed, '(b n) d -> b n d', { n });
}

/**
 * An MLP on rows [rows, in] with the weights `${prefix}.fc1` and `${prefix}.fc2` (each seen as a
 * matrix through `matrix`): Linear → GELU → dropout → Linear → dropout, as that code's FeedForward.
 */
function mixingMlp(rows: tf.Tensor, block: (name: string) => tf.Variable, prefix: string, matrix: (w: tf.Tensor) => tf.Tensor, rate: number, dropout: Dropout): tf.Tensor {
  const [w1, w2] = [matrix(block(`${prefix}.fc1.weight`)), matrix(block(`${prefix}.fc2.weight`))];
  // The hidden dropout's multiplier, drawn before the output's, as dropout(gelu(…)) would draw it.
  const dropMask = rate > 0 ? dropout(tf.ones([rows.shape[0], w1.shape[1]!]), rate) : tf.scalar(1);
  return dropout(feedForward(rows, w1, block(`${prefix}.fc1.bias`), w2, block(`${prefix}.fc2.bias`), dropMask), rate);
}
