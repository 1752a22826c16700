import assert from 'node:assert/strict';
import { test } from 'node:test';
import { affine, rotate, shearX, shearY, translateX, translateY } from '../src/data/ops/affine.js';
import { brightness, color, contrast, sharpness } from '../src/data/ops/enhance.js';
import { rgbImage, type RgbImage } from '../src/data/ops/image.js';
import { autocontrast, equalize, posterize, solarize } from '../src/data/ops/lut.js';

// Known answers for each RandAugment op, hand-computed from PIL's definitions (cited per test).

/** A `width`x`height` image from its pixels, row by row. */
function image(width: number, height: number, pixels: number[][]): RgbImage {
  assert.equal(pixels.length, width * height);
  return rgbImage(width, height, Uint8Array.from(pixels.flat()));
}

/** A one-row image of one grey pixel per value. */
function greys(values: number[]): RgbImage {
  return image(values.length, 1, values.map((v) => [v, v, v]));
}

/** Runs `op` into a fresh image (filled with 77 so that unwritten pixels would show) and returns its pixels. */
function run(op: (src: RgbImage, dst: RgbImage) => void, src: RgbImage): number[][] {
  const dst = rgbImage(src.width, src.height, new Uint8Array(src.pixels.length).fill(77));
  op(src, dst);
  return Array.from({ length: src.width * src.height }, (_, i) => [...dst.pixels.subarray(3 * i, 3 * i + 3)]);
}

const reds = (pixels: number[][]) => pixels.map((p) => p[0]);

test('solarize inverts values at or above the threshold', () => {
  assert.deepEqual(reds(run((s, d) => solarize(s, d, 128), greys([0, 127, 128, 200, 255]))), [0, 127, 127, 55, 0]);
  // RandAugment m=9: threshold 255 − 255·9/30 = 178.5.
  assert.deepEqual(reds(run((s, d) => solarize(s, d, 178.5), greys([178, 179]))), [178, 76]);
  // m=0: threshold 255 still inverts pure white, as in torchvision.
  assert.deepEqual(reds(run((s, d) => solarize(s, d, 255), greys([254, 255]))), [254, 0]);
});

test('posterize keeps the top bits', () => {
  assert.deepEqual(reds(run((s, d) => posterize(s, d, 4), greys([0x37, 0xff, 0x0f]))), [0x30, 0xf0, 0x00]);
  assert.deepEqual(reds(run((s, d) => posterize(s, d, 7), greys([3, 254, 255]))), [2, 254, 254]);
  assert.deepEqual(reds(run((s, d) => posterize(s, d, 8), greys([3, 255]))), [3, 255]);
});

test('autocontrast stretches each channel to 0-255 on its own and leaves a flat channel alone', () => {
  const src = image(3, 1, [[50, 7, 200], [100, 7, 10], [75, 7, 105]]);
  // PIL's table is int(v·scale + offset), scale = 255 / (hi − lo), offset = −lo·scale, in doubles.
  // Red 50..100: 75 → int(382.49… − 254.99…) = 127, and 100 → int(254.99999999999997) = 254, a
  // PIL quirk we keep. Green is constant. Blue 10..200: 105 → int(127.49…) = 127.
  assert.deepEqual(run(autocontrast, src), [[0, 7, 255], [254, 7, 0], [127, 7, 127]]);
});

