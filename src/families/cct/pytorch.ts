import type { SafeTensor } from '../../checkpoint/safetensors.js';
import { UserError } from '../../errors.js';
import { type PytorchModule, renameByTable } from '../family.js';
import type { CctConfig } from './config.js';
import { sinusoidalTable } from './model.js';
import { cctTokens } from './params.js';

/**
 * Our CCT parameter names → the `state_dict` keys of SHI-Labs' `CCT` module
 * (src/cct.py, src/utils/tokenizer.py, src/utils/transformers.py): the tokenizer's conv layers are
 * nn.Sequential(Conv2d, ReLU, MaxPool2d), so the conv is `.0`; the encoder lives in `classifier`.
 */
const PYTORCH_NAMES: [RegExp, string][] = [
  [/^tokenizer\.conv\.(\d+)\./, 'tokenizer.conv_layers.$1.0.'],
  [/^pos_embed$/, 'classifier.positional_emb'],
  [/^blocks\.(\d+)\.attn\.norm\./, 'classifier.blocks.$1.pre_norm.'],
  [/^blocks\.(\d+)\.attn\.qkv\./, 'classifier.blocks.$1.self_attn.qkv.'],
  [/^blocks\.(\d+)\.attn\.out\./, 'classifier.blocks.$1.self_attn.proj.'],
  [/^blocks\.(\d+)\.norm1\./, 'classifier.blocks.$1.norm1.'],
  [/^blocks\.(\d+)\.mlp\.fc1\./, 'classifier.blocks.$1.linear1.'],
  [/^blocks\.(\d+)\.mlp\.fc2\./, 'classifier.blocks.$1.linear2.'],
  [/^norm\./, 'classifier.norm.'],
  [/^attention_pool\./, 'classifier.attention_pool.'],
  [/^head\./, 'classifier.fc.'],
];

/** The arguments of SHI-Labs' `CCT(...)` constructor that build this model. */
export function cctArgs(cfg: CctConfig): Record<string, number | string> {
  return {
    img_size: cfg.image_size,
    embedding_dim: cfg.dim,
    n_conv_layers: cfg.conv_layers,
    kernel_size: cfg.conv_kernel,
    stride: cfg.conv_stride,
    padding: cfg.conv_padding,
    pooling_kernel_size: cfg.pool_kernel,
    pooling_stride: cfg.pool_stride,
    pooling_padding: cfg.pool_padding,
    num_layers: cfg.depth,
    num_heads: cfg.heads,
    mlp_ratio: cfg.mlp_ratio,
    num_classes: cfg.num_classes,
    positional_embedding: cfg.positional_embedding,
  };
}

/** The inverse of cctArgs: a `model` config object (to validate with the schema) from SHI-Labs' arguments. */
export function modelFromCctArgs(args: Record<string, unknown>): Record<string, unknown> {
  return {
    name: 'cct',
    image_size: args.img_size,
    dim: args.embedding_dim,
    conv_layers: args.n_conv_layers,
    conv_kernel: args.kernel_size,
    conv_stride: args.stride,
    conv_padding: args.padding,
    pool_kernel: args.pooling_kernel_size,
    pool_stride: args.pooling_stride,
    pool_padding: args.pooling_padding,
    depth: args.num_layers,
    heads: args.num_heads,
    mlp_ratio: args.mlp_ratio,
    num_classes: args.num_classes,
    positional_embedding: args.positional_embedding,
  };
}

export const cctPytorch: PytorchModule<CctConfig> = {
  module: "CCT of SHI-Labs/Compact-Transformers (src/cct.py)",
  name(ours) {
    return renameByTable(PYTORCH_NAMES, ours, 'CCT');
  },
  /** With sinusoidal positions, SHI-Labs keep the table as a Parameter with requires_grad=False, so it is in the state_dict. */
  constants(cfg): Record<string, SafeTensor> {
    if (cfg.positional_embedding !== 'sine') return {};
    const tokens = cctTokens(cfg);
    return { 'classifier.positional_emb': { dtype: 'F32', shape: [1, tokens, cfg.dim], data: sinusoidalTable(tokens, cfg.dim) } };
  },
  constructorArgs: (cfg) => ({ key: 'cct_args', args: cctArgs(cfg) }),
  checkExportable(cfg) {
    if (cfg.conv_channels !== 64 && cfg.conv_layers > 1) {
      // SHI-Labs' CCT constructor fixes in_planes (the channels between conv layers) at 64.
      throw new UserError("model.conv_channels must be 64 for export: SHI-Labs' CCT has no argument for it");
    }
  },
};
