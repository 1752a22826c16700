import { z } from 'zod';
import { dropRate, positiveInt } from '../../config/key-types.js';

/**
 * The keys of "ViT for small-size datasets" (Lee, Lee & Song 2021): the arguments of `ViT(...)` in
 * kentaroy47/vision-transformers-cifar10's models/vit_small.py (lucidrains/vit-pytorch's
 * vit_for_small_dataset.py). The defaults are train_cifar10.py's `--net vit_small` call with its
 * defaults (size 32, patch 4, dimhead 512); dim_head is the constructor's own default, 64.
 */
export const VitSmallSchema = z
  .strictObject({
    name: z.literal('vit_small'),
    image_size: positiveInt.default(32),
    patch_size: positiveInt.default(4),
    dim: positiveInt.default(512),
    depth: positiveInt.default(6),
    heads: positiveInt.default(8),
    dim_head: positiveInt.default(64),
    mlp_dim: positiveInt.default(512),
    dropout: dropRate.default(0.1),
    emb_dropout: dropRate.default(0.1),
    /** What the head reads: the cls token, or the mean of all tokens. */
    pool: z.enum(['cls', 'mean']).default('cls'),
    num_classes: positiveInt.default(10),
  })
  .superRefine((m, ctx) => {
    if (m.image_size % m.patch_size !== 0) ctx.addIssue({ code: 'custom', path: ['patch_size'], message: 'image_size must be divisible by patch_size' });
  });

export type VitSmallConfig = z.infer<typeof VitSmallSchema>;
