import { CHANNELS } from '../../data/cifar10.js';
import { type MobileVitConfig, TRANSFORMER, mobileVitBlocks, mv2Blocks } from './config.js';

export { countParams } from './params.js';

/**
 * Forward FLOPs per image, 2 · multiply-accumulates of the convolutions and products (BatchNorm,
 * SiLU, LayerNorm, softmax, the additions and the pooling left out, as for every family). A conv
 * over an out×out map does out²·k²·c_in·c_out (a depthwise one out²·k²·c); a MobileViT block on
 * n = side² positions, its transformer on P² groups of N = n / P² tokens, does per layer
 * n·dim·3·inner (qkv) + 2·heads·n·N·dim_head (q·kᵀ and ·v) + n·inner·dim (out) + 2·n·dim·mlp.
 */
export function forwardFlops(cfg: MobileVitConfig): number {
  const c = cfg.channels;
  const k = cfg.kernel_size;
  const { heads, dimHead } = TRANSFORMER;
  const inner = heads * dimHead;
  const mv2 = mv2Blocks(cfg);
  let macs = mv2[0].side ** 2 * 9 * CHANNELS * c[0]; // the stem, stride 2
  for (const { inp, out, hidden, expand, stride, side } of mv2) {
    const outSide = stride === 2 ? Math.ceil(side / 2) : side;
    macs += (expand ? side * side * inp * hidden : 0) + outSide ** 2 * (9 * hidden + hidden * out);
  }
  for (const { channel, dim, depth, mlpDim, side } of mobileVitBlocks(cfg)) {
    const n = side * side;
    const tokens = n / cfg.patch_size ** 2;
    const layer = n * dim * 3 * inner + 2 * heads * n * tokens * dimHead + n * inner * dim + 2 * n * dim * mlpDim;
    macs += n * k * k * channel * channel + n * channel * dim + depth * layer + n * dim * channel + n * k * k * 2 * channel * channel;
  }
  const last = mobileVitBlocks(cfg)[2].side;
  macs += last * last * c[9] * c[10] + c[10] * cfg.num_classes;
  return 2 * macs;
}
