import { CHANNELS } from '../../data/cifar10.js';
import { convOutputSize } from '../../layers/conv.js';
import { type ResNetConfig, STAGES, STEM_PLANES, basicBlocks } from './config.js';

export { countParams } from './params.js';

/**
 * Forward FLOPs per image, 2 · multiply-accumulates of the convolutions and the Linear (BatchNorm,
 * ReLU, the additions and the pooling left out, as for every family): a conv over an out×out map
 * does out²·k²·c_in·c_out.
 */
export function forwardFlops(cfg: ResNetConfig): number {
  let side: number = cfg.image_size;
  let macs = side * side * 9 * CHANNELS * STEM_PLANES;
  for (const { inPlanes, planes, stride, projection } of basicBlocks(cfg)) {
    const out = convOutputSize(side, 3, stride, 1);
    macs += out * out * 9 * inPlanes * planes + out * out * 9 * planes * planes;
    if (projection) macs += out * out * inPlanes * planes;
    side = out;
  }
  return 2 * (macs + STAGES[STAGES.length - 1].planes * cfg.num_classes);
}
