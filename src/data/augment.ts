import type { Rng } from '../util/rng.js';
import { CHANNELS, IMAGE_BYTES, IMAGE_SIZE } from './cifar10.js';

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

/**
 * Writes image `index` of `images` (NHWC uint8), seen through `view` and mapped through `table`
 * (see normalize.ts), to `out` at image slot `slot`. One pass, no allocation: this loop is the
 * whole cost of the input pipeline.
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
