import { z } from 'zod';
import { positiveInt } from '../../config/key-types.js';

/**
 * ConvMixer's model keys: the arguments of `ConvMixer(dim, depth, kernel_size, patch_size,
 * n_classes)` in kentaroy47/vision-transformers-cifar10 (models/convmixer.py, after Trockman &
 * Kolter's "Patches Are All You Need?"), n_classes as every family's num_classes. The defaults
 * are that repository's train_cifar10.py call: ConvMixer(256, 16, kernel_size=8, patch_size=1).
 */
export const ConvMixerSchema = z
  .strictObject({
    name: z.literal('convmixer'),
    image_size: positiveInt.default(32),
    /** Channels of every layer (the patch embedding's output, each block's width). */
    dim: positiveInt.default(256),
    /** ConvMixer blocks: a residual depthwise conv, then a pointwise conv. */
    depth: positiveInt.default(16),
    /** The depthwise conv's kernel (padding 'same': an even kernel pads one more below and right). */
    kernel_size: positiveInt.default(8),
    /** The patch embedding: a conv with kernel and stride patch_size. */
    patch_size: positiveInt.default(1),
    num_classes: positiveInt.default(10),
  })
  .superRefine((m, ctx) => {
    if (m.patch_size > m.image_size) ctx.addIssue({ code: 'custom', path: ['patch_size'], message: `must be at most image_size (${m.image_size})` });
  });

export type ConvMixerConfig = z.infer<typeof ConvMixerSchema>;

/** The side of the patch grid: PyTorch's Conv2d(kernel = stride = patch_size) output size, ⌊s / p⌋. */
export function gridSide(cfg: ConvMixerConfig): number {
  return Math.floor(cfg.image_size / cfg.patch_size);
}
