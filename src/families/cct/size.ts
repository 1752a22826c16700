import { convOutputSize } from '../../layers/conv.js';
import type { CctConfig } from './config.js';
import { cctTokens, convChannels } from './params.js';

/** The closed-form parameter count (tests check it against cctParamShapes). */
export function countCctParams(cfg: CctConfig): number {
  const { dim, depth, mlp_dim, num_classes, conv_kernel: k } = cfg;
  const tokenizer = convChannels(cfg).reduce((sum, [cin, cout]) => sum + k * k * cin * cout, 0);
  const positions = cfg.positional_embedding === 'learnable' ? cctTokens(cfg) * dim : 0;
  const attention = 2 * dim + 3 * dim * dim + (dim + 1) * dim; // pre-norm, qkv (no bias), proj
  const mlp = 2 * dim + (dim + 1) * mlp_dim + (mlp_dim + 1) * dim; // norm1, fc1, fc2
  const head = 2 * dim + (dim + 1) + (dim + 1) * num_classes; // norm, attention_pool, fc
  return tokenizer + positions + depth * (attention + mlp) + head;
}

/** Forward FLOPs per image, 2 · multiply-accumulates of the convolutions and matrix products. */
export function cctForwardFlops(cfg: CctConfig): number {
  const { dim, depth, mlp_dim, num_classes, conv_kernel: k } = cfg;
  let side = cfg.image_size;
  let macs = 0;
  for (const [cin, cout] of convChannels(cfg)) {
    const convSide = convOutputSize(side, k, cfg.conv_stride, cfg.conv_padding);
    macs += convSide * convSide * k * k * cin * cout;
    side = convOutputSize(convSide, cfg.pool_kernel, cfg.pool_stride, cfg.pool_padding);
  }
  const n = cctTokens(cfg);
  const attention = n * dim * 3 * dim + 2 * n * n * dim + n * dim * dim;
  macs += depth * (attention + 2 * n * dim * mlp_dim) + n * dim + dim * num_classes;
  return 2 * macs;
}
