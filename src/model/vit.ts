import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/schema.js';
import { rearrange, repeat } from '../einops/index.js';
import { Rng } from '../util/rng.js';
import { hasKernel } from '../backend/kernel-traits.js';
import { fusedSelfAttention } from './fused-attention.js';
import { ATTENTION } from './fused-kernels.js';
import { addToEachSample, layerNorm, linear, residualAdd } from './layers.js';
import { feedForward } from './mlp.js';
import { CHANNELS, type Params } from './params.js';
import { tfSeed } from './seed.js';

export { initParams, isDecayed, paramShapes, type Params } from './params.js';
export { countParams, forwardFlops } from './size.js';

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
  cfg: ModelConfig,
  images: tf.Tensor4D,
  opts: { training: boolean; seed?: number; captureAttention?: tf.Tensor[] },
): tf.Tensor2D {
  const [b, height, width, channels] = images.shape;
  if (height !== cfg.image_size || width !== cfg.image_size || channels !== CHANNELS) {
    throw new Error(`vitForward: expected images [b, ${cfg.image_size}, ${cfg.image_size}, 3], got [${images.shape}]`);
  }
  const dropout = seededDropout(opts);
  const p = (name: string) => param(params, name);

  return tf.tidy(() => {
    let x = patchEmbedding(params, cfg, images);
    const cls = repeat(p('cls_token'), '1 1 d -> b 1 d', { b });
    x = tf.concat([cls, x], 1);
    x = dropout(addToEachSample(x, p('pos_embed')), cfg.emb_dropout);

    for (let i = 0; i < cfg.depth; i++) {
      const block = (name: string) => p(`blocks.${i}.${name}`);
      // Stochastic depth drops a whole residual branch per sample: mask shape [b, 1, 1].
      const dropPath = (branch: tf.Tensor) => dropout(branch, dropPathRate(cfg, i), [b, 1, 1]);
      const attnIn = layerNorm(x, block('attn.norm.weight'), block('attn.norm.bias'));
      x = residualAdd(x, dropPath(attention(attnIn, block, cfg, dropout, opts.captureAttention)));
      const mlpIn = layerNorm(x, block('mlp.norm.weight'), block('mlp.norm.bias'));
      x = residualAdd(x, dropPath(mlp(mlpIn, block, cfg, dropout)));
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
export function patchEmbedding(params: Params, cfg: ModelConfig, images: tf.Tensor4D): tf.Tensor {
  const patches = rearrange(images, 'b (h p1) (w p2) c -> b (h w) (p1 p2 c)', {
    p1: cfg.patch_size,
    p2: cfg.patch_size,
  });
  return linear(patches, param(params, 'patch_embed.weight'), param(params, 'patch_embed.bias'));
}

export type Dropout = (x: tf.Tensor, rate: number, noiseShape?: number[]) => tf.Tensor;

/**
 * Multi-head self-attention: softmax(q·kᵀ / √dim_head) · v per head, heads concatenated, projected.
 * The output projection is always there (vit-pytorch drops it when heads = 1 and dim_head = dim).
 * Without attention dropout, one fused kernel each way where the backend has it (fused-attention.ts).
 */
export function attention(
  x: tf.Tensor,
  w: (name: string) => tf.Variable,
  cfg: ModelConfig,
  dropout: Dropout,
  capture?: tf.Tensor[],
): tf.Tensor {
  const h = cfg.heads;
  // The fused kernel keeps its probabilities to itself: capturing them takes the tfjs path.
  if (!capture && cfg.attn_dropout === 0 && hasKernel(ATTENTION)) {
    const out = fusedSelfAttention(linear(x, w('attn.qkv.weight')), h, cfg.dim_head ** -0.5);
    return dropout(linear(out, w('attn.out.weight'), w('attn.out.bias')), cfg.dropout);
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
  return dropout(linear(out, w('attn.out.weight'), w('attn.out.bias')), cfg.dropout);
}

/** The MLP: Linear → GELU → dropout → Linear → dropout, on every token. */
export function mlp(x: tf.Tensor, w: (name: string) => tf.Variable, cfg: ModelConfig, dropout: Dropout): tf.Tensor {
  const [dim, hidden] = w('mlp.fc1.weight').shape;
  const rows = tf.reshape(x, [-1, dim]);
  // Dropout's multiplier drawn here, in the same order as dropout(gelu(…)) would draw it.
  const dropMask = cfg.dropout > 0 ? dropout(tf.ones([rows.shape[0], hidden]), cfg.dropout) : tf.scalar(1);
  const y = feedForward(rows, w('mlp.fc1.weight'), w('mlp.fc1.bias'), w('mlp.fc2.weight'), w('mlp.fc2.bias'), dropMask);
  return dropout(tf.reshape(y, x.shape), cfg.dropout);
}

/** Block i's stochastic-depth rate: linear from 0 (first block) to `drop_path` (last block). */
function dropPathRate(cfg: ModelConfig, i: number): number {
  return cfg.depth === 1 ? cfg.drop_path : (cfg.drop_path * i) / (cfg.depth - 1);
}

/** x[:, 0]: the cls token of every sample. */
function firstToken(x: tf.Tensor): tf.Tensor {
  const [b, , dim] = x.shape;
  return tf.reshape(tf.slice(x, [0, 0, 0], [b, 1, dim]), [b, dim]);
}

/**
 * Inverted dropout in training (kept values scaled by 1/keep), identity in evaluation. Each call
 * takes the next seed from one Rng seeded with the pass's seed, so masks never depend on tfjs's
 * global random state.
 */
export function seededDropout(opts: { training: boolean; seed?: number }): Dropout {
  if (!opts.training) return (x) => x;
  if (opts.seed === undefined) throw new Error('vitForward: a training pass needs a seed for its dropout masks');
  const rng = new Rng(opts.seed);
  return (x, rate, noiseShape) => (rate > 0 ? tf.dropout(x, rate, noiseShape, tfSeed(rng)) : x);
}

function param(params: Params, name: string): tf.Variable {
  const value = params[name];
  if (!value) throw new Error(`vitForward: missing parameter ${name}`);
  return value;
}
