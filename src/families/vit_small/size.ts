import type { VitSmallConfig } from './config.js';
import { numPatches, patchDim } from './params.js';

/** The number of trainable values, in closed form (tests check it against paramShapes). */
export function countParams(cfg: VitSmallConfig): number {
  const { dim, depth, heads, dim_head, mlp_dim, num_classes } = cfg;
  const inner = heads * dim_head;
  const tokens = numPatches(cfg) + 1;
  const embedding = 2 * patchDim(cfg) + (patchDim(cfg) + 1) * dim + dim + tokens * dim; // SPT's LayerNorm and Linear, cls, positions
  const attention = 2 * dim + 1 + dim * 3 * inner + (inner + 1) * dim; // norm, temperature, qkv, out
  const mlp = 2 * dim + (dim + 1) * mlp_dim + (mlp_dim + 1) * dim; // norm, fc1, fc2
  const head = 2 * dim + (dim + 1) * num_classes; // norm, Linear
  return embedding + depth * (attention + mlp) + head;
}

/**
 * Forward-pass FLOPs per image, 2 · multiply-accumulates of the matrix products, as the ViT's: the
 * SPT Linear reads 5 views' patches; norms, softmax, the shifts, the mask and GELU are left out.
 */
export function forwardFlops(cfg: VitSmallConfig): number {
  const { dim, depth, heads, dim_head, mlp_dim, num_classes } = cfg;
  const inner = heads * dim_head;
  const tokens = numPatches(cfg) + 1;
  const patchEmbed = numPatches(cfg) * patchDim(cfg) * dim;
  const attention =
    tokens * dim * 3 * inner + // qkv projection
    2 * heads * tokens * tokens * dim_head + // q·kᵀ and attention·v
    tokens * inner * dim; // output projection
  const mlp = 2 * tokens * dim * mlp_dim;
  const head = dim * num_classes;
  return 2 * (patchEmbed + depth * (attention + mlp) + head);
}
