import { type SwinConfig, swinStages } from './config.js';
import { MLP_RATIO, posEmbedShape } from './params.js';

/** The number of trained values, in closed form (tests check it against paramShapes and PyTorch's count). */
export function countParams(cfg: SwinConfig): number {
  const table = posEmbedShape(cfg).reduce((a, b) => a * b, 1);
  let total = 0;
  for (const { inChannels, dim, factor, layers, heads } of swinStages(cfg)) {
    const inner = heads * cfg.head_dim;
    const merge = (inChannels * factor * factor + 1) * dim;
    const attention = 2 * dim + dim * 3 * inner + table + (inner + 1) * dim; // norm, qkv, bias table, out
    const mlp = 2 * dim + (dim + 1) * MLP_RATIO * dim + (MLP_RATIO * dim + 1) * dim; // norm, two Linears
    total += merge + layers * (attention + mlp);
  }
  const last = 8 * cfg.hidden_dim;
  return total + 2 * last + (last + 1) * cfg.num_classes;
}

/**
 * Forward FLOPs per image, 2 · the multiply-accumulates of the products (norms, softmax, GELU,
 * the bias and mask additions left out, as for every family). On a stage's n = side² tokens:
 * patch merging n·c·f²·dim; per block the qkv n·dim·3·inner, q·kᵀ and attention·v within each
 * window 2·heads·n·w²·head_dim (every token meets the w² of its window), the output n·inner·dim
 * and the MLP 2·n·dim·4·dim; the head's Linear.
 */
export function forwardFlops(cfg: SwinConfig): number {
  const w2 = cfg.window_size ** 2;
  let macs = 0;
  for (const { inChannels, dim, factor, side, layers, heads } of swinStages(cfg)) {
    const n = side * side;
    const inner = heads * cfg.head_dim;
    const block = n * dim * 3 * inner + 2 * heads * n * w2 * cfg.head_dim + n * inner * dim + 2 * n * dim * MLP_RATIO * dim;
    macs += n * inChannels * factor * factor * dim + layers * block;
  }
  return 2 * (macs + 8 * cfg.hidden_dim * cfg.num_classes);
}
