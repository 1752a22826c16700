import type { SafeTensor } from '../../checkpoint/safetensors.js';
import type { PytorchModule } from '../family.js';
import { type SwinConfig, isShifted, swinStages } from './config.js';
import { edgeMask } from './windows.js';

/**
 * Our names → the state_dict keys of kentaroy47/vision-transformers-cifar10's SwinTransformer
 * (models/swin.py, berniwal's): stage s is `stage{s+1}`, its patch merging `patch_partition.linear`;
 * block j is `layers.{⌊j/2⌋}.{j mod 2}` (pairs of regular and shifted SwinBlocks); each sublayer is
 * Residual(PreNorm(dim, fn)), so its norm is `.fn.norm` and its layer `.fn.fn`; FeedForward's
 * Linears are `net.0` and `net.2` (GELU between); `mlp_head` is Sequential(LayerNorm, Linear).
 */
const PYTORCH_NAMES: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/^stages\.(\d+)\.merge\.(.+)$/, (m) => `${stage(m[1])}.patch_partition.linear.${m[2]}`],
  [/^stages\.(\d+)\.blocks\.(\d+)\.attn\.norm\.(.+)$/, (m) => `${block(m)}.attention_block.fn.norm.${m[3]}`],
  [/^stages\.(\d+)\.blocks\.(\d+)\.attn\.qkv\.(.+)$/, (m) => `${block(m)}.attention_block.fn.fn.to_qkv.${m[3]}`],
  [/^stages\.(\d+)\.blocks\.(\d+)\.attn\.pos_embed$/, (m) => `${block(m)}.attention_block.fn.fn.pos_embedding`],
  [/^stages\.(\d+)\.blocks\.(\d+)\.attn\.out\.(.+)$/, (m) => `${block(m)}.attention_block.fn.fn.to_out.${m[3]}`],
  [/^stages\.(\d+)\.blocks\.(\d+)\.mlp\.norm\.(.+)$/, (m) => `${block(m)}.mlp_block.fn.norm.${m[3]}`],
  [/^stages\.(\d+)\.blocks\.(\d+)\.mlp\.fc1\.(.+)$/, (m) => `${block(m)}.mlp_block.fn.fn.net.0.${m[3]}`],
  [/^stages\.(\d+)\.blocks\.(\d+)\.mlp\.fc2\.(.+)$/, (m) => `${block(m)}.mlp_block.fn.fn.net.2.${m[3]}`],
  [/^head\.norm\.(.+)$/, (m) => `mlp_head.0.${m[1]}`],
  [/^head\.linear\.(.+)$/, (m) => `mlp_head.1.${m[1]}`],
];

function stage(index: number | string): string {
  return `stage${Number(index) + 1}`;
}

/** Block j of stage s: `stage{s+1}.layers.{⌊j/2⌋}.{j mod 2}`, from a match of (s, j) or the two numbers. */
function block(m: RegExpMatchArray | [unknown, number, number]): string {
  const j = Number(m[2]);
  return `${stage(m[1] as string)}.layers.${Math.floor(j / 2)}.${j % 2}`;
}

export const swinPytorch: PytorchModule<SwinConfig> = {
  module: "SwinTransformer of kentaroy47/vision-transformers-cifar10 (models/swin.py, berniwal/swin-transformer-pytorch's)",
  name(ours) {
    for (const [pattern, name] of PYTORCH_NAMES) {
      const match = ours.match(pattern);
      if (match) return name(match);
    }
    throw new Error(`no PyTorch name for Swin parameter ${ours}`);
  },
  /** The position-bias table is a table, not a Linear: stored as PyTorch stores it, whatever its rank says. */
  permutation: (ours) => (ours.endsWith('.pos_embed') ? [0, 1] : undefined),
  /**
   * Every shifted block keeps its two masks as Parameters with requires_grad=False, so they are in
   * the state_dict; vit builds them from the config (windows.ts). (relative_indices is a plain
   * attribute, not in the state_dict.)
   */
  constants(cfg): Record<string, SafeTensor> {
    const w = cfg.window_size;
    const masks = { upper_lower_mask: edgeMask(w, 'rows'), left_right_mask: edgeMask(w, 'columns') };
    const constants: Record<string, SafeTensor> = {};
    for (const { index, layers } of swinStages(cfg)) {
      for (let j = 0; j < layers; j++) {
        if (!isShifted(j)) continue;
        const prefix = `${block([null, index, j])}.attention_block.fn.fn`;
        for (const [name, data] of Object.entries(masks)) constants[`${prefix}.${name}`] = { dtype: 'F32', shape: [w * w, w * w], data };
      }
    }
    return constants;
  },
  constructorArgs: (cfg) => ({
    key: 'swin_args',
    args: {
      hidden_dim: cfg.hidden_dim,
      layers: cfg.layers,
      heads: cfg.heads,
      channels: 3,
      num_classes: cfg.num_classes,
      head_dim: cfg.head_dim,
      window_size: cfg.window_size,
      downscaling_factors: cfg.downscaling_factors,
      relative_pos_embedding: cfg.relative_pos_embedding,
    },
  }),
};
