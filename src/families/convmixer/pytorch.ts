import type { PytorchModule } from '../family.js';
import type { ConvMixerConfig } from './config.js';

/**
 * Our names → the state_dict keys of kentaroy47/vision-transformers-cifar10's ConvMixer, one
 * nn.Sequential: 0 the patch conv, 1 GELU, 2 its BatchNorm; 3 … 3+depth−1 the blocks, each
 * Sequential(Residual(Sequential(depthwise conv, GELU, BN)) as `.0.fn`, pointwise conv `.1`,
 * GELU, BN `.3`); then AdaptiveAvgPool2d, Flatten and the Linear at 3+depth+2.
 */
export const convMixerPytorch: PytorchModule<ConvMixerConfig> = {
  module: 'ConvMixer of kentaroy47/vision-transformers-cifar10 (models/convmixer.py)',
  name(ours, cfg) {
    const rules: [RegExp, (m: RegExpMatchArray) => string][] = [
      [/^stem\.conv\.(.+)$/, (m) => `0.${m[1]}`],
      [/^stem\.norm\.(.+)$/, (m) => `2.${m[1]}`],
      [/^blocks\.(\d+)\.depthwise\.(.+)$/, (m) => `${3 + Number(m[1])}.0.fn.0.${m[2]}`],
      [/^blocks\.(\d+)\.depthwise_norm\.(.+)$/, (m) => `${3 + Number(m[1])}.0.fn.2.${m[2]}`],
      [/^blocks\.(\d+)\.pointwise\.(.+)$/, (m) => `${3 + Number(m[1])}.1.${m[2]}`],
      [/^blocks\.(\d+)\.pointwise_norm\.(.+)$/, (m) => `${3 + Number(m[1])}.3.${m[2]}`],
      [/^head\.(.+)$/, (m) => `${3 + cfg.depth + 2}.${m[1]}`],
    ];
    for (const [pattern, name] of rules) {
      const match = ours.match(pattern);
      if (match) return name(match);
    }
    throw new Error(`no PyTorch name for ConvMixer parameter ${ours}`);
  },
  constructorArgs: (cfg) => ({
    key: 'convmixer_args',
    args: { dim: cfg.dim, depth: cfg.depth, kernel_size: cfg.kernel_size, patch_size: cfg.patch_size, n_classes: cfg.num_classes },
  }),
};
