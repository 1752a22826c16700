import type { PytorchModule } from '../family.js';
import type { CaitConfig } from './config.js';

/**
 * Our names → the state_dict keys of kentaroy47/vision-transformers-cifar10's CaiT (models/cait.py):
 * `patch_transformer` and `cls_transformer` hold `layers.i` = ModuleList(attention, MLP), each
 * LayerScale(PreNorm(fn)): the factor is `.scale`, the norm `.fn.norm`, the sublayer `.fn.fn`.
 * `to_out` and `net` are nn.Sequential (index 3 of `net` is the second Linear, after GELU and
 * Dropout), `mlp_head` is Sequential(LayerNorm, Linear). The talking-heads matrices, ours
 * [heads out, heads in], are stored [in, out] there: export transposes them as it does every
 * rank-2 tensor (src/checkpoint/pytorch.ts).
 */
const PYTORCH_NAMES: [RegExp, string][] = [
  [/^patch_embed\./, 'to_patch_embedding.1.'],
  [/^pos_embed$/, 'pos_embedding'],
  [/^patch_blocks\./, 'patch_transformer.layers.'],
  [/^cls_blocks\./, 'cls_transformer.layers.'],
  [/\.attn\.scale$/, '.0.scale'],
  [/\.attn\.norm\./, '.0.fn.norm.'],
  [/\.attn\.q\./, '.0.fn.fn.to_q.'],
  [/\.attn\.kv\./, '.0.fn.fn.to_kv.'],
  [/\.attn\.mix_pre\.weight$/, '.0.fn.fn.mix_heads_pre_attn'],
  [/\.attn\.mix_post\.weight$/, '.0.fn.fn.mix_heads_post_attn'],
  [/\.attn\.out\./, '.0.fn.fn.to_out.0.'],
  [/\.mlp\.scale$/, '.1.scale'],
  [/\.mlp\.norm\./, '.1.fn.norm.'],
  [/\.mlp\.fc1\./, '.1.fn.fn.net.0.'],
  [/\.mlp\.fc2\./, '.1.fn.fn.net.3.'],
  [/^head\.norm\./, 'mlp_head.0.'],
  [/^head\.linear\./, 'mlp_head.1.'],
];

export const caitPytorch: PytorchModule<CaitConfig> = {
  module: "CaiT of kentaroy47/vision-transformers-cifar10 (models/cait.py, lucidrains/vit-pytorch's)",
  name(ours) {
    // The stack's prefix and the sublayer's part are renamed independently, in that order.
    return PYTORCH_NAMES.reduce((name, [pattern, replacement]) => name.replace(pattern, replacement), ours);
  },
  constructorArgs: (cfg) => ({
    key: 'cait_args',
    args: {
      image_size: cfg.image_size,
      patch_size: cfg.patch_size,
      num_classes: cfg.num_classes,
      dim: cfg.dim,
      depth: cfg.depth,
      cls_depth: cfg.cls_depth,
      heads: cfg.heads,
      mlp_dim: cfg.mlp_dim,
      dim_head: cfg.dim_head,
      dropout: cfg.dropout,
      emb_dropout: cfg.emb_dropout,
      layer_dropout: cfg.layer_dropout,
    },
  }),
};