test('equalize spreads a histogram over 0-255 in steps of (pixels − top count) / 255', () => {
  // 1,024 pixels: 256 of 10, 512 of 20, 256 of 30. step = (1024 − 256) // 255 = 3; the table is
  // (3 // 2 + pixels below v) // 3: 10 → 0, 20 → 257 // 3 = 85, 30 → 769 // 3 = 256, clipped to 255.
  const values = Array.from({ length: 1024 }, (_, i) => (i < 256 ? 10 : i < 768 ? 20 : 30));
  const out = reds(run(equalize, image(32, 32, values.map((v) => [v, v, v]))));
  assert.deepEqual([out[0], out[256], out[768]], [0, 85, 255]);
  // A two-level image becomes black and white, each channel on its own.
  const twoLevel = image(32, 32, Array.from({ length: 1024 }, (_, i) => (i % 2 ? [60, 180, 5] : [180, 60, 6])));
  assert.deepEqual(run(equalize, twoLevel).slice(0, 2), [[255, 0, 255], [0, 255, 0]]);
  // Too few pixels for one step (8 below the top value): unchanged.
  const small = image(4, 4, Array.from({ length: 16 }, (_, i) => (i < 8 ? [60, 60, 60] : [180, 180, 180])));
  assert.deepEqual(run(equalize, small), Array.from({ length: 16 }, (_, i) => (i < 8 ? [60, 60, 60] : [180, 180, 180])));
});

// ImageEnhance: blend(degenerate, image, f) = degenerate + f·(image − degenerate), clipped, truncated.

test('brightness blends with black', () => {
  assert.deepEqual(reds(run((s, d) => brightness(s, d, 0.5), greys([201, 100, 1]))), [100, 50, 0]);
  assert.deepEqual(reds(run((s, d) => brightness(s, d, 1.5), greys([200, 100, 0]))), [255, 150, 0]);
  assert.deepEqual(reds(run((s, d) => brightness(s, d, 0.73), greys([100, 255]))), [73, 186]);
});

test('color blends with the grey image (PIL luma: (19595 R + 38470 G + 7471 B + 2^15) >> 16)', () => {
  // (255, 0, 0) has luma 76; (100, 50, 0) has luma 59.
  assert.deepEqual(run((s, d) => color(s, d, 0), image(2, 1, [[255, 0, 0], [100, 50, 0]])), [[76, 76, 76], [59, 59, 59]]);
  // Factor 2: 59 + 2·(100 − 59) = 141, 59 + 2·(50 − 59) = 41, 59 − 2·59 < 0 → 0.
  assert.deepEqual(run((s, d) => color(s, d, 2), image(1, 1, [[100, 50, 0]])), [[141, 41, 0]]);
  assert.deepEqual(run((s, d) => color(s, d, 1), image(1, 1, [[100, 50, 0]])), [[100, 50, 0]]);
});

test('contrast blends with solid grey at the rounded mean luma', () => {
  // Mean of 100 and 140 is 120: 120 + 1.5·(100 − 120) = 90, 120 + 1.5·20 = 150.
  assert.deepEqual(reds(run((s, d) => contrast(s, d, 1.5), greys([100, 140]))), [90, 150]);
  // Mean 127.5 rounds up to 128.
  assert.deepEqual(reds(run((s, d) => contrast(s, d, 0), greys([0, 255]))), [128, 128]);
  assert.deepEqual(reds(run((s, d) => contrast(s, d, 2), greys([0, 255]))), [0, 255]);
});

test('sharpness blends with the SMOOTH-filtered image; the border never changes', () => {
  // One bright pixel at (1, 1) of a black 4x4 image. SMOOTH ([1 1 1; 1 5 1; 1 1 1] / 13, rounded)
  // gives 5·13/13 = 5 there and 13/13 = 1 at the other interior pixels (2, 1), (1, 2), (2, 2).
  const pixels = Array.from({ length: 16 }, () => [0, 0, 0]);
  pixels[5] = [13, 13, 13];
  const interior = (out: number[][]) => [out[5][0], out[6][0], out[9][0], out[10][0]];
  const border = (out: number[][]) => reds(out).filter((_, i) => ![5, 6, 9, 10].includes(i));
  const blurred = run((s, d) => sharpness(s, d, 0), image(4, 4, pixels));
  assert.deepEqual(interior(blurred), [5, 1, 1, 1]);
  assert.deepEqual(border(blurred), new Array(12).fill(0));
  // Factor 2 extrapolates away from the blur: 5 + 2·(13 − 5) = 21, 1 + 2·(0 − 1) < 0 → 0.
  assert.deepEqual(interior(run((s, d) => sharpness(s, d, 2), image(4, 4, pixels))), [21, 0, 0, 0]);
  // On a 3x3 image only the centre is interior: 5·130 / 13 = 50.
  const centre = Array.from({ length: 9 }, (_, i) => (i === 4 ? [130, 130, 130] : [0, 0, 0]));
  assert.deepEqual(reds(run((s, d) => sharpness(s, d, 0), image(3, 3, centre))), [0, 0, 0, 0, 50, 0, 0, 0, 0]);
});

