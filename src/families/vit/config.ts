import { z } from 'zod';
import { dropRate, positiveInt } from '../../config/key-types.js';

/**
 * The ViT's model keys: the arguments of vit-pytorch's `ViT(...)` as
 * kentaroy47/vision-transformers-cifar10 calls it (models/vit.py), plus stochastic depth.
 */
export const VitSchema = z
  .strictObject({
    /** The model family; a config without model.name is a ViT. */
    name: z.literal('vit'),
    image_size: positiveInt.default(32),
    patch_size: positiveInt.default(4),
    dim: positiveInt.default(256),
    depth: positiveInt.default(7),
    heads: positiveInt.default(4),
    dim_head: positiveInt.default(64),
    mlp_dim: positiveInt.default(512),
    dropout: dropRate.default(0),
    emb_dropout: dropRate.default(0),
    attn_dropout: dropRate.default(0),
    /** Stochastic depth: the last block's drop probability (linearly increasing from 0). */
    drop_path: dropRate.default(0),
    /** What the head reads: the cls token, or the mean of all tokens. */
    pool: z.enum(['cls', 'mean']).default('cls'),
    num_classes: positiveInt.default(10),
  })
  .superRefine((m, ctx) => {
    if (m.image_size % m.patch_size !== 0) ctx.addIssue({ code: 'custom', path: ['patch_size'], message: 'image_size must be divisible by patch_size' });
  });

export type VitConfig = z.infer<typeof VitSchema>;
