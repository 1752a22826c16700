import { CHANNELS } from '../../data/cifar10.js';
import { type ConvMixerConfig, gridSide } from './config.js';

export { countParams } from './params.js';

/**
 * Forward FLOPs per image, 2 · multiply-accumulates of the convolutions and the head (GELU,
 * BatchNorm and the pooling are left out, as for every family): on an n = side² grid, the patch
 * embedding n·p²·3·dim, per block the depthwise conv n·k²·dim and the pointwise n·dim².
 */
export function forwardFlops(cfg: ConvMixerConfig): number {
  const { dim, depth, kernel_size: k, patch_size: p, num_classes } = cfg;
  const n = gridSide(cfg) ** 2;
  const macs = n * p * p * CHANNELS * dim + depth * (n * k * k * dim + n * dim * dim) + dim * num_classes;
  return 2 * macs;
}
