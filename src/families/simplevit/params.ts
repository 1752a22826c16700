import * as tf from '@tensorflow/tfjs';
import { type Params, fanIn, initVariables, pytorchDefaultInit } from '../../layers/params.js';
import type { Rng } from '../../util/rng.js';
import { blockShapes, headShapes, patchDim } from '../vit/params.js';
import { type SimpleVitConfig, gridSide } from './config.js';

// The names are the ViT's (src/families/vit/params.ts), so its decay and Muon rules apply as they are.
export { isDecayed, isHiddenMatrix } from '../vit/params.js';
export { patchDim };

export function numPatches(cfg: SimpleVitConfig): number {
  return gridSide(cfg) ** 2;
}

/**
 * Every parameter's name and shape, in a fixed order (initParams draws seeds in it). Linear
 * weights are [in, out]. There is no cls token and no position parameter (the positions are a
 * fixed table, positions.ts); the output projection `attn.out` has no bias; each sublayer's
 * LayerNorm is named with it (`attn.norm`, `mlp.norm`), as PyTorch's module tree has it.
 */
export function paramShapes(cfg: SimpleVitConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = { 'patch_embed.weight': [patchDim(cfg), cfg.dim], 'patch_embed.bias': [cfg.dim] };
  for (let i = 0; i < cfg.depth; i++) Object.assign(shapes, blockShapes(i, cfg, { outBias: false }));
  return Object.assign(shapes, headShapes(cfg));
}

/** Fresh weights as PyTorch initialises SimpleViT, which sets none itself: nn.Linear's and nn.LayerNorm's defaults. */
export function initParams(cfg: SimpleVitConfig, seed: number): Params {
  const shapes = paramShapes(cfg);
  return initVariables(shapes, (name, shape, rng) => initialValue(name, shape, shapes, rng), seed);
}

function initialValue(name: string, shape: number[], shapes: Record<string, number[]>, rng: Rng): tf.Tensor {
  if (name.endsWith('norm.weight')) return tf.ones(shape);
  if (name.endsWith('norm.bias')) return tf.zeros(shape);
  // A Linear's bias is drawn from its weight's range, 1/√fan_in.
  const weight = name.endsWith('.bias') ? shapes[name.replace(/\.bias$/, '.weight')] : shape;
  return pytorchDefaultInit(shape, fanIn(weight), rng);
}
