import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { rearrange, repeat } from '../../einops/index.js';
import { selfAttention } from '../../layers/attention.js';
import { seededDropout } from '../../layers/dropout.js';
import { layerNorm } from '../../layers/layer-norm.js';
import { linear } from '../../layers/linear.js';
import { mlp } from '../../layers/mlp.js';
import { type Params, paramOf } from '../../layers/params.js';
import { addToEachSample, residualAdd } from '../../layers/residual.js';
import type { VitConfig } from './config.js';

/**
 * The Vision Transformer (Dosovitskiy et al. 2020) as in lucidrains/vit-pytorch, the version
 * kentaroy47/vision-transformers-cifar10 trains: patches → Linear → [cls; patches] + positions →
 * `depth` pre-norm blocks → LayerNorm → Linear on the cls token (or the mean token).
 *
 * Input is NHWC [b, image_size, image_size, 3]; output is logits [b, num_classes].
 * When training, every dropout mask is drawn from `seed`, so a replayed step is identical.
 * `captureAttention` (evaluation only) receives each block's attention probabilities
 * [b, heads, tokens, tokens], kept out of the pass's tidy: the caller disposes them.
 */
export function vitForward(
  params: Params,
  cfg: VitConfig,
  images: tf.Tensor4D,
  opts: { training: boolean; seed?: number; captureAttention?: tf.Tensor[] },
): tf.Tensor2D {
  const [b, height, width, channels] = images.shape;
  if (height !== cfg.image_size || width !== cfg.image_size || channels !== CHANNELS) {
    throw new Error(`vitForward: expected images [b, ${cfg.image_size}, ${cfg.image_size}, 3], got [${images.shape}]`);
  }
  const dropout = seededDropout(opts);
  const p = (name: string) => paramOf(params, name, 'vitForward');

  return tf.tidy(() => {
    let x = patchEmbedding(params, cfg, images);
    const cls = repeat(p('cls_token'), '1 1 d -> b 1 d', { b });
    x = tf.concat([cls, x], 1);
    x = dropout(addToEachSample(x, p('pos_embed')), cfg.emb_dropout);

    for (let i = 0; i < cfg.depth; i++) {
      const block = (name: string) => p(`blocks.${i}.${name}`);
      // Stochastic depth drops a whole residual branch per sample: mask shape [b, 1, 1].
      const dropPath = (branch: tf.Tensor) => dropout(branch, dropPathRate(cfg, i), [b, 1, 1]);
      // A tidy per block frees what the backward pass does not keep as soon as the block is done
      // (in evaluation, everything but its output: a large eval batch held every block's otherwise).
      const input = x;
      x = tf.tidy(() => {
        const attnIn = layerNorm(input, block('attn.norm.weight'), block('attn.norm.bias'));
        const y = residualAdd(input, dropPath(selfAttention(attnIn, block, cfg, dropout, opts.captureAttention)));
        const mlpIn = layerNorm(y, block('mlp.norm.weight'), block('mlp.norm.bias'));
        return residualAdd(y, dropPath(mlp(mlpIn, block, cfg.dropout, dropout)));
      });
    }

    const pooled = cfg.pool === 'cls' ? firstToken(x) : tf.mean(x, 1);
    const normed = layerNorm(pooled, p('head.norm.weight'), p('head.norm.bias'));
    return linear(normed, p('head.linear.weight'), p('head.linear.bias')) as tf.Tensor2D;
  });
}

/**
 * Cuts each image into patch_size × patch_size patches (left to right, top to bottom), flattens
 * each in (row, column, channel) order, PyTorch's `(p1 p2 c)`, and projects it: [b, num_patches, dim].
 */
export function patchEmbedding(params: Params, cfg: VitConfig, images: tf.Tensor4D): tf.Tensor {
  const patches = rearrange(images, 'b (h p1) (w p2) c -> b (h w) (p1 p2 c)', {
    p1: cfg.patch_size,
    p2: cfg.patch_size,
  });
  return linear(patches, paramOf(params, 'patch_embed.weight', 'vitForward'), paramOf(params, 'patch_embed.bias', 'vitForward'));
}

/** Block i's stochastic-depth rate: linear from 0 (first block) to `drop_path` (last block). */
function dropPathRate(cfg: VitConfig, i: number): number {
  return cfg.depth === 1 ? cfg.drop_path : (cfg.drop_path * i) / (cfg.depth - 1);
}

/** x[:, 0]: the cls token of every sample. */
function firstToken(x: tf.Tensor): tf.Tensor {
  const [b, , dim] = x.shape;
  return tf.reshape(tf.slice(x, [0, 0, 0], [b, 1, dim]), [b, dim]);
}
