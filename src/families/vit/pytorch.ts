import { UserError } from '../../errors.js';
import { type PytorchModule, renameByTable } from '../family.js';
import type { VitConfig } from './config.js';

/**
 * Our parameter names → the `state_dict` keys of the ViT in kentaroy47/vision-transformers-cifar10
 * (`models/vit.py`, after lucidrains/vit-pytorch): PreNorm wraps each sublayer as `.norm` + `.fn`,
 * `to_out` and `net` are nn.Sequential (index 3 of `net` is the second Linear, after GELU and
 * Dropout), and `mlp_head` is Sequential(LayerNorm, Linear). cls_token keeps its name. vit_small's
 * transformer is this one (its attention adds a `temperature` beside `to_qkv`).
 */
export const PRENORM_TRANSFORMER_NAMES: [RegExp, string][] = [
  [/^cls_token$/, 'cls_token'],
  [/^pos_embed$/, 'pos_embedding'],
  [/^blocks\.(\d+)\.attn\.norm\./, 'transformer.layers.$1.0.norm.'],
  [/^blocks\.(\d+)\.attn\.qkv\./, 'transformer.layers.$1.0.fn.to_qkv.'],
  [/^blocks\.(\d+)\.attn\.out\./, 'transformer.layers.$1.0.fn.to_out.0.'],
  [/^blocks\.(\d+)\.mlp\.norm\./, 'transformer.layers.$1.1.norm.'],
  [/^blocks\.(\d+)\.mlp\.fc1\./, 'transformer.layers.$1.1.fn.net.0.'],
  [/^blocks\.(\d+)\.mlp\.fc2\./, 'transformer.layers.$1.1.fn.net.3.'],
  [/^head\.norm\./, 'mlp_head.0.'],
  [/^head\.linear\./, 'mlp_head.1.'],
];

const PYTORCH_NAMES: [RegExp, string][] = [[/^patch_embed\./, 'to_patch_embedding.1.'], ...PRENORM_TRANSFORMER_NAMES];

export const vitPytorch: PytorchModule<VitConfig> = {
  module: "ViT of kentaroy47/vision-transformers-cifar10 (models/vit.py, lucidrains/vit-pytorch's)",
  name(ours) {
    return renameByTable(PYTORCH_NAMES, ours, 'ViT');
  },
  checkExportable(cfg) {
    if (cfg.heads === 1 && cfg.dim_head === cfg.dim) {
      // vit-pytorch then replaces to_out with nn.Identity, which has no weights to load ours into.
      throw new UserError(
        'model.heads = 1 with model.dim_head = model.dim cannot be exported: the PyTorch ViT has no output projection (to_out) for that shape',
      );
    }
  },
};
