import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { repeat } from '../../einops/index.js';
import { seededDropout } from '../../layers/dropout.js';
import { layerNorm } from '../../layers/layer-norm.js';
import { linear } from '../../layers/linear.js';
import { mlp } from '../../layers/mlp.js';
import { type Params, paramOf } from '../../layers/params.js';
import { addToEachSample, residualAdd } from '../../layers/residual.js';
import type { VitSmallConfig } from './config.js';
import { localitySelfAttention } from './lsa.js';
import { shiftedPatchTokens } from './spt.js';

/**
 * "Vision Transformer for Small-Size Datasets" (Lee, Lee & Song 2021) as
 * kentaroy47/vision-transformers-cifar10's models/vit_small.py has it: the ViT of vit-pytorch with
 * Shifted Patch Tokenization (spt.ts) for its patch embedding and Locality Self-Attention (lsa.ts)
 * in its blocks: SPT → [cls; tokens] + positions → `depth` pre-norm blocks of LSA and an MLP →
 * LayerNorm → Linear on the cls token (or the mean token).
 *
 * Input is NHWC [b, image_size, image_size, 3]; output is logits [b, num_classes]. When training,
 * every dropout mask is drawn from `seed`. `captureAttention` (evaluation only) receives each
 * block's attention probabilities [b, heads, tokens, tokens]; the caller disposes them.
 */
export function vitSmallForward(
  params: Params,
  cfg: VitSmallConfig,
  images: tf.Tensor4D,
  opts: { training: boolean; seed?: number; captureAttention?: tf.Tensor[] },
): tf.Tensor2D {
  const [b, height, width, channels] = images.shape;
  if (height !== cfg.image_size || width !== cfg.image_size || channels !== CHANNELS) {
    throw new Error(`vitSmallForward: expected images [b, ${cfg.image_size}, ${cfg.image_size}, 3], got [${images.shape}]`);
  }
  const dropout = seededDropout(opts);
  const p = (name: string) => paramOf(params, name, 'vitSmallForward');

  return tf.tidy(() => {
    let x = shiftedPatchTokens(params, cfg.patch_size, images);
    const cls = repeat(p('cls_token'), '1 1 d -> b 1 d', { b });
    x = tf.concat([cls, x], 1);
    x = dropout(addToEachSample(x, p('pos_embed')), cfg.emb_dropout);

    for (let i = 0; i < cfg.depth; i++) {
      const block = (name: string) => p(`blocks.${i}.${name}`);
      // A tidy per block frees what the backward pass does not keep as soon as the block is done.
      const input = x;
      x = tf.tidy(() => {
        const attnIn = layerNorm(input, block('attn.norm.weight'), block('attn.norm.bias'));
        const y = residualAdd(input, localitySelfAttention(attnIn, block, cfg, dropout, opts.captureAttention));
        const mlpIn = layerNorm(y, block('mlp.norm.weight'), block('mlp.norm.bias'));
        return residualAdd(y, mlp(mlpIn, block, cfg.dropout, dropout));
      });
    }

    const pooled = cfg.pool === 'cls' ? firstToken(x) : tf.mean(x, 1);
    const normed = layerNorm(pooled, p('head.norm.weight'), p('head.norm.bias'));
    return linear(normed, p('head.linear.weight'), p('head.linear.bias')) as tf.Tensor2D;
  });
}

/** x[:, 0]: the cls token of every sample. */
function firstToken(x: tf.Tensor): tf.Tensor {
  const [b, , dim] = x.shape;
  return tf.reshape(tf.slice(x, [0, 0, 0], [b, 1, dim]), [b, dim]);
}
