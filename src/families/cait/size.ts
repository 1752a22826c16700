import type { CaitConfig } from './config.js';
import { numPatches, patchDim } from './params.js';

/** The number of trainable values, in closed form (tests check it against paramShapes and PyTorch's). */
export function countParams(cfg: CaitConfig): number {
  const { dim, depth, cls_depth, heads, dim_head, mlp_dim, num_classes } = cfg;
  const inner = heads * dim_head;
  const embedding = (patchDim(cfg) + 1) * dim + numPatches(cfg) * dim + dim; // patch Linear, positions, cls
  const attention = dim + 2 * dim + dim * inner + dim * 2 * inner + 2 * heads * heads + (inner + 1) * dim; // scale, norm, q, kv, mixes, out
  const mlp = dim + 2 * dim + (dim + 1) * mlp_dim + (mlp_dim + 1) * dim; // scale, norm, fc1, fc2
  const head = 2 * dim + (dim + 1) * num_classes; // norm, Linear
  return embedding + (depth + cls_depth) * (attention + mlp) + head;
}

/**
 * Forward FLOPs per image, 2 · multiply-accumulates of the products (norms, softmax, GELU and the
 * LayerScale products left out, as for every family). A block with `queries` queries over `keys`
 * tokens: q, k and v projections, q·kᵀ and attention·v, the two talking-heads mixes (heads² per
 * query–key pair each), the output projection and the MLP on the queries. The patch blocks have
 * n queries over n keys, the class-attention blocks 1 (the cls token) over n + 1.
 */
export function forwardFlops(cfg: CaitConfig): number {
  const { dim, depth, cls_depth, heads, dim_head, mlp_dim, num_classes } = cfg;
  const inner = heads * dim_head;
  const n = numPatches(cfg);
  const block = (queries: number, keys: number) =>
    queries * dim * inner + // q
    keys * dim * 2 * inner + // k, v
    2 * heads * queries * keys * dim_head + // q·kᵀ, attention·v
    2 * heads * heads * queries * keys + // talking heads before and after the softmax
    queries * inner * dim + // output projection
    2 * queries * dim * mlp_dim; // MLP
  const patchEmbed = n * patchDim(cfg) * dim;
  return 2 * (patchEmbed + depth * block(n, n) + cls_depth * block(1, n + 1) + dim * num_classes);
}
