import { z } from 'zod';
import { int, positiveInt } from '../../config/key-types.js';
import { CHANNELS } from '../../data/cifar10.js';

const STAGES = 4;
const perStage = <T extends z.ZodType>(t: T) => z.tuple([t, t, t, t]);

/**
 * The Swin Transformer's model keys: the arguments of `SwinTransformer(hidden_dim, layers, heads,
 * num_classes, head_dim, window_size, downscaling_factors, relative_pos_embedding)` in
 * kentaroy47/vision-transformers-cifar10 (models/swin.py, after berniwal/swin-transformer-pytorch).
 * The defaults are train_cifar10.py's `--net swin` call: swin_t(window_size=4,
 * downscaling_factors=(2, 2, 2, 1)) — hidden_dim 96, layers (2, 2, 6, 2), heads (3, 6, 12, 24).
 */
export const SwinSchema = z
  .strictObject({
    name: z.literal('swin'),
    image_size: positiveInt.default(32),
    /** Stage 1's channels; stage s has hidden_dim · 2^(s−1). */
    hidden_dim: positiveInt.default(96),
    /** Blocks per stage, each an even number: regular and shifted-window blocks alternate. */
    layers: perStage(int(0)).default([2, 2, 6, 2]),
    /** Attention heads per stage. */
    heads: perStage(positiveInt).default([3, 6, 12, 24]),
    /** Every head's width, in every stage. */
    head_dim: positiveInt.default(32),
    /** The side of the square windows attention runs within; shifted blocks move them by ⌊window_size / 2⌋. */
    window_size: positiveInt.default(4),
    /** Each stage's patch merging: it joins f × f neighbours into one token (stage 1's is the patch embedding). */
    downscaling_factors: perStage(positiveInt).default([2, 2, 2, 1]),
    /** A learned bias per relative offset within a window ((2·window_size − 1)² per block), or per pair of positions (window_size⁴). */
    relative_pos_embedding: z.boolean().default(true),
    num_classes: positiveInt.default(10),
  })
  .superRefine((m, ctx) => {
    const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    m.layers.forEach((n, s) => n % 2 !== 0 && issue('layers', `stage ${s + 1} has ${n} blocks: each stage needs an even number (regular and shifted blocks come in pairs)`));
    let side = m.image_size;
    for (let s = 0; s < STAGES; s++) {
      const f = m.downscaling_factors[s];
      if (side % f !== 0) return issue('downscaling_factors', `stage ${s + 1} merges ${f}×${f} patches of a ${side}×${side} grid: the factor must divide the side`);
      side /= f;
      if (side % m.window_size !== 0) return issue('window_size', `must divide stage ${s + 1}'s ${side}×${side} grid`);
    }
  });

export type SwinConfig = z.infer<typeof SwinSchema>;

/** One stage's geometry: what patch merging takes in and gives out, and the token grid its blocks see. */
export interface SwinStage {
  /** 0-based; PyTorch's module is `stage${index + 1}`. */
  index: number;
  inChannels: number;
  dim: number;
  factor: number;
  /** The grid's side after merging. */
  side: number;
  layers: number;
  heads: number;
}

/** The four stages: channels 3 → hidden_dim → 2·hidden_dim → 4·hidden_dim → 8·hidden_dim. */
export function swinStages(cfg: SwinConfig): SwinStage[] {
  const stages: SwinStage[] = [];
  let side = cfg.image_size;
  let inChannels = CHANNELS;
  for (let s = 0; s < STAGES; s++) {
    const dim = cfg.hidden_dim * 2 ** s;
    const factor = cfg.downscaling_factors[s];
    side /= factor;
    stages.push({ index: s, inChannels, dim, factor, side, layers: cfg.layers[s], heads: cfg.heads[s] });
    inChannels = dim;
  }
  return stages;
}

/** Block j of a stage shifts its windows when j is odd (each pair is a regular block, then a shifted one). */
export function isShifted(block: number): boolean {
  return block % 2 === 1;
}
