import { z } from 'zod';
import { dropRate, int, positiveInt } from '../../config/key-types.js';
import { convOutputSize } from '../../layers/conv.js';

/**
 * The CCT's model keys: SHI-Labs' `CCT(...)` arguments (src/cct.py) under our names, its
 * tokenizer's among them, and airbench's patch-whitening initialisation.
 */
export const CctSchema = z
  .strictObject({
    name: z.literal('cct'),
    image_size: positiveInt.default(32),
    dim: positiveInt.default(256),
    depth: positiveInt.default(7),
    heads: positiveInt.default(4),
    /** Must be dim / heads (filled in when omitted). */
    dim_head: positiveInt,
    /** Must be dim × mlp_ratio (filled in when omitted). */
    mlp_dim: positiveInt,
    /** MLP width = dim × mlp_ratio. */
    mlp_ratio: z.number().positive().default(2),
    dropout: dropRate.default(0),
    attn_dropout: dropRate.default(0),
    /** Stochastic depth: the last block's drop probability (linearly increasing from 0). */
    drop_path: dropRate.default(0),
    num_classes: positiveInt.default(10),
    /** Conv layers in the tokenizer, each Conv (no bias) → ReLU → MaxPool. */
    conv_layers: positiveInt.default(1),
    /** Channels between conv layers (SHI-Labs' in_planes); the last layer outputs dim. */
    conv_channels: positiveInt.default(64),
    conv_kernel: positiveInt.default(3),
    conv_stride: positiveInt.default(1),
    conv_padding: int(0).default(1),
    pool_kernel: positiveInt.default(3),
    pool_stride: positiveInt.default(2),
    pool_padding: int(0).default(1),
    positional_embedding: z.enum(['learnable', 'sine', 'none']).default('learnable'),
    /**
     * Absent or null: off. airbench's patch-whitening initialisation of the first tokenizer conv.
     * The k×k×3 patches of `images` training images (a seeded sample, never the validation split)
     * give the filters v / √(λ + eps) of their second moment's eigenvectors v and eigenvalues λ,
     * with their negatives, largest λ first: 2·k·k·3 channels (54 for k = 3), or as many pairs as
     * fit; further channels keep the normal init. `frozen`: never trained (nor decayed), as
     * airbench's; false: trained from there on.
     */
    whiten_init: z
      .strictObject({
        frozen: z.boolean().default(true),
        eps: z.number().positive().default(5e-4),
        images: positiveInt.default(5000),
      })
      .nullable()
      .optional(),
  })
  .superRefine((m, ctx) => {
    const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    if (m.dim % m.heads !== 0) issue('heads', `must divide dim (${m.dim})`);
    else if (m.dim_head !== m.dim / m.heads) issue('dim_head', `must be dim / heads (${m.dim / m.heads}) for a cct`);
    if (m.mlp_dim !== Math.round(m.dim * m.mlp_ratio)) issue('mlp_dim', `must be dim × mlp_ratio (${Math.round(m.dim * m.mlp_ratio)}) for a cct`);
    if (cctGridSide(m) < 1) issue('conv_layers', `leave no tokens of a ${m.image_size}x${m.image_size} image`);
    if (m.pool_padding > m.pool_kernel / 2) issue('pool_padding', "must be at most half of pool_kernel (as PyTorch's MaxPool2d)");
  });

export type CctConfig = z.infer<typeof CctSchema>;

/**
 * Keys a CCT config of vit 0.3 and earlier held at the ViT's defaults (one schema served both
 * families then): taken and dropped at those values, refused at any other.
 */
const VIT_ONLY_DEFAULTS: Record<string, unknown> = { patch_size: 4, pool: 'cls', emb_dropout: 0 };

/** Fills dim_head = dim / heads and mlp_dim = dim × mlp_ratio where omitted. */
export function prepareCct(raw: Record<string, unknown>, issue: (key: string, message: string) => void): Record<string, unknown> {
  const m = { ...raw };
  for (const [key, value] of Object.entries(VIT_ONLY_DEFAULTS)) {
    if (!(key in m)) continue;
    if (m[key] !== value) issue(key, "does not apply to model.name 'cct' (remove it)");
    else delete m[key];
  }
  const dim = typeof m.dim === 'number' ? m.dim : 256;
  const heads = typeof m.heads === 'number' ? m.heads : 4;
  const ratio = typeof m.mlp_ratio === 'number' ? m.mlp_ratio : 2;
  if (m.dim_head === undefined && dim % heads !== 0) issue('heads', `must divide dim (${dim})`);
  if (m.dim_head === undefined) m.dim_head = dim / heads;
  if (m.mlp_dim === undefined) m.mlp_dim = Math.round(dim * ratio);
  return m;
}

/**
 * The side of the CCT's token grid: each tokenizer layer is a conv then a max-pool, each mapping
 * a side to convOutputSize of it.
 */
export function cctGridSide(m: Pick<CctConfig, 'image_size' | 'conv_layers' | 'conv_kernel' | 'conv_stride' | 'conv_padding' | 'pool_kernel' | 'pool_stride' | 'pool_padding'>): number {
  let side = m.image_size;
  for (let i = 0; i < m.conv_layers; i++) {
    side = convOutputSize(convOutputSize(side, m.conv_kernel, m.conv_stride, m.conv_padding), m.pool_kernel, m.pool_stride, m.pool_padding);
  }
  return side;
}
