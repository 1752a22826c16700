import type { PytorchModule } from '../family.js';
import type { MobileVitConfig } from './config.js';

/** Our conv names in a MobileViT block → mobilevit.py's Sequential(Conv2d, BatchNorm2d, SiLU) attributes. */
const MVIT_CONVS: Record<string, string> = { local: 'conv1', to_tokens: 'conv2', from_tokens: 'conv3', fuse: 'conv4' };
/** Our transformer layer's names → the module's: [PreNorm(Attention), PreNorm(FeedForward)]. */
const LAYER: Record<string, string> = { 'attn.norm': '0.norm', 'attn.qkv': '0.fn.to_qkv', 'attn.out': '0.fn.to_out.0', 'mlp.norm': '1.norm', 'mlp.fc1': '1.fn.net.0', 'mlp.fc2': '1.fn.net.3' };

/**
 * Our names → the state_dict keys of kentaroy47/vision-transformers-cifar10's MobileViT: the stem
 * is `conv1` (.0 conv, .1 BatchNorm), each MV2 block's `conv` a Sequential with its convs at 0, 3,
 * 6 and BatchNorms at 1, 4, 7 (3 fewer without the expanding conv, expansion 1), each MobileViT
 * block's convs conv1 … conv4 with their BatchNorms and `transformer.layers.j`, the head conv
 * `conv2`, the classifier `fc`.
 */
export const mobileVitPytorch: PytorchModule<MobileVitConfig> = {
  module: 'MobileViT of kentaroy47/vision-transformers-cifar10 (models/mobilevit.py)',
  name(ours, cfg) {
    const shift = cfg.expansion === 1 ? 3 : 0;
    const mv2: Record<string, number> = { expand: 0, expand_norm: 1, depthwise: 3 - shift, depthwise_norm: 4 - shift, project: 6 - shift, project_norm: 7 - shift };
    const rules: [RegExp, (m: RegExpMatchArray) => string | undefined][] = [
      [/^stem\.(conv|norm)\.(.+)$/, (m) => `conv1.${m[1] === 'conv' ? 0 : 1}.${m[2]}`],
      [/^head\.(conv|norm)\.(.+)$/, (m) => `conv2.${m[1] === 'conv' ? 0 : 1}.${m[2]}`],
      [/^fc\.weight$/, () => 'fc.weight'],
      [/^mv2\.(\d+)\.([a-z_]+)\.(.+)$/, (m) => (m[2] in mv2 ? `mv2.${m[1]}.conv.${mv2[m[2]]}.${m[3]}` : undefined)],
      [/^mvit\.(\d+)\.([a-z_]+?)(_norm)?\.([a-z_]+)$/, (m) => (m[2] in MVIT_CONVS ? `mvit.${m[1]}.${MVIT_CONVS[m[2]]}.${m[3] ? 1 : 0}.${m[4]}` : undefined)],
      [/^mvit\.(\d+)\.layers\.(\d+)\.(\w+\.\w+)\.(.+)$/, (m) => (m[3] in LAYER ? `mvit.${m[1]}.transformer.layers.${m[2]}.${LAYER[m[3]]}.${m[4]}` : undefined)],
    ];
    for (const [pattern, name] of rules) {
      const match = ours.match(pattern);
      const theirs = match && name(match);
      if (theirs) return theirs;
    }
    throw new Error(`no PyTorch name for MobileViT parameter ${ours}`);
  },
  constructorArgs: (cfg) => ({
    key: 'mobilevit_args',
    args: {
      image_size: [cfg.image_size, cfg.image_size],
      dims: cfg.dims,
      channels: cfg.channels,
      num_classes: cfg.num_classes,
      expansion: cfg.expansion,
      kernel_size: cfg.kernel_size,
      patch_size: [cfg.patch_size, cfg.patch_size],
    },
  }),
};
