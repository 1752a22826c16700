import { z } from 'zod';
import { positiveInt } from '../../config/key-types.js';

/**
 * MobileViT's model keys: the arguments of `MobileViT(image_size, dims, channels, num_classes,
 * expansion, kernel_size, patch_size)` in kentaroy47/vision-transformers-cifar10
 * (models/mobilevit.py, after Mehta & Rastegari's "MobileViT"), image_size and patch_size square.
 * The defaults are train_cifar10.py's `--net mobilevit` call, mobilevit_xxs(size, 10):
 * dims [64, 80, 96], channels [16, 16, 24, 24, 48, 48, 64, 64, 80, 80, 320], expansion 2, at
 * --size 64 (at its default 32 that code fails: its last MobileViT block sees a 1×1 map).
 */
export const MobileVitSchema = z
  .strictObject({
    name: z.literal('mobilevit'),
    /** The input side; the images are resized to it (data.resize, which must equal it). */
    image_size: positiveInt.default(64),
    /** Each MobileViT block's token width (the transformer's dim). */
    dims: z.tuple([positiveInt, positiveInt, positiveInt]).default([64, 80, 96]),
    /** The stem's, the MV2 blocks' and the head conv's channels, as mobilevit.py indexes them. */
    channels: z.array(positiveInt).length(11).default([16, 16, 24, 24, 48, 48, 64, 64, 80, 80, 320]),
    num_classes: positiveInt.default(10),
    /** The MV2 blocks' hidden width over their input's (int(in · expansion)); 1: no expanding conv. */
    expansion: z.number().positive().default(2),
    /** The MobileViT blocks' local and fusion convs: 3 (mobilevit.py pads them by 1, so only 3 keeps the map's size). */
    kernel_size: z.literal(3, { message: "must be 3 (mobilevit.py's conv_nxn_bn pads by 1: another kernel changes the map's size)" }).default(3),
    /** The side of the patches the transformers see (mobilevit.py's (ph, pw), square). */
    patch_size: positiveInt.default(2),
  })
  .superRefine((m, ctx) => {
    const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    const last = m.image_size / 32;
    if (m.image_size % 32 !== 0) {
      issue('image_size', `must be a multiple of 32 for a mobilevit (five stride-2 stages, and AvgPool2d(image_size // 32) must cover the final map), got ${m.image_size}`);
    } else if (last % m.patch_size !== 0) {
      const fix = 32 * m.patch_size;
      issue('image_size', `${m.image_size} leaves the last MobileViT block a ${last}x${last} map, which patch_size ${m.patch_size} does not divide (mobilevit.py fails there): set model.image_size and data.resize to ${fix}`);
    }
    const c = m.channels;
    // mobilevit.py feeds each of these layers the previous one's output, built for this many channels.
    for (const [got, built, who] of [[3, 2, 'mv2[3]'], [4, 5, 'mvit[0]'], [6, 7, 'mv2[5]'], [8, 9, 'mvit[2] and conv2']] as const) {
      if (c[got] !== c[built]) issue('channels', `channels[${built}] (${c[built]}) must equal channels[${got}] (${c[got]}): mobilevit.py builds ${who} for channels[${built}] inputs and feeds it channels[${got}]`);
    }
    for (const [i, block] of mv2Blocks(m).entries()) {
      if (block.hidden < 1) issue('expansion', `leaves mv2[${i}] no hidden channels (int(${block.inp} · ${m.expansion}) = 0)`);
    }
  });

export type MobileVitConfig = z.infer<typeof MobileVitSchema>;

/** Each MobileViT block's transformer: depth (mobilevit.py's L), heads and head width (fixed there), MLP width over dim. */
export const TRANSFORMER = { depths: [2, 4, 3], heads: 4, dimHead: 8, mlpRatios: [2, 4, 4] } as const;

/** What the family's parts need of its config. */
type Shape = Pick<MobileVitConfig, 'image_size' | 'dims' | 'channels' | 'expansion' | 'patch_size'>;

export interface Mv2Block {
  prefix: string;
  inp: number;
  out: number;
  stride: number;
  /** int(inp · expansion). */
  hidden: number;
  /** A 1×1 expanding conv first (absent when expansion is 1). */
  expand: boolean;
  /** x + block(x): stride 1 and as many channels out as in. */
  residual: boolean;
  /** The side of its input map. */
  side: number;
}

/**
 * The seven MV2 blocks (MobileNetV2's inverted residuals) in mobilevit.py's order: in and out
 * channels and stride as its constructor wires them (the 4th takes channels[2] in, equal to
 * channels[3]), with the side of the map each reads (the stem halves the image).
 */
export function mv2Blocks(cfg: Shape): Mv2Block[] {
  const c = cfg.channels;
  const wiring: [number, number, number][] = [[c[0], c[1], 1], [c[1], c[2], 2], [c[2], c[3], 1], [c[2], c[3], 1], [c[3], c[4], 2], [c[5], c[6], 2], [c[7], c[8], 2]];
  let side = Math.ceil(cfg.image_size / 2);
  return wiring.map(([inp, out, stride], i) => {
    const block = { prefix: `mv2.${i}`, inp, out, stride, hidden: Math.trunc(inp * cfg.expansion), expand: cfg.expansion !== 1, residual: stride === 1 && inp === out, side };
    side = stride === 2 ? Math.ceil(side / 2) : side;
    return block;
  });
}

export interface MobileVitBlock {
  prefix: string;
  /** Its input's and output's channels. */
  channel: number;
  /** The transformer's token width. */
  dim: number;
  depth: number;
  mlpDim: number;
  /** The side of its map. */
  side: number;
}

/** The three MobileViT blocks, after mv2[4], mv2[5] and mv2[6]: on maps of side image_size / 8, / 16, / 32. */
export function mobileVitBlocks(cfg: Shape): MobileVitBlock[] {
  const mv2 = mv2Blocks(cfg);
  return [4, 5, 6].map((after, i) => ({
    prefix: `mvit.${i}`,
    channel: cfg.channels[5 + 2 * i],
    dim: cfg.dims[i],
    depth: TRANSFORMER.depths[i],
    mlpDim: Math.trunc(cfg.dims[i] * TRANSFORMER.mlpRatios[i]),
    side: Math.ceil(mv2[after].side / 2),
  }));
}
