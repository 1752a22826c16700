import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { type Params, initVariables, tfSeed } from '../../layers/params.js';
import type { Rng } from '../../util/rng.js';
import type { VitConfig } from './config.js';

const INIT_STD = 0.02;

/** The keys that shape a ViT-like transformer (vit, vit_small, simplevit share these pieces). */
export type TransformerShape = Pick<VitConfig, 'image_size' | 'patch_size' | 'dim' | 'depth' | 'heads' | 'dim_head' | 'mlp_dim' | 'num_classes'>;

export function numPatches(cfg: Pick<VitConfig, 'image_size' | 'patch_size'>): number {
  return (cfg.image_size / cfg.patch_size) ** 2;
}

export function patchDim(cfg: Pick<VitConfig, 'patch_size'>): number {
  return cfg.patch_size * cfg.patch_size * CHANNELS;
}

/**
 * Every parameter's name and shape, in a fixed order (initParams draws seeds in this order).
 * Linear weights are [in, out], so a Linear is a plain `x · W`. Each block's LayerNorm lives
 * with the sublayer it normalises (`attn.norm`, `mlp.norm`), like PyTorch's PreNorm wrapper.
 */
export function paramShapes(cfg: VitConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {
    'patch_embed.weight': [patchDim(cfg), cfg.dim],
    'patch_embed.bias': [cfg.dim],
    cls_token: [1, 1, cfg.dim],
    pos_embed: [1, numPatches(cfg) + 1, cfg.dim],
  };
  for (let i = 0; i < cfg.depth; i++) Object.assign(shapes, blockShapes(i, cfg));
  return Object.assign(shapes, headShapes(cfg));
}

/**
 * Block i's shapes, attention then MLP, under `blocks.i.`: `attentionExtra` (vit_small's
 * temperature, named under `attn.`) follows the attention's norm; SimpleViT's output projection
 * has no bias (`outBias` false).
 */
export function blockShapes(
  i: number,
  cfg: Pick<TransformerShape, 'dim' | 'heads' | 'dim_head' | 'mlp_dim'>,
  opts: { attentionExtra?: Record<string, number[]>; outBias?: boolean } = {},
): Record<string, number[]> {
  const { dim, mlp_dim } = cfg;
  const inner = cfg.heads * cfg.dim_head;
  const b = `blocks.${i}`;
  const extra = Object.entries(opts.attentionExtra ?? {}).map(([name, shape]) => [`${b}.attn.${name}`, shape]);
  return {
    [`${b}.attn.norm.weight`]: [dim],
    [`${b}.attn.norm.bias`]: [dim],
    ...Object.fromEntries(extra),
    [`${b}.attn.qkv.weight`]: [dim, 3 * inner],
    [`${b}.attn.out.weight`]: [inner, dim],
    ...(opts.outBias === false ? {} : { [`${b}.attn.out.bias`]: [dim] }),
    [`${b}.mlp.norm.weight`]: [dim],
    [`${b}.mlp.norm.bias`]: [dim],
    [`${b}.mlp.fc1.weight`]: [dim, mlp_dim],
    [`${b}.mlp.fc1.bias`]: [mlp_dim],
    [`${b}.mlp.fc2.weight`]: [mlp_dim, dim],
    [`${b}.mlp.fc2.bias`]: [dim],
  };
}

/** The head: LayerNorm, then the Linear to the logits. */
export function headShapes(cfg: Pick<TransformerShape, 'dim' | 'num_classes'>): Record<string, number[]> {
  return {
    'head.norm.weight': [cfg.dim],
    'head.norm.bias': [cfg.dim],
    'head.linear.weight': [cfg.dim, cfg.num_classes],
    'head.linear.bias': [cfg.num_classes],
  };
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
