import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rgbImage, type RgbImage } from '../src/data/ops/image.js';
import { RANDAUGMENT_OPS, randAugment } from '../src/data/randaugment.js';
import { Rng } from '../src/util/rng.js';

/** A 32x32 image with varied content: a gradient with a bright square, so every op changes it. */
function sample(): RgbImage {
  const pixels = new Uint8Array(32 * 32 * 3);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const bright = y >= 8 && y < 16 && x >= 8 && x < 20;
      pixels.set(bright ? [250, 240, 230] : [4 * x + 20, 3 * y + 30, (5 * x + 7 * y) % 200], (y * 32 + x) * 3);
    }
  }
  return rgbImage(32, 32, pixels);
}

const image32 = rgbImage(32, 32);
const parameters = (m: number) => Object.fromEntries(RANDAUGMENT_OPS.map((op) => [op.name, op.parameter(m, image32)]));

test("the op space is torchvision's, in its order, with its signs", () => {
  assert.deepEqual(
    RANDAUGMENT_OPS.map((op) => `${op.name}${op.signed ? '±' : ''}`),
    ['identity', 'shear_x±', 'shear_y±', 'translate_x±', 'translate_y±', 'rotate±', 'brightness±', 'color±', 'contrast±', 'sharpness±', 'posterize', 'solarize', 'autocontrast', 'equalize'],
  );
});

test("magnitude m maps to each op's parameter as torchvision's 31 bins do", () => {
  const close = (actual: Record<string, number>, expected: Record<string, number>) => {
    for (const [name, value] of Object.entries(expected)) assert.ok(Math.abs(actual[name] - value) < 1e-9, `${name}: ${actual[name]} vs ${value}`);
  };
  // linspace(0, max, 31)[m] = max·m/30; translate's max is 150/331 of 32 pixels = 14.50…
  close(parameters(9), {
    identity: 0, shear_x: 0.09, shear_y: 0.09, translate_x: 4.350453172205438, translate_y: 4.350453172205438, rotate: 9,
    brightness: 0.27, color: 0.27, contrast: 0.27, sharpness: 0.27, posterize: 7, solarize: 178.5, autocontrast: 0, equalize: 0,
  });
  close(parameters(30), { shear_x: 0.3, translate_x: 14.501510574018129, rotate: 30, brightness: 0.9, posterize: 4, solarize: 0 });
  close(parameters(0), { shear_x: 0, rotate: 0, brightness: 0, posterize: 8, solarize: 255 });
  // posterize: 8 − round(m / 7.5).
  assert.deepEqual([3, 4, 11, 12, 18, 19, 26, 27].map((m) => parameters(m).posterize), [8, 7, 7, 6, 6, 5, 5, 4]);
});

test('at magnitude 9 every op but identity changes the sample image, and signed ops differ by sign', () => {
  for (const op of RANDAUGMENT_OPS) {
    const apply = (sign: number) => {
      const out = rgbImage(32, 32);
      op.apply(sample(), out, sign * op.parameter(9, image32));
      return out.pixels;
    };
    if (op.name === 'identity') assert.deepEqual(apply(1), sample().pixels);
    else assert.notDeepEqual(apply(1), sample().pixels, op.name);
    if (op.signed) assert.notDeepEqual(apply(1), apply(-1), op.name);
  }
});

test('translate moves by the truncated whole-pixel parameter: 4 pixels at m=9', () => {
  const translateX = RANDAUGMENT_OPS.find((op) => op.name === 'translate_x')!;
  const out = rgbImage(32, 32);
  translateX.apply(sample(), out, -translateX.parameter(9, image32)); // −4.35 → 4 pixels left
  assert.deepEqual(out.pixels.subarray(0, 3), sample().pixels.subarray(12, 15));
  assert.deepEqual([...out.pixels.subarray(28 * 3, 32 * 3)], new Array(12).fill(0));
});

test('randAugment draws an op index, then a sign for signed ops, n times, from the rng', () => {
  for (let seed = 0; seed < 40; seed++) {
    const image = sample(), scratch = rgbImage(32, 32);
    randAugment(image, scratch, { n: 2, m: 9 }, new Rng(seed));

    // The same draws, replayed by hand.
    const rng = new Rng(seed);
    let expected = sample();
    for (let i = 0; i < 2; i++) {
      const op = RANDAUGMENT_OPS[rng.int(RANDAUGMENT_OPS.length)];
      const sign = op.signed && rng.int(2) === 1 ? -1 : 1;
      const out = rgbImage(32, 32);
      op.apply(expected, out, sign * op.parameter(9, expected));
      expected = out;
    }
    assert.deepEqual(image.pixels, expected.pixels, `seed ${seed}`);
  }
});

test('the same seed gives the same image, other seeds other images', () => {
  const augmented = (seed: number) => {
    const image = sample();
    randAugment(image, rgbImage(32, 32), { n: 2, m: 9 }, new Rng(seed));
    return image.pixels;
  };
  assert.deepEqual(augmented(1), augmented(1));
  const distinct = new Set(Array.from({ length: 20 }, (_, seed) => augmented(seed).join(',')));
  assert.ok(distinct.size >= 15, `${distinct.size} distinct images from 20 seeds`);
});
