import { type PytorchModule, renameByTable } from '../family.js';
import type { SimpleVitConfig } from './config.js';

/**
 * Our parameter names → the `state_dict` keys of kentaroy47/vision-transformers-cifar10's
 * SimpleViT (models/simplevit.py, lucidrains'): each layer is ModuleList([Attention, FeedForward]);
 * Attention holds its own `norm`, `to_qkv` and a bare `to_out` Linear; FeedForward's `net` is
 * Sequential(LayerNorm, Linear, GELU, Linear), so 0, 1 and 3; `linear_head` is Sequential(LayerNorm,
 * Linear). The sin-cos positions are computed in forward, not kept: no constants.
 */
const PYTORCH_NAMES: [RegExp, string][] = [
  [/^patch_embed\./, 'to_patch_embedding.1.'],
  [/^blocks\.(\d+)\.attn\.norm\./, 'transformer.layers.$1.0.norm.'],
  [/^blocks\.(\d+)\.attn\.qkv\./, 'transformer.layers.$1.0.to_qkv.'],
  [/^blocks\.(\d+)\.attn\.out\./, 'transformer.layers.$1.0.to_out.'],
  [/^blocks\.(\d+)\.mlp\.norm\./, 'transformer.layers.$1.1.net.0.'],
  [/^blocks\.(\d+)\.mlp\.fc1\./, 'transformer.layers.$1.1.net.1.'],
  [/^blocks\.(\d+)\.mlp\.fc2\./, 'transformer.layers.$1.1.net.3.'],
  [/^head\.norm\./, 'linear_head.0.'],
  [/^head\.linear\./, 'linear_head.1.'],
];

export const simpleVitPytorch: PytorchModule<SimpleVitConfig> = {
  module: "SimpleViT of kentaroy47/vision-transformers-cifar10 (models/simplevit.py, lucidrains/vit-pytorch's)",
  name(ours) {
    return renameByTable(PYTORCH_NAMES, ours, 'SimpleViT');
  },
  constructorArgs: (cfg) => ({
    key: 'simplevit_args',
    args: {
      image_size: cfg.image_size,
      patch_size: cfg.patch_size,
      num_classes: cfg.num_classes,
      dim: cfg.dim,
      depth: cfg.depth,
      heads: cfg.heads,
      mlp_dim: cfg.mlp_dim,
      dim_head: cfg.dim_head,
    },
  }),
};
