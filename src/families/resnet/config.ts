import { z } from 'zod';
import { positiveInt } from '../../config/key-types.js';

/**
 * The CIFAR ResNet's model keys: the arguments of `ResNet(block, num_blocks, num_classes)` in
 * kentaroy47/vision-transformers-cifar10 (models/resnet.py, kuangliu/pytorch-cifar's): a 3×3 stem
 * without max-pool, four stages of 64, 128, 256, 512 channels (stride 1, 2, 2, 2) of BasicBlocks,
 * global average pooling, a Linear. ResNet18 is num_blocks [2, 2, 2, 2], ResNet34 [3, 4, 6, 3].
 */
export const ResNetSchema = z.strictObject({
  name: z.literal('resnet'),
  /** 32: its final avg_pool2d(out, 4) expects the 4×4 map a 32×32 image leaves after three stride-2 stages. */
  image_size: positiveInt.refine((s) => s === 32, { message: "must be 32 for a resnet (kuangliu's avg_pool2d(out, 4) reads a 4×4 map)" }).default(32),
  /** BasicBlock (two 3×3 convs): the block of ResNet18 and ResNet34. */
  block: z.literal('basic').default('basic'),
  /** Blocks per stage. */
  num_blocks: z.tuple([positiveInt, positiveInt, positiveInt, positiveInt]).default([2, 2, 2, 2]),
  num_classes: positiveInt.default(10),
});

export type ResNetConfig = z.infer<typeof ResNetSchema>;

/** Each stage's output channels and its first block's stride. */
export const STAGES = [
  { planes: 64, stride: 1 },
  { planes: 128, stride: 2 },
  { planes: 256, stride: 2 },
  { planes: 512, stride: 2 },
] as const;

/** The stem's channels (kuangliu's in_planes = 64). */
export const STEM_PLANES = 64;

/** Every BasicBlock of `cfg`: its name, input and output channels, stride, and whether its shortcut is a projection. */
export function basicBlocks(cfg: ResNetConfig): { prefix: string; inPlanes: number; planes: number; stride: number; projection: boolean }[] {
  const blocks = [];
  let inPlanes = STEM_PLANES;
  for (const [s, { planes, stride }] of STAGES.entries()) {
    for (let b = 0; b < cfg.num_blocks[s]; b++) {
      const blockStride = b === 0 ? stride : 1;
      blocks.push({ prefix: `layer${s + 1}.${b}`, inPlanes, planes, stride: blockStride, projection: blockStride !== 1 || inPlanes !== planes });
      inPlanes = planes;
    }
  }
  return blocks;
}

/** "ResNet-18", "ResNet-34", or the blocks per stage. */
export function resNetTitle(cfg: ResNetConfig): string {
  const known: Record<string, number> = { '2,2,2,2': 18, '3,4,6,3': 34 };
  const depth = known[cfg.num_blocks.join()];
  return depth ? `ResNet-${depth}` : `ResNet [${cfg.num_blocks.join(', ')}]`;
}
