import type { PytorchModule } from '../family.js';
import type { MlpMixerConfig } from './config.js';

/**
 * Our names → the state_dict keys of kentaroy47/vision-transformers-cifar10's MLPMixer, one
 * nn.Sequential: 0 the patch Rearrange, 1 the patch Linear; 2 … 2+depth−1 the blocks, each
 * Sequential(PreNormResidual token mixing `.0`, PreNormResidual channel mixing `.1`), whose
 * `.norm` is the LayerNorm and `.fn` the FeedForward Sequential (`.fn.0` the first layer, then
 * GELU and Dropout, `.fn.3` the second); then the LayerNorm at 2+depth, the mean, the Linear at
 * 2+depth+2.
 */
const RULES: [RegExp, (m: RegExpMatchArray, depth: number) => string][] = [
  [/^patch_embed\.(.+)$/, (m) => `1.${m[1]}`],
  [/^blocks\.(\d+)\.(token|channel)_mix\.norm\.(.+)$/, (m) => `${2 + Number(m[1])}.${sublayer(m[2])}.norm.${m[3]}`],
  [/^blocks\.(\d+)\.(token|channel)_mix\.fc([12])\.(.+)$/, (m) => `${2 + Number(m[1])}.${sublayer(m[2])}.fn.${m[3] === '1' ? 0 : 3}.${m[4]}`],
  [/^head\.norm\.(.+)$/, (m, depth) => `${2 + depth}.${m[1]}`],
  [/^head\.linear\.(.+)$/, (m, depth) => `${2 + depth + 2}.${m[1]}`],
];

const sublayer = (mixing: string) => (mixing === 'token' ? 0 : 1);

export const mlpMixerPytorch: PytorchModule<MlpMixerConfig> = {
  module: "MLPMixer of kentaroy47/vision-transformers-cifar10 (models/mlpmixer.py, lucidrains/mlp-mixer-pytorch's)",
  name(ours, cfg) {
    for (const [pattern, name] of RULES) {
      const match = ours.match(pattern);
      if (match) return name(match, cfg.depth);
    }
    throw new Error(`no PyTorch name for MLP-Mixer parameter ${ours}`);
  },
  // The token-mixing Conv1d kernels: ours [1, in, out], PyTorch's [out, in, 1].
  permutation: (ours) => (/\.token_mix\.fc[12]\.weight$/.test(ours) ? [2, 1, 0] : undefined),
  constructorArgs: (cfg) => ({
    key: 'mlpmixer_args',
    args: {
      image_size: cfg.image_size,
      channels: cfg.channels,
      patch_size: cfg.patch_size,
      dim: cfg.dim,
      depth: cfg.depth,
      num_classes: cfg.num_classes,
      expansion_factor: cfg.expansion_factor,
      expansion_factor_token: cfg.expansion_factor_token,
      dropout: cfg.dropout,
    },
  }),
};