// Geometry: nearest neighbour at output pixel centres, black outside the source.

/** A 4x4 image whose pixel (y, x) is [10y + x + 1, y, x]: every pixel distinct, none black. */
const grid = image(4, 4, Array.from({ length: 16 }, (_, i) => [10 * Math.floor(i / 4) + (i % 4) + 1, Math.floor(i / 4), i % 4]));
const at = (y: number, x: number) => (y < 0 || y > 3 || x < 0 || x > 3 ? [0, 0, 0] : [10 * y + x + 1, y, x]);
/** The image whose pixel (y, x) is `source(y, x)`. */
const expected = (source: (y: number, x: number) => number[]) => Array.from({ length: 16 }, (_, i) => source(Math.floor(i / 4), i % 4));

test('rotate turns counter-clockwise about the centre', () => {
  assert.deepEqual(run((s, d) => rotate(s, d, 90), grid), expected((y, x) => at(x, 3 - y)));
  assert.deepEqual(run((s, d) => rotate(s, d, -90), grid), expected((y, x) => at(3 - x, y)));
  assert.deepEqual(run((s, d) => rotate(s, d, 180), grid), expected((y, x) => at(3 - y, 3 - x)));
  assert.deepEqual(run((s, d) => rotate(s, d, 0), grid), expected(at));
});

test('rotate by a small angle moves the corners out and fills them black', () => {
  const out = run((s, d) => rotate(s, d, 30), grid);
  // Output (0, 0)'s centre (0.5, 0.5) maps to (2 − 1.5·cos30 + 1.5·sin30, 2 − 1.5·cos30 − 1.5·sin30)
  // = (1.45, −0.05): outside. The centre pixels stay: (1.5, 1.5) → (1.68, 1.32) = pixel (1, 1).
  assert.deepEqual(out[0], [0, 0, 0]);
  assert.deepEqual(out[5], at(1, 1));
});

test('translate moves by whole pixels and fills with black', () => {
  assert.deepEqual(run((s, d) => translateX(s, d, 2), grid), expected((y, x) => at(y, x - 2)));
  assert.deepEqual(run((s, d) => translateX(s, d, -1), grid), expected((y, x) => at(y, x + 1)));
  assert.deepEqual(run((s, d) => translateY(s, d, -1), grid), expected((y, x) => at(y + 1, x)));
  assert.deepEqual(run((s, d) => translateY(s, d, 4), grid), expected(() => [0, 0, 0]));
});

test('shear x by 0.5: row y reads from x + floor(0.5·(y + ½) + ½) about the top-left corner', () => {
  // Sample points x + ½ + 0.5·(y + ½): rows shift by 0, 1, 1, 2.
  const shift = [0, 1, 1, 2];
  assert.deepEqual(run((s, d) => shearX(s, d, 0.5), grid), expected((y, x) => at(y, x + shift[y])));
});

test('shear y by −0.5: column x reads from y − 0, 1, 1, 2', () => {
  const shift = [0, 1, 1, 2];
  assert.deepEqual(run((s, d) => shearY(s, d, -0.5), grid), expected((y, x) => at(y - shift[x], x)));
});

test('affine takes the inverse map, output pixel centre → source point', () => {
  // A mirror: x_in = 4 − (x + ½) → column 3 − x.
  assert.deepEqual(run((s, d) => affine(s, d, [-1, 0, 4, 0, 1, 0]), grid), expected((y, x) => at(y, 3 - x)));
});
