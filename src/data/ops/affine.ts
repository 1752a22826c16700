import type { RgbImage } from './image.js';

/**
 * PIL's `Image.transform(size, AFFINE, [a, b, c, d, e, f], NEAREST)`: output pixel (x, y) copies
 * the input pixel under the point (a·x' + b·y' + c, d·x' + e·y' + f), where (x', y') = (x + ½, y + ½)
 * is the output pixel's centre. The matrix maps output to input: it is the inverse of the motion.
 * A point outside the input gives black, torchvision's RandAugment fill (timm fills with the mean
 * colour, or 128 grey). PIL evaluates the map in 16.16 fixed point; only a point within 2^-16 of a
 * pixel edge can land differently.
 */
export type AffineMatrix = readonly [number, number, number, number, number, number];

export function affine(src: RgbImage, dst: RgbImage, [a, b, c, d, e, f]: AffineMatrix): void {
  const { pixels: from, width, height } = src;
  const to = dst.pixels;
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += 3) {
      const sx = Math.floor(a * (x + 0.5) + b * (y + 0.5) + c);
      const sy = Math.floor(d * (x + 0.5) + e * (y + 0.5) + f);
      if (sx >= 0 && sx < width && sy >= 0 && sy < height) {
        const s = (sy * width + sx) * 3;
        to[o] = from[s];
        to[o + 1] = from[s + 1];
        to[o + 2] = from[s + 2];
      } else {
        to.fill(0, o, o + 3);
      }
    }
  }
}

/** Counter-clockwise by `degrees` about the image centre (Image.rotate, as torchvision's F.rotate calls it). */
export function rotate(src: RgbImage, dst: RgbImage, degrees: number): void {
  const angle = (-degrees * Math.PI) / 180;
  const cos = Math.cos(angle), sin = Math.sin(angle);
  const cx = src.width / 2, cy = src.height / 2;
  affine(src, dst, [cos, sin, cx - cos * cx - sin * cy, -sin, cos, cy + sin * cx - cos * cy]);
}

/**
 * Output pixel (x, y) shows input (x + factor·y, y): torchvision's shear by atan(factor) about the
 * top-left corner, the AutoAugment paper's (1, level, 0, 0, 1, 0).
 */
export function shearX(src: RgbImage, dst: RgbImage, factor: number): void {
  affine(src, dst, [1, factor, 0, 0, 1, 0]);
}

/** Output pixel (x, y) shows input (x, y + factor·x). */
export function shearY(src: RgbImage, dst: RgbImage, factor: number): void {
  affine(src, dst, [1, 0, 0, factor, 1, 0]);
}

/** Moves the image right by `pixels` (a whole number; left when negative). */
export function translateX(src: RgbImage, dst: RgbImage, pixels: number): void {
  affine(src, dst, [1, 0, -pixels, 0, 1, 0]);
}

/** Moves the image down by `pixels` (a whole number; up when negative). */
export function translateY(src: RgbImage, dst: RgbImage, pixels: number): void {
  affine(src, dst, [1, 0, 0, 0, 1, -pixels]);
}
