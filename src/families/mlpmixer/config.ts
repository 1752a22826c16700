import { z } from 'zod';
import { dropRate, positiveInt } from '../../config/key-types.js';
import { CHANNELS } from '../../data/cifar10.js';

/**
 * MLP-Mixer's model keys: the arguments of `MLPMixer(image_size, channels, patch_size, dim,
 * depth, num_classes, expansion_factor, expansion_factor_token, dropout)` in
 * kentaroy47/vision-transformers-cifar10 (models/mlpmixer.py, lucidrains/mlp-mixer-pytorch's).
 * The defaults are that repository's train_cifar10.py call,
 * MLPMixer(image_size=32, channels=3, patch_size=4, dim=512, depth=6, num_classes=10).
 */
export const MlpMixerSchema = z
  .strictObject({
    name: z.literal('mlpmixer'),
    image_size: positiveInt.default(32),
    /** Input channels: CIFAR-10's RGB, so 3 (a key so that a preset can be that code's call word for word). */
    channels: z.literal(CHANNELS).default(CHANNELS),
    patch_size: positiveInt.default(4),
    /** Every token's width (the patch embedding's output). */
    dim: positiveInt.default(512),
    /** Mixer blocks: token mixing, then channel mixing. */
    depth: positiveInt.default(6),
    num_classes: positiveInt.default(10),
    /** The token-mixing MLP's hidden width over the number of patches (that code's name for it). */
    expansion_factor: z.number().positive().default(4),
    /** The channel-mixing MLP's hidden width over `dim` (that code's name for it). */
    expansion_factor_token: z.number().positive().default(0.5),
    /** Dropout after each MLP's GELU and after its second layer, in both mixings. */
    dropout: dropRate.default(0),
  })
  .superRefine((m, ctx) => {
    if (m.image_size % m.patch_size !== 0) ctx.addIssue({ code: 'custom', path: ['patch_size'], message: 'image_size must be divisible by patch_size' });
    const patches = (m.image_size / m.patch_size) ** 2;
    if (Math.trunc(patches * m.expansion_factor) < 1) ctx.addIssue({ code: 'custom', path: ['expansion_factor'], message: `the token-mixing MLP would have no hidden unit (int(${patches} patches × expansion_factor) = 0)` });
    if (Math.trunc(m.dim * m.expansion_factor_token) < 1) ctx.addIssue({ code: 'custom', path: ['expansion_factor_token'], message: `the channel-mixing MLP would have no hidden unit (int(dim × expansion_factor_token) = 0)` });
  });

export type MlpMixerConfig = z.infer<typeof MlpMixerSchema>;

/** The number of patches, the token axis that token mixing mixes along. */
export function numPatches(cfg: MlpMixerConfig): number {
  return (cfg.image_size / cfg.patch_size) ** 2;
}

/** A flattened patch's length, p·p·3. */
export function patchDim(cfg: MlpMixerConfig): number {
  return cfg.patch_size * cfg.patch_size * CHANNELS;
}

/** The hidden widths of the two MLPs, Python's int(x · factor) as that code computes them. */
export function hiddenWidths(cfg: MlpMixerConfig): { token: number; channel: number } {
  return { token: Math.trunc(numPatches(cfg) * cfg.expansion_factor), channel: Math.trunc(cfg.dim * cfg.expansion_factor_token) };
}
