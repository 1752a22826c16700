import type { PytorchModule } from '../family.js';
import type { VitSmallConfig } from './config.js';

/**
 * Our parameter names → the `state_dict` keys of the ViT in kentaroy47/vision-transformers-cifar10's
 * models/vit_small.py: SPT's `to_patch_tokens` is Sequential(Rearrange, LayerNorm, Linear); PreNorm
 * wraps each sublayer as `.norm` + `.fn`; LSA keeps its `temperature` beside `to_qkv` and
 * `to_out` (Sequential(Linear, Dropout), always there); the MLP's `net` has its second Linear at
 * index 3; `mlp_head` is Sequential(LayerNorm, Linear).
 */
const PYTORCH_NAMES: [RegExp, string][] = [
  [/^patch_embed\.norm\./, 'to_patch_embedding.to_patch_tokens.1.'],
  [/^patch_embed\.linear\./, 'to_patch_embedding.to_patch_tokens.2.'],
  [/^cls_token$/, 'cls_token'],
  [/^pos_embed$/, 'pos_embedding'],
  [/^blocks\.(\d+)\.attn\.norm\./, 'transformer.layers.$1.0.norm.'],
  [/^blocks\.(\d+)\.attn\.temperature$/, 'transformer.layers.$1.0.fn.temperature'],
  [/^blocks\.(\d+)\.attn\.qkv\./, 'transformer.layers.$1.0.fn.to_qkv.'],
  [/^blocks\.(\d+)\.attn\.out\./, 'transformer.layers.$1.0.fn.to_out.0.'],
  [/^blocks\.(\d+)\.mlp\.norm\./, 'transformer.layers.$1.1.norm.'],
  [/^blocks\.(\d+)\.mlp\.fc1\./, 'transformer.layers.$1.1.fn.net.0.'],
  [/^blocks\.(\d+)\.mlp\.fc2\./, 'transformer.layers.$1.1.fn.net.3.'],
  [/^head\.norm\./, 'mlp_head.0.'],
  [/^head\.linear\./, 'mlp_head.1.'],
];

export const vitSmallPytorch: PytorchModule<VitSmallConfig> = {
  module: 'ViT of kentaroy47/vision-transformers-cifar10 (models/vit_small.py: SPT and LSA)',
  name(ours) {
    for (const [pattern, replacement] of PYTORCH_NAMES) {
      if (pattern.test(ours)) return ours.replace(pattern, replacement);
    }
    throw new Error(`no PyTorch name for vit_small parameter ${ours}`);
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
