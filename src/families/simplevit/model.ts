import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { rearrange, reduce } from '../../einops/index.js';
import { type AttentionSettings, selfAttention } from '../../layers/attention.js';
import { layerNorm } from '../../layers/layer-norm.js';
import { linear } from '../../layers/linear.js';
import { mlp } from '../../layers/mlp.js';
import { type Params, paramOf } from '../../layers/params.js';
import { addToEachSample, residualAdd } from '../../layers/residual.js';
import type { SimpleVitConfig } from './config.js';
import { numPatches } from './params.js';
import { sinCosPositions } from './positions.js';

/** SimpleViT has no dropout anywhere: every pass, training or not, is the same function. */
const noDropout = (x: tf.Tensor) => x;

/**
 * SimpleViT ("Better plain ViT baselines for ImageNet-1k", Beyer et al. 2022) as lucidrains wrote
 * it and kentaroy47/vision-transformers-cifar10 trains it: patches → Linear → + fixed 2-D sin-cos
 * positions → `depth` blocks x += Attention(LN(x)); x += MLP(LN(x)) (the norms inside the sublayers,
 * the output projection without bias, no dropout) → mean over the tokens → LayerNorm → Linear.
 * There is no cls token and no final norm before the pooling.
 *
 * Input is NHWC [b, image_size, image_size, 3]; output is logits [b, num_classes].
 * `captureAttention` (evaluation only) receives each block's attention probabilities
 * [b, heads, tokens, tokens], kept out of the pass's tidy: the caller disposes them.
 */
export function simpleVitForward(
  params: Params,
  cfg: SimpleVitConfig,
  images: tf.Tensor4D,
  opts: { training: boolean; captureAttention?: tf.Tensor[] },
): tf.Tensor2D {
  const [, height, width, channels] = images.shape;
  if (height !== cfg.image_size || width !== cfg.image_size || channels !== CHANNELS) {
    throw new Error(`simpleVitForward: expected images [b, ${cfg.image_size}, ${cfg.image_size}, 3], got [${images.shape}]`);
  }
  const p = (name: string) => paramOf(params, name, 'simpleVitForward');
  const attention: AttentionSettings = { heads: cfg.heads, dim_head: cfg.dim_head, attn_dropout: 0, dropout: 0, outBias: false };

  return tf.tidy(() => {
    const patches = rearrange(images, 'b (h p1) (w p2) c -> b (h w) (p1 p2 c)', { p1: cfg.patch_size, p2: cfg.patch_size });
    const positions = tf.tensor3d(sinCosPositions(cfg), [1, numPatches(cfg), cfg.dim]);
    let x = addToEachSample(linear(patches, p('patch_embed.weight'), p('patch_embed.bias')), positions);

    for (let i = 0; i < cfg.depth; i++) {
      const block = (name: string) => p(`blocks.${i}.${name}`);
      // A tidy per block frees what the backward pass does not keep as soon as the block is done.
      const input = x;
      x = tf.tidy(() => {
        const attnIn = layerNorm(input, block('attn.norm.weight'), block('attn.norm.bias'));
        const y = residualAdd(input, selfAttention(attnIn, block, attention, noDropout, opts.captureAttention));
        const mlpIn = layerNorm(y, block('mlp.norm.weight'), block('mlp.norm.bias'));
        return residualAdd(y, mlp(mlpIn, block, 0, noDropout));
      });
    }

    const pooled = reduce(x, 'b n d -> b d', 'mean');
    const normed = layerNorm(pooled, p('head.norm.weight'), p('head.norm.bias'));
    return linear(normed, p('head.linear.weight'), p('head.linear.bias')) as tf.Tensor2D;
  });
}
