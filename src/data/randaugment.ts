import type { Rng } from '../util/rng.js';
import { rotate, shearX, shearY, translateX, translateY } from './ops/affine.js';
import { brightness, color, contrast, sharpness } from './ops/enhance.js';
import type { RgbImage } from './ops/image.js';
import { autocontrast, equalize, posterize, solarize } from './ops/lut.js';

/**
 * RandAugment (Cubuk et al. 2019) as torchvision's `RandAugment(num_ops=n, magnitude=m)` applies it
 * to a PIL image: `n` ops drawn uniformly with replacement, each at the fixed magnitude `m` out of
 * 30 (num_magnitude_bins 31), signed ops negated with probability ½, nearest-neighbour geometry,
 * black fill.
 */
export interface RandAugmentOptions {
  n: number;
  m: number;
}

const MAX_MAGNITUDE = 30;

export interface RandAugmentOp {
  name: string;
  /** Whether the op's parameter takes a random sign. */
  signed: boolean;
  /** The op's parameter at magnitude `m` (torchvision's `linspace(…, 31)[m]`), before the sign. */
  parameter(m: number, image: RgbImage): number;
  apply(src: RgbImage, dst: RgbImage, parameter: number): void;
}

/** torchvision's op space, in its order (the order decides which op a random index picks). */
export const RANDAUGMENT_OPS: readonly RandAugmentOp[] = [
  { name: 'identity', signed: false, parameter: () => 0, apply: (src, dst) => dst.pixels.set(src.pixels) },
  { name: 'shear_x', signed: true, parameter: (m) => bin(0.3, m), apply: shearX },
  { name: 'shear_y', signed: true, parameter: (m) => bin(0.3, m), apply: shearY },
  // 150/331 of the side: the AutoAugment paper's 150 pixels on 331-pixel images. Whole pixels, as
  // torchvision's int() truncates after the sign.
  { name: 'translate_x', signed: true, parameter: (m, image) => bin((150 / 331) * image.width, m), apply: (src, dst, p) => translateX(src, dst, Math.trunc(p)) },
  { name: 'translate_y', signed: true, parameter: (m, image) => bin((150 / 331) * image.height, m), apply: (src, dst, p) => translateY(src, dst, Math.trunc(p)) },
  { name: 'rotate', signed: true, parameter: (m) => bin(30, m), apply: rotate },
  // The enhancers' parameter is an offset from factor 1 (the unchanged image).
  { name: 'brightness', signed: true, parameter: (m) => bin(0.9, m), apply: (src, dst, p) => brightness(src, dst, 1 + p) },
  { name: 'color', signed: true, parameter: (m) => bin(0.9, m), apply: (src, dst, p) => color(src, dst, 1 + p) },
  { name: 'contrast', signed: true, parameter: (m) => bin(0.9, m), apply: (src, dst, p) => contrast(src, dst, 1 + p) },
  { name: 'sharpness', signed: true, parameter: (m) => bin(0.9, m), apply: (src, dst, p) => sharpness(src, dst, 1 + p) },
  { name: 'posterize', signed: false, parameter: (m) => 8 - Math.round(m / (MAX_MAGNITUDE / 4)), apply: posterize },
  { name: 'solarize', signed: false, parameter: (m) => 255 - bin(255, m), apply: solarize },
  { name: 'autocontrast', signed: false, parameter: () => 0, apply: autocontrast },
  { name: 'equalize', signed: false, parameter: () => 0, apply: equalize },
];

/**
 * Applies RandAugment to `image` in place; `scratch` is a second image of the same size. The draws
 * from `rng` follow torchvision's: an op index, then a sign only for a signed op.
 */
export function randAugment(image: RgbImage, scratch: RgbImage, options: RandAugmentOptions, rng: Rng): void {
  for (let i = 0; i < options.n; i++) {
    const op = RANDAUGMENT_OPS[rng.int(RANDAUGMENT_OPS.length)];
    const sign = op.signed && rng.int(2) === 1 ? -1 : 1;
    op.apply(image, scratch, sign * op.parameter(options.m, image));
    image.pixels.set(scratch.pixels);
  }
}

/** Bin `m` of 0..30 on the range [0, max]. */
function bin(max: number, m: number): number {
  return (max * m) / MAX_MAGNITUDE;
}
