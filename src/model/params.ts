import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/schema.js';
import { Rng } from '../util/rng.js';
import { tfSeed } from './seed.js';

/** The model's weights by name; names and shapes are listed in docs/checkpoint.md. */
export type Params = Record<string, tf.Variable>;

export const CHANNELS = 3;
const INIT_STD = 0.02;

export function numPatches(cfg: ModelConfig): number {
  return (cfg.image_size / cfg.patch_size) ** 2;
}

export function patchDim(cfg: ModelConfig): number {
  return cfg.patch_size * cfg.patch_size * CHANNELS;
}

/**
 * Every parameter's name and shape, in a fixed order (initParams draws seeds in this order).
 * Linear weights are [in, out], so a Linear is a plain `x · W`. Each block's LayerNorm lives
 * with the sublayer it normalises (`attn.norm`, `mlp.norm`), like PyTorch's PreNorm wrapper.
 */
export function paramShapes(cfg: ModelConfig): Record<string, number[]> {
  const { dim, depth, heads, dim_head, mlp_dim, num_classes } = cfg;
  const inner = heads * dim_head;
  const shapes: Record<string, number[]> = {
    'patch_embed.weight': [patchDim(cfg), dim],
    'patch_embed.bias': [dim],
    cls_token: [1, 1, dim],
    pos_embed: [1, numPatches(cfg) + 1, dim],
  };
  for (let i = 0; i < depth; i++) {
    Object.assign(shapes, {
      [`blocks.${i}.attn.norm.weight`]: [dim],
      [`blocks.${i}.attn.norm.bias`]: [dim],
      [`blocks.${i}.attn.qkv.weight`]: [dim, 3 * inner],
      [`blocks.${i}.attn.out.weight`]: [inner, dim],
      [`blocks.${i}.attn.out.bias`]: [dim],
      [`blocks.${i}.mlp.norm.weight`]: [dim],
      [`blocks.${i}.mlp.norm.bias`]: [dim],
      [`blocks.${i}.mlp.fc1.weight`]: [dim, mlp_dim],
      [`blocks.${i}.mlp.fc1.bias`]: [mlp_dim],
      [`blocks.${i}.mlp.fc2.weight`]: [mlp_dim, dim],
      [`blocks.${i}.mlp.fc2.bias`]: [dim],
    });
  }
  shapes['head.norm.weight'] = [dim];
  shapes['head.norm.bias'] = [dim];
  shapes['head.linear.weight'] = [dim, num_classes];
  shapes['head.linear.bias'] = [num_classes];
  return shapes;
}

/**
 * Weight decay applies to Linear weights only: decaying biases, LayerNorm gains, the cls token
 * or the position embedding would pull them towards zero for no regularising benefit.
 */
export function isDecayed(name: string): boolean {
  return name.endsWith('.weight') && !name.endsWith('norm.weight');
}

/**
 * Fresh weights, initialised as timm's ViT does: Linear weights, cls token and position embedding
 * from a normal with std 0.02 truncated at ±2 std; biases zero; LayerNorm gain one, shift zero.
 * Every random tensor gets its own seed drawn from `seed`, so init never touches tfjs's global
 * random state and the same seed gives the same weights on every backend.
 */
export function initParams(cfg: ModelConfig, seed: number): Params {
  return initVariables(paramShapes(cfg), initialValue, seed);
}

/**
 * One variable per entry of `shapes`, in order, each from `initialValue`, which draws any seeds it
 * needs from one Rng seeded with `seed` (shared by every model family).
 */
export function initVariables(
  shapes: Record<string, number[]>,
  initialValue: (name: string, shape: number[], rng: Rng) => tf.Tensor,
  seed: number,
): Params {
  const rng = new Rng(seed);
  const params: Params = {};
  for (const [name, shape] of Object.entries(shapes)) {
    params[name] = tf.tidy(() => tf.variable(initialValue(name, shape, rng)));
  }
  return params;
}

function initialValue(name: string, shape: number[], rng: Rng): tf.Tensor {
  if (name.endsWith('.bias')) return tf.zeros(shape);
  if (name.endsWith('norm.weight')) return tf.ones(shape);
  return tf.truncatedNormal(shape, 0, INIT_STD, 'float32', tfSeed(rng));
}
