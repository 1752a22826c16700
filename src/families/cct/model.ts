import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { rearrange } from '../../einops/index.js';
import { selfAttention } from '../../layers/attention.js';
import { conv2d, maxPool } from '../../layers/conv.js';
import { type Dropout, seededDropout } from '../../layers/dropout.js';
import { layerNorm } from '../../layers/layer-norm.js';
import { linear } from '../../layers/linear.js';
import { mlp } from '../../layers/mlp.js';
import { type Params, paramOf } from '../../layers/params.js';
import { residualAdd } from '../../layers/residual.js';
import type { TokenMaps } from '../family.js';
import type { CctConfig } from './config.js';
import { convChannels } from './params.js';

/**
 * The Compact Convolutional Transformer (Hassani et al. 2021) as SHI-Labs/Compact-Transformers
 * writes it: conv tokenizer → (+ positions) → `depth` encoder blocks → LayerNorm → sequence
 * pooling (softmax over tokens of a Linear(dim → 1), the weighted sum of the tokens) → Linear.
 *
 * Input is NHWC [b, image_size, image_size, 3]; output is logits [b, num_classes].
 */
export function cctForward(params: Params, cfg: CctConfig, images: tf.Tensor4D, opts: { training: boolean; seed?: number }): tf.Tensor2D {
  return tf.tidy(() => {
    const x = encode(params, cfg, images, seededDropout(opts));
    const weights = poolingWeights(params, x);
    // Σₙ wₙ · xₙ: the attention-weighted mean of the tokens, [b, dim], as one product per sample
    // (w as a row times the tokens), whose gradients are products too, not wasm's slow Sum.
    const pooled = rearrange(tf.matMul(rearrange(weights, 'b n -> b 1 n'), x), 'b 1 d -> b d');
    return linear(pooled, param(params, 'head.weight'), param(params, 'head.bias')) as tf.Tensor2D;
  });
}

/**
 * CCT pools its tokens with learned weights (sequence pooling): those weights, [b, tokens] on the
 * tokenizer's grid (row-major), in evaluation mode, are where it looks.
 */
export function cctSequencePooling(params: Params, cfg: CctConfig, images: tf.Tensor4D): TokenMaps {
  return { weights: tf.tidy(() => poolingWeights(params, encode(params, cfg, images, seededDropout({ training: false })))) };
}

/** Images → the encoder's output tokens after the final LayerNorm: [b, tokens, dim]. */
function encode(params: Params, cfg: CctConfig, images: tf.Tensor4D, dropout: Dropout): tf.Tensor {
  const [b, height, width, channels] = images.shape;
  if (height !== cfg.image_size || width !== cfg.image_size || channels !== CHANNELS) {
    throw new Error(`cctForward: expected images [b, ${cfg.image_size}, ${cfg.image_size}, 3], got [${images.shape}]`);
  }
  const p = (name: string) => param(params, name);
  let x = rearrange(tokenize(params, cfg, images), 'b h w d -> b (h w) d');
  if (cfg.positional_embedding === 'learnable') x = tf.add(x, p('pos_embed'));
  if (cfg.positional_embedding === 'sine') x = tf.add(x, sinusoidalEmbedding(x.shape[1]!, cfg.dim));
  x = dropout(x, cfg.dropout);

  for (let i = 0; i < cfg.depth; i++) {
    const block = (name: string) => p(`blocks.${i}.${name}`);
    // Stochastic depth drops a whole residual branch per sample: mask shape [b, 1, 1].
    const dropPath = (branch: tf.Tensor) => dropout(branch, dropPathRate(cfg, i), [b, 1, 1]);
    const attnIn = layerNorm(x, block('attn.norm.weight'), block('attn.norm.bias'));
    x = residualAdd(x, dropPath(selfAttention(attnIn, block, cfg, dropout)));
    // Unlike the ViT's pre-norm MLP, SHI-Labs normalise the residual stream itself here.
    x = layerNorm(x, block('norm1.weight'), block('norm1.bias'));
    x = residualAdd(x, dropPath(mlp(x, block, cfg.dropout, dropout)));
  }
  return layerNorm(x, p('norm.weight'), p('norm.bias'));
}

/**
 * The convolutional tokenizer: per layer Conv (no bias) → ReLU → MaxPool; [b, side, side, dim].
 * ReLU is monotonic, so it commutes with max pooling: applied after the pool it gives the same
 * values and gradients on a quarter of the elements.
 */
function tokenize(params: Params, cfg: CctConfig, images: tf.Tensor4D): tf.Tensor4D {
  let x = images;
  convChannels(cfg).forEach((_, i) => {
    const conv = conv2d(x, param(params, `tokenizer.conv.${i}.weight`), cfg.conv_stride, cfg.conv_padding, i === 0);
    x = tf.relu(maxPool(conv, cfg.pool_kernel, cfg.pool_stride, cfg.pool_padding));
  });
  return x;
}

/** softmax over tokens of x · w + b, w a Linear(dim → 1): [b, tokens]. */
function poolingWeights(params: Params, x: tf.Tensor): tf.Tensor2D {
  const scores = linear(x, param(params, 'attention_pool.weight'), param(params, 'attention_pool.bias'));
  return tf.softmax(rearrange(scores, 'b n 1 -> b n')) as tf.Tensor2D;
}

/**
 * SHI-Labs' fixed table: position p, channel i → p / 10000^(2⌊i/2⌋ / dim), sine on even
 * channels, cosine on odd ones; [1, tokens, dim].
 */
export function sinusoidalEmbedding(tokens: number, dim: number): tf.Tensor3D {
  return tf.tensor3d(sinusoidalTable(tokens, dim), [1, tokens, dim]);
}

/** The same table as plain values, row by row (token-major), for writers that need no tensor. */
export function sinusoidalTable(tokens: number, dim: number): Float32Array {
  const table = new Float32Array(tokens * dim);
  for (let p = 0; p < tokens; p++) {
    for (let i = 0; i < dim; i++) {
      const angle = p / 10000 ** ((2 * Math.floor(i / 2)) / dim);
      table[p * dim + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return table;
}

/** Block i's stochastic-depth rate: torch.linspace(0, drop_path, depth)[i]. */
function dropPathRate(cfg: CctConfig, i: number): number {
  return cfg.depth === 1 ? 0 : (cfg.drop_path * i) / (cfg.depth - 1);
}

function param(params: Params, name: string): tf.Variable {
  return paramOf(params, name, 'cctForward');
}
