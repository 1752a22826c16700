import type { Rng } from '../util/rng.js';
import { CHANNELS, IMAGE_BYTES, IMAGE_SIZE } from './cifar10.js';
import { randomErase, type ErasingOptions } from './erasing.js';
import { affine, type AffineMatrix } from './ops/affine.js';
import { rgbImage } from './ops/image.js';
import { randAugment, type RandAugmentOptions } from './randaugment.js';

/**
 * Where an output image reads from its source: output pixel (y, x) is source pixel
 * (y + dy, x' + dx) with x' = flip ? 31 - x : x, and a pixel outside the source is zero.
 * That is torchvision's RandomCrop(32, padding=p) (window offset dy + p, dx + p in the
 * zero-padded image) followed by RandomHorizontalFlip.
 */
export interface View {
  dy: number;
  dx: number;
  flip: boolean;
}

export const IDENTITY: View = { dy: 0, dx: 0, flip: false };

/** A random crop offset in [-padding, padding] per axis, and a flip with probability 0.5 when `flip`. */
export function randomView(rng: Rng, padding: number, flip: boolean): View {
  return {
    dy: rng.int(2 * padding + 1) - padding,
    dx: rng.int(2 * padding + 1) - padding,
    flip: flip && rng.next() < 0.5,
  };
}

/** `view` as a PIL affine map (ops/affine.ts): crop and flip are a nearest-neighbour transform too. */
export function viewTransform(view: View): AffineMatrix {
  return view.flip ? [-1, 0, IMAGE_SIZE + view.dx, 0, 1, view.dy] : [1, 0, view.dx, 0, 1, view.dy];
}

export interface ImageAugmentations {
  /** Zero padding on each side before the random 32x32 crop (0: no cropping). */
  cropPadding: number;
  /** Mirror each image left-right with probability 0.5. */
  flip: boolean;
  /** RandAugment on the uint8 image after crop and flip (absent: off). */
  randAugment?: RandAugmentOptions;
  /** Random erasing on the normalized image (absent: off). */
  erasing?: ErasingOptions;
}

/**
 * The per-image training transform, in torchvision's order: random crop and flip, RandAugment on
 * the uint8 pixels, normalization through `table`, random erasing on the normalized floats. Every
 * draw comes from `rng`, image after image. Without RandAugment, crop, flip and normalization stay
 * the one pass of `writeImage`, so with both off the output is what it was before they existed.
 */
export function trainingTransform(
  images: Uint8Array,
  table: Float32Array,
  options: ImageAugmentations,
  rng: Rng,
): (index: number, out: Float32Array, slot: number) => void {
  const { randAugment: randAugmentOptions, erasing } = options;
  const pixels = rgbImage(IMAGE_SIZE, IMAGE_SIZE);
  const scratch = rgbImage(IMAGE_SIZE, IMAGE_SIZE);
  return (index, out, slot) => {
    const view = randomView(rng, options.cropPadding, options.flip);
    if (randAugmentOptions) {
      const source = rgbImage(IMAGE_SIZE, IMAGE_SIZE, images.subarray(index * IMAGE_BYTES, (index + 1) * IMAGE_BYTES));
      affine(source, pixels, viewTransform(view));
      randAugment(pixels, scratch, randAugmentOptions, rng);
      writeImage(pixels.pixels, 0, IDENTITY, table, out, slot);
    } else {
      writeImage(images, index, view, table, out, slot);
    }
    if (erasing) randomErase(out.subarray(slot * IMAGE_BYTES, (slot + 1) * IMAGE_BYTES), IMAGE_SIZE, IMAGE_SIZE, erasing, rng);
  };
}

/**
 * Writes image `index` of `images` (NHWC uint8), seen through `view` and mapped through `table`
 * (see normalize.ts), to `out` at image slot `slot`. One pass, no allocation: without RandAugment
 * this loop is the whole cost of the input pipeline.
 */
export function writeImage(
  images: Uint8Array,
  index: number,
  view: View,
  table: Float32Array,
  out: Float32Array,
  slot: number,
): void {
  const zeroR = table[0], zeroG = table[256], zeroB = table[512];
  const rowBytes = IMAGE_SIZE * CHANNELS;
  // Source column of output column x is firstColumn + x * step.
  const firstColumn = view.flip ? IMAGE_SIZE - 1 + view.dx : view.dx;
  const step = view.flip ? -1 : 1;
  const image = index * IMAGE_BYTES;
  let o = slot * IMAGE_BYTES;
  for (let y = 0; y < IMAGE_SIZE; y++) {
    const sy = y + view.dy;
    const rowInside = sy >= 0 && sy < IMAGE_SIZE;
    const row = image + sy * rowBytes;
    for (let x = 0, sx = firstColumn; x < IMAGE_SIZE; x++, sx += step, o += CHANNELS) {
      if (rowInside && sx >= 0 && sx < IMAGE_SIZE) {
        const s = row + sx * CHANNELS;
        out[o] = table[images[s]];
        out[o + 1] = table[256 + images[s + 1]];
        out[o + 2] = table[512 + images[s + 2]];
      } else {
        out[o] = zeroR;
        out[o + 1] = zeroG;
        out[o + 2] = zeroB;
      }
    }
  }
}
