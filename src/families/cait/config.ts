import { z } from 'zod';
import { dropRate, positiveInt } from '../../config/key-types.js';

/**
 * CaiT's model keys: the arguments of `CaiT(...)` in kentaroy47/vision-transformers-cifar10
 * (models/cait.py, lucidrains/vit-pytorch's, after Touvron et al. 2021, "Going deeper with Image
 * Transformers"). The defaults are that repository's train_cifar10.py `--net cait` call (its
 * image size 32, patch 4 and dimhead 512 included).
 */
export const CaitSchema = z
  .strictObject({
    name: z.literal('cait'),
    image_size: positiveInt.default(32),
    patch_size: positiveInt.default(4),
    dim: positiveInt.default(512),
    /** Self-attention blocks over the patches (no cls token among them). */
    depth: positiveInt.default(6),
    /** Class-attention blocks: only the cls token queries, over [cls; patches]. */
    cls_depth: positiveInt.default(2),
    heads: positiveInt.default(8),
    dim_head: positiveInt.default(64),
    mlp_dim: positiveInt.default(512),
    /** Dropout on the attention's output projection and in the MLP. */
    dropout: dropRate.default(0.1),
    /** Dropout on the patch embeddings after the positions are added. */
    emb_dropout: dropRate.default(0.1),
    /** Probability that a training pass skips a whole block (attention and MLP), per block. */
    layer_dropout: dropRate.default(0.05),
    num_classes: positiveInt.default(10),
  })
  .superRefine((m, ctx) => {
    if (m.image_size % m.patch_size !== 0) ctx.addIssue({ code: 'custom', path: ['patch_size'], message: 'image_size must be divisible by patch_size' });
  });

export type CaitConfig = z.infer<typeof CaitSchema>;
