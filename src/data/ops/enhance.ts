import type { RgbImage } from './image.js';

/**
 * PIL's ImageEnhance: each enhancer blends the image with a "degenerate" version of it,
 * out = degenerate + factor · (image − degenerate), so factor 1 is the image, 0 the degenerate
 * image, and factors above 1 extrapolate away from it. Each op below writes its degenerate image
 * into `dst`, then blends `src` into it.
 */

/** Degenerate image: black. */
export function brightness(src: RgbImage, dst: RgbImage, factor: number): void {
  dst.pixels.fill(0);
  blendInto(dst, src, factor);
}

/** Degenerate image: the image in grey (saturation). */
export function color(src: RgbImage, dst: RgbImage, factor: number): void {
  const from = src.pixels, to = dst.pixels;
  for (let i = 0; i < from.length; i += 3) to[i] = to[i + 1] = to[i + 2] = luma(from[i], from[i + 1], from[i + 2]);
  blendInto(dst, src, factor);
}

/** Degenerate image: solid grey at the image's mean luma, rounded. */
export function contrast(src: RgbImage, dst: RgbImage, factor: number): void {
  const from = src.pixels;
  let total = 0;
  for (let i = 0; i < from.length; i += 3) total += luma(from[i], from[i + 1], from[i + 2]);
  dst.pixels.fill(Math.floor(total / (from.length / 3) + 0.5));
  blendInto(dst, src, factor);
}

/** Degenerate image: the image smoothed (ImageFilter.SMOOTH). */
export function sharpness(src: RgbImage, dst: RgbImage, factor: number): void {
  smooth(src, dst);
  blendInto(dst, src, factor);
}

/**
 * ImageFilter.SMOOTH: the 3x3 kernel [1 1 1; 1 5 1; 1 1 1] / 13, rounded to the nearest integer,
 * with the one-pixel border copied unchanged (so sharpness never changes the border). PIL sums in
 * float32; the exact sum / 13 is never within 1/26 of a rounding boundary, so rounding the exact
 * value gives the same bytes.
 */
function smooth(src: RgbImage, dst: RgbImage): void {
  const { pixels: from, width, height } = src;
  const to = dst.pixels;
  const row = width * 3;
  to.set(from);
  for (let y = 1; y < height - 1; y++) {
    for (let i = y * row + 3; i < (y + 1) * row - 3; i++) {
      const ring = from[i - row - 3] + from[i - row] + from[i - row + 3] + from[i - 3] + from[i + 3] + from[i + row - 3] + from[i + row] + from[i + row + 3];
      to[i] = Math.round((ring + 5 * from[i]) / 13);
    }
  }
}

/**
 * Image.blend(degenerate, image, factor), written over `degenerate`, with PIL's arithmetic: float32
 * (the C code's type), clipped to 0-255, then truncated.
 */
function blendInto(degenerate: RgbImage, image: RgbImage, factor: number): void {
  const alpha = Math.fround(factor);
  const out = degenerate.pixels, from = image.pixels;
  for (let i = 0; i < out.length; i++) {
    const value = Math.fround(out[i] + Math.fround(alpha * (from[i] - out[i])));
    out[i] = value <= 0 ? 0 : value >= 255 ? 255 : Math.trunc(value);
  }
}

/** PIL's RGB → L conversion: ITU-R 601-2 luma in 16-bit fixed point, rounded. */
function luma(red: number, green: number, blue: number): number {
  return (red * 19595 + green * 38470 + blue * 7471 + 0x8000) >> 16;
}
