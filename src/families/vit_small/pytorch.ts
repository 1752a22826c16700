import { type PytorchModule, renameByTable } from '../family.js';
import { PRENORM_TRANSFORMER_NAMES } from '../vit/pytorch.js';
import type { VitSmallConfig } from './config.js';

/**
 * Our parameter names → the `state_dict` keys of the ViT in kentaroy47/vision-transformers-cifar10's
 * models/vit_small.py: SPT's `to_patch_tokens` is Sequential(Rearrange, LayerNorm, Linear); LSA keeps
 * its `temperature` beside `to_qkv`; the rest is the ViT's transformer (src/families/vit/pytorch.ts).
 */
const PYTORCH_NAMES: [RegExp, string][] = [
  [/^patch_embed\.norm\./, 'to_patch_embedding.to_patch_tokens.1.'],
  [/^patch_embed\.linear\./, 'to_patch_embedding.to_patch_tokens.2.'],
  [/^blocks\.(\d+)\.attn\.temperature$/, 'transformer.layers.$1.0.fn.temperature'],
  ...PRENORM_TRANSFORMER_NAMES,
];

export const vitSmallPytorch: PytorchModule<VitSmallConfig> = {
  module: 'ViT of kentaroy47/vision-transformers-cifar10 (models/vit_small.py: SPT and LSA)',
  name(ours) {
    return renameByTable(PYTORCH_NAMES, ours, 'vit_small');
  },
  // The arguments that shape the model (its dropout rates are training's, free to differ on import).
  constructorArgs: (cfg) => ({
    key: 'vit_small_args',
    args: {
      image_size: cfg.image_size,
      patch_size: cfg.patch_size,
      num_classes: cfg.num_classes,
      dim: cfg.dim,
      depth: cfg.depth,
      heads: cfg.heads,
      mlp_dim: cfg.mlp_dim,
      pool: cfg.pool,
      dim_head: cfg.dim_head,
    },
  }),
};
