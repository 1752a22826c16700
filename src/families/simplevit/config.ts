import { z } from 'zod';
import { positiveInt } from '../../config/key-types.js';

/**
 * SimpleViT's model keys: the arguments of lucidrains' `SimpleViT(...)` as
 * kentaroy47/vision-transformers-cifar10 has it (models/simplevit.py), `channels` fixed at 3. The
 * defaults are that repository's `train_cifar10.py --net simplevit` call: SimpleViT(image_size=32,
 * patch_size=4, num_classes=10, dim=512, depth=6, heads=8, mlp_dim=512), dim_head its default 64.
 * It has no dropout of any kind, so there is no dropout key.
 */
export const SimpleVitSchema = z
  .strictObject({
    name: z.literal('simplevit'),
    image_size: positiveInt.default(32),
    patch_size: positiveInt.default(4),
    /** Token width; the 2-D sin-cos positions split it in four (x sin, x cos, y sin, y cos). */
    dim: positiveInt.default(512),
    depth: positiveInt.default(6),
    heads: positiveInt.default(8),
    dim_head: positiveInt.default(64),
    mlp_dim: positiveInt.default(512),
    num_classes: positiveInt.default(10),
  })
  .superRefine((m, ctx) => {
    if (m.image_size % m.patch_size !== 0) ctx.addIssue({ code: 'custom', path: ['patch_size'], message: 'image_size must be divisible by patch_size' });
    // The frequencies are k / (dim/4 − 1), k < dim/4: dim/4 must be a whole number and at least 2.
    if (m.dim % 4 !== 0 || m.dim < 8) ctx.addIssue({ code: 'custom', path: ['dim'], message: 'must be a multiple of 4, at least 8 (the 2-D sin-cos positions)' });
  });

export type SimpleVitConfig = z.infer<typeof SimpleVitSchema>;

/** The side of the patch grid. */
export function gridSide(cfg: SimpleVitConfig): number {
  return cfg.image_size / cfg.patch_size;
}
