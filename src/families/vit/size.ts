import { type TransformerShape, numPatches, patchDim } from './params.js';

/**
 * The number of trainable values, in closed form (tests check it against paramShapes).
 * `patchInputs`: the values one patch token is projected from (vit_small's SPT reads five views).
 */
export function countParams(cfg: TransformerShape, patchInputs = patchDim(cfg)): number {
  const { dim, depth, heads, dim_head, mlp_dim, num_classes } = cfg;
  const inner = heads * dim_head;
  const tokens = numPatches(cfg) + 1;
  const embedding = (patchInputs + 1) * dim + dim + tokens * dim; // patch Linear, cls, positions
  const attention = 2 * dim + dim * 3 * inner + (inner + 1) * dim; // norm, qkv, out
  const mlp = 2 * dim + (dim + 1) * mlp_dim + (mlp_dim + 1) * dim; // norm, fc1, fc2
  const head = 2 * dim + (dim + 1) * num_classes; // norm, Linear
  return embedding + depth * (attention + mlp) + head;
}

/**
 * Forward-pass FLOPs per image, counted as 2 · multiply-accumulates of the matrix products
 * (the usual convention; norms, softmax and GELU are left out as they are a few percent).
 */
export function forwardFlops(cfg: TransformerShape, patchInputs = patchDim(cfg)): number {
  const { dim, depth, heads, dim_head, mlp_dim, num_classes } = cfg;
  const inner = heads * dim_head;
  const tokens = numPatches(cfg) + 1;
  const patchEmbed = numPatches(cfg) * patchInputs * dim;
  const attention =
    tokens * dim * 3 * inner + // qkv projection
    2 * heads * tokens * tokens * dim_head + // q·kᵀ and attention·v
    tokens * inner * dim; // output projection
  const mlp = 2 * tokens * dim * mlp_dim;
  const head = dim * num_classes;
  return 2 * (patchEmbed + depth * (attention + mlp) + head);
}
