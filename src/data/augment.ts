import type { Rng } from '../util/rng.js';
import { CHANNELS, IMAGE_BYTES, IMAGE_SIZE } from './cifar10.js';
import { randomErase, type ErasingOptions } from './erasing.js';
import { affine, type AffineMatrix } from './ops/affine.js';
import { rgbImage } from './ops/image.js';
import { randAugment, type RandAugmentOptions } from './randaugment.js';

/**
 * Where an output image reads from its source: output pixel (y, x) is source pixel
 * (y + dy, x' + dx) with x' = flip ? 31 - x : x, and a pixel outside the source is zero (or, with
 * the 'reflect' edge, the source mirrored at its border). That is torchvision's
 * RandomCrop(32, padding=p) (window offset dy + p, dx + p in the padded image) followed by
 * RandomHorizontalFlip.
 */
export interface View {
  dy: number;
  dx: number;
  flip: boolean;
}

export const IDENTITY: View = { dy: 0, dx: 0, flip: false };

/**
 * What a crop reads outside the image: 'zeros' (torchvision's RandomCrop padding: black) or
 * 'reflect' (PyTorch's reflect padding, airbench's translate: row −1 is row 1, row 32 is row 30).
 */
export type CropEdge = 'zeros' | 'reflect';

/** A source index mirrored into [0, 32) without repeating the edge; one reflection covers padding ≤ 31. */
function reflectIndex(i: number): number {
  return i < 0 ? -i : i >= IMAGE_SIZE ? 2 * (IMAGE_SIZE - 1) - i : i;
}

/** The table (see normalize.ts) that maps every byte to itself. */
const RAW_BYTES = Float32Array.from({ length: 3 * 256 }, (_, i) => i % 256);

/** A random crop offset in [-padding, padding] per axis, and a flip with probability 0.5 when `flip`. */
export function randomView(rng: Rng, padding: number, flip: boolean): View {
  return {
    dy: rng.int(2 * padding + 1) - padding,
    dx: rng.int(2 * padding + 1) - padding,
    flip: flip && rng.next() < 0.5,
  };
}

/**
 * airbench's derandomised flip, for epoch `epoch` (counted from 1) of a split of `count` images:
 * 1 where image i is mirrored. Each image gets one random bit from `rng` (the run's flip stream,
 * the same in every epoch) and is mirrored in epoch 1 when it is set, then in every other epoch, so
 * over any two consecutive epochs every image is seen both ways.
 */
export function alternatingFlips(rng: Rng, count: number, epoch: number): Uint8Array {
  const parity = (epoch - 1) & 1;
  const flips = new Uint8Array(count);
  for (let i = 0; i < count; i++) flips[i] = (rng.next() < 0.5 ? 1 : 0) ^ parity;
  return flips;
}

/** `view` as a PIL affine map (ops/affine.ts): crop and flip are a nearest-neighbour transform too. */
export function viewTransform(view: View): AffineMatrix {
  return view.flip ? [-1, 0, IMAGE_SIZE + view.dx, 0, 1, view.dy] : [1, 0, view.dx, 0, 1, view.dy];
}

export interface ImageAugmentations {
  /** Padding on each side before the random 32x32 crop (0: no cropping). */
  cropPadding: number;
  /** What the padding holds (absent: zeros). */
  cropEdge?: CropEdge;
  /**
   * true: mirror each image left-right with probability 0.5; an array (alternatingFlips): mirror
   * image i when flip[i] is 1.
   */
  flip: boolean | Uint8Array;
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
  const { randAugment: randAugmentOptions, erasing, flip } = options;
  const edge = options.cropEdge ?? 'zeros';
  const pixels = rgbImage(IMAGE_SIZE, IMAGE_SIZE);
  const scratch = rgbImage(IMAGE_SIZE, IMAGE_SIZE);
  const reflected = new Float32Array(IMAGE_BYTES);
  return (index, out, slot) => {
    const view = randomView(rng, options.cropPadding, flip === true);
    if (flip instanceof Uint8Array) view.flip = flip[index] === 1;
    if (randAugmentOptions) {
      if (edge === 'zeros') {
        const source = rgbImage(IMAGE_SIZE, IMAGE_SIZE, images.subarray(index * IMAGE_BYTES, (index + 1) * IMAGE_BYTES));
        affine(source, pixels, viewTransform(view));
      } else {
        // PIL's affine has no reflect fill: the identity table writes the view's raw bytes.
        writeImage(images, index, view, RAW_BYTES, reflected, 0, edge);
        pixels.pixels.set(reflected);
      }
      randAugment(pixels, scratch, randAugmentOptions, rng);
      writeImage(pixels.pixels, 0, IDENTITY, table, out, slot);
    } else {
      writeImage(images, index, view, table, out, slot, edge);
    }
    if (erasing) randomErase(out.subarray(slot * IMAGE_BYTES, (slot + 1) * IMAGE_BYTES), IMAGE_SIZE, IMAGE_SIZE, erasing, rng);
  };
}

/**
 * Writes image `index` of `images` (NHWC uint8), seen through `view` and mapped through `table`
 * (see normalize.ts), to `out` at image slot `slot`; pixels outside the source as `edge` says.
 * One pass, no allocation: without RandAugment this loop is the whole cost of the input pipeline.
 */
export function writeImage(
  images: Uint8Array,
  index: number,
  view: View,
  table: Float32Array,
  out: Float32Array,
  slot: number,
  edge: CropEdge = 'zeros',
): void {
  const reflect = edge === 'reflect';
  const zeroR = table[0], zeroG = table[256], zeroB = table[512];
  const rowBytes = IMAGE_SIZE * CHANNELS;
  // Source column of output column x is firstColumn + x * step.
  const firstColumn = view.flip ? IMAGE_SIZE - 1 + view.dx : view.dx;
  const step = view.flip ? -1 : 1;
  const image = index * IMAGE_BYTES;
  let o = slot * IMAGE_BYTES;
  for (let y = 0; y < IMAGE_SIZE; y++) {
    const sy = reflect ? reflectIndex(y + view.dy) : y + view.dy;
    const rowInside = sy >= 0 && sy < IMAGE_SIZE;
    const row = image + sy * rowBytes;
    for (let x = 0, column = firstColumn; x < IMAGE_SIZE; x++, column += step, o += CHANNELS) {
      const sx = reflect ? reflectIndex(column) : column;
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
