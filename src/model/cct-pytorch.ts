import * as tf from '@tensorflow/tfjs';
import type { SafeTensor } from '../checkpoint/safetensors.js';
import type { CctConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import { sinusoidalEmbedding } from './cct.js';
import { cctParamShapes, cctTokens } from './cct-params.js';
import { permuted } from './layout.js';

/**
 * Our CCT parameter names → the `state_dict` keys of SHI-Labs' `CCT` module
 * (src/cct.py, src/utils/tokenizer.py, src/utils/transformers.py): the tokenizer's conv layers are
 * nn.Sequential(Conv2d, ReLU, MaxPool2d), so the conv is `.0`; the encoder lives in `classifier`.
 */
const CCT_PYTORCH_NAMES: [RegExp, string][] = [
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

/** Conv [kh, kw, in, out] → PyTorch's [out, in, kh, kw]; Linear [in, out] → [out, in]. */
export const CONV_TO_PYTORCH = [3, 2, 0, 1];
export const LINEAR_TO_PYTORCH = [1, 0];

export function cctPytorchName(name: string): string {
  for (const [pattern, replacement] of CCT_PYTORCH_NAMES) {
    if (pattern.test(name)) return name.replace(pattern, replacement);
  }
  throw new Error(`no PyTorch name for CCT parameter ${name}`);
}

/** How our tensor `name` of rank `rank` is laid out in PyTorch (null: the same). */
export function pytorchPermutation(rank: number): number[] | null {
  return rank === 4 ? CONV_TO_PYTORCH : rank === 2 ? LINEAR_TO_PYTORCH : null;
}

/**
 * The frozen tensors PyTorch's state_dict holds beyond our parameters: with sinusoidal positions,
 * SHI-Labs keep the table as a Parameter with requires_grad=False, so it is in the state_dict.
 */
export function cctFrozenTensors(cfg: CctConfig): Record<string, SafeTensor> {
  if (cfg.positional_embedding !== 'sine') return {};
  const table = tf.tidy(() => sinusoidalEmbedding(cctTokens(cfg), cfg.dim).dataSync() as Float32Array);
  return { 'classifier.positional_emb': { dtype: 'F32', shape: [1, cctTokens(cfg), cfg.dim], data: table } };
}

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

/**
 * Our CCT weights as SHI-Labs' state_dict (PyTorch names and layouts) with metadata `cct_args`
 * (the constructor's arguments) and `model_config` (ours), so the file alone rebuilds the model.
 */
export function cctToPytorch(weights: Record<string, SafeTensor>, cfg: CctConfig): { stateDict: Record<string, SafeTensor>; metadata: Record<string, string> } {
  if (cfg.conv_channels !== 64 && cfg.conv_layers > 1) {
    // SHI-Labs' CCT constructor fixes in_planes (the channels between conv layers) at 64.
    throw new UserError('model.conv_channels must be 64 for export: SHI-Labs\' CCT has no argument for it');
  }
  const stateDict: Record<string, SafeTensor> = { ...cctFrozenTensors(cfg) };
  for (const name of Object.keys(cctParamShapes(cfg))) {
    const perm = pytorchPermutation(weights[name].shape.length);
    stateDict[cctPytorchName(name)] = perm ? permuted(weights[name], perm) : weights[name];
  }
  return { stateDict, metadata: { format: 'pt', cct_args: JSON.stringify(cctArgs(cfg)), model_config: JSON.stringify(cfg) } };
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
