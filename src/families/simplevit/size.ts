import type { SimpleVitConfig } from './config.js';
import { numPatches, patchDim } from './params.js';

/** The number of trainable values, in closed form (tests check it against paramShapes and PyTorch's). */
export function countParams(cfg: SimpleVitConfig): number {
  const { dim, depth, heads, dim_head, mlp_dim, num_classes } = cfg;
  const inner = heads * dim_head;
  const embedding = (patchDim(cfg) + 1) * dim; // the patch Linear; the positions are not trained
  const attention = 2 * dim + dim * 3 * inner + inner * dim; // norm, qkv, out (both without bias)
  const mlp = 2 * dim + (dim + 1) * mlp_dim + (mlp_dim + 1) * dim; // norm, fc1, fc2
  const head = 2 * dim + (dim + 1) * num_classes; // norm, Linear
  return embedding + depth * (attention + mlp) + head;
}

/**
 * Forward FLOPs per image, 2 · multiply-accumulates of the matrix products, as for the ViT but
 * over the patches alone (no cls token); norms, softmax, GELU and the mean pooling are left out.
 */
export function forwardFlops(cfg: SimpleVitConfig): number {
  const { dim, depth, heads, dim_head, mlp_dim, num_classes } = cfg;
  const inner = heads * dim_head;
  const n = numPatches(cfg);
  const patchEmbed = n * patchDim(cfg) * dim;
  const attention = n * dim * 3 * inner + 2 * heads * n * n * dim_head + n * inner * dim; // qkv, q·kᵀ and ·v, out
  const mlp = 2 * n * dim * mlp_dim;
  const head = dim * num_classes;
  return 2 * (patchEmbed + depth * (attention + mlp) + head);
}
