import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { type Params, initVariables, tfSeed } from '../../layers/params.js';
import type { Rng } from '../../util/rng.js';
import type { VitConfig } from './config.js';

const INIT_STD = 0.02;

export function numPatches(cfg: VitConfig): number {
  return (cfg.image_size / cfg.patch_size) ** 2;
}

export function patchDim(cfg: VitConfig): number {
  return cfg.patch_size * cfg.patch_size * CHANNELS;
}

/**
 * Every parameter's name and shape, in a fixed order (initParams draws seeds in this order).
 * Linear weights are [in, out], so a Linear is a plain `x · W`. Each block's LayerNorm lives
 * with the sublayer it normalises (`attn.norm`, `mlp.norm`), like PyTorch's PreNorm wrapper.
 */
export function paramShapes(cfg: VitConfig): Record<string, number[]> {
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

/** Muon's matrices: the patch embedding's and each block's attention and MLP weights (not the head's). */
export function isHiddenMatrix(name: string): boolean {
  return /^(blocks\.\d+\.(attn\.(qkv|out)|mlp\.fc[12])|patch_embed)\.weight$/.test(name);
}

/**
 * Fresh weights, initialised as timm's ViT does: Linear weights, cls token and position embedding
 * from a normal with std 0.02 truncated at ±2 std; biases zero; LayerNorm gain one, shift zero.
 */
export function initParams(cfg: VitConfig, seed: number): Params {
  return initVariables(paramShapes(cfg), initialValue, seed);
}

function initialValue(name: string, shape: number[], rng: Rng): tf.Tensor {
  if (name.endsWith('.bias')) return tf.zeros(shape);
  if (name.endsWith('norm.weight')) return tf.ones(shape);
  return tf.truncatedNormal(shape, 0, INIT_STD, 'float32', tfSeed(rng));
}
