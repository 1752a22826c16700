import * as tf from '@tensorflow/tfjs';
import { type Params, initVariables, tfSeed } from '../../layers/params.js';
import type { Rng } from '../../util/rng.js';
import { blockShapes, headShapes, numPatches, patchDim as vitPatchDim } from '../vit/params.js';
import type { VitSmallConfig } from './config.js';

export { numPatches };

const INIT_STD = 0.02;

/** The image and its four diagonal half-patch shifts, stacked on the channels (spt.ts). */
export const SPT_VIEWS = 5;

/** One shifted-patch token before its LayerNorm and Linear: patch² pixels × 5 views × 3 channels. */
export function patchDim(cfg: VitSmallConfig): number {
  return SPT_VIEWS * vitPatchDim(cfg);
}

/**
 * Every parameter's name and shape, in a fixed order (initParams draws seeds in this order).
 * Linear weights are [in, out]. The patch embedding is SPT's LayerNorm then Linear; each block's
 * attention has its own scalar temperature (LSA's), stored as log of the logits' scale.
 */
export function paramShapes(cfg: VitSmallConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {
    'patch_embed.norm.weight': [patchDim(cfg)],
    'patch_embed.norm.bias': [patchDim(cfg)],
    'patch_embed.linear.weight': [patchDim(cfg), cfg.dim],
    'patch_embed.linear.bias': [cfg.dim],
    cls_token: [1, 1, cfg.dim],
    pos_embed: [1, numPatches(cfg) + 1, cfg.dim],
  };
  for (let i = 0; i < cfg.depth; i++) Object.assign(shapes, blockShapes(i, cfg, { attentionExtra: { temperature: [] } }));
  return Object.assign(shapes, headShapes(cfg));
}

// Weight decay as the ViT's, on Linear weights only: the temperatures (scalars) are not decayed either,
// which would pull the logits' scale towards 1.
export { isDecayed } from '../vit/params.js';

/** Muon's matrices: the patch embedding's and each block's attention and MLP weights (not the head's). */
export function isHiddenMatrix(name: string): boolean {
  return /^(blocks\.\d+\.(attn\.(qkv|out)|mlp\.fc[12])|patch_embed\.linear)\.weight$/.test(name);
}

/**
 * Fresh weights as the ViT's (timm's init: Linear weights, cls token and positions from a normal
 * of std 0.02 truncated at ±2 std; biases zero; LayerNorm gain one), and each temperature at
 * log(dim_head^-½) as the reference sets it, so training starts from the usual 1/√d scaling.
 */
export function initParams(cfg: VitSmallConfig, seed: number): Params {
  return initVariables(paramShapes(cfg), (name, shape, rng) => initialValue(name, shape, rng, cfg), seed);
}

function initialValue(name: string, shape: number[], rng: Rng, cfg: VitSmallConfig): tf.Tensor {
  if (name.endsWith('.temperature')) return tf.scalar(Math.log(cfg.dim_head ** -0.5));
  if (name.endsWith('.bias')) return tf.zeros(shape);
  if (name.endsWith('norm.weight')) return tf.ones(shape);
  return tf.truncatedNormal(shape, 0, INIT_STD, 'float32', tfSeed(rng));
}
