import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alternatingFlips, randomView, writeImage, type CropEdge, type View } from '../src/data/augment.js';
import { CIFAR10_NORMALIZATION } from '../src/data/normalize.js';
import { Rng } from '../src/util/rng.js';

/** Maps every byte to itself, so outputs show raw pixel values; padding reads as 0. */
const RAW = Float32Array.from({ length: 3 * 256 }, (_, i) => i % 256);

/** One image whose pixel (y, x) is [1 + 7y, 1 + 7x, 255]: no source pixel is 0, so 0 means padding. */
function coordinateImage(): Uint8Array {
  const image = new Uint8Array(32 * 32 * 3);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) image.set([1 + 7 * y, 1 + 7 * x, 255], (y * 32 + x) * 3);
  }
  return image;
}

function render(view: View, edge: CropEdge = 'zeros'): (y: number, x: number) => number[] {
  const out = new Float32Array(32 * 32 * 3);
  writeImage(coordinateImage(), 0, view, RAW, out, 0, edge);
  return (y, x) => [...out.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3)];
}

const source = (y: number, x: number) => [1 + 7 * y, 1 + 7 * x, 255];
const PAD = [0, 0, 0];

test('the identity view copies the image', () => {
  const pixel = render({ dy: 0, dx: 0, flip: false });
  for (const [y, x] of [[0, 0], [0, 31], [17, 4], [31, 31]]) assert.deepEqual(pixel(y, x), source(y, x));
});

test('a crop shifted by (2, -3) has zero rows at the bottom and zero columns on the left', () => {
  const pixel = render({ dy: 2, dx: -3, flip: false });
  assert.deepEqual(pixel(0, 3), source(2, 0));
  assert.deepEqual(pixel(29, 31), source(31, 28));
  assert.deepEqual(pixel(0, 2), PAD);
  assert.deepEqual(pixel(29, 0), PAD);
  assert.deepEqual(pixel(30, 10), PAD);
  assert.deepEqual(pixel(31, 31), PAD);
  let padded = 0;
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) if (pixel(y, x)[2] === 0) padded++;
  assert.equal(padded, 2 * 32 + 3 * 30); // two whole rows, three columns of the other 30 rows
});

test('a negative vertical shift pads the top rows', () => {
  const pixel = render({ dy: -4, dx: 0, flip: false });
  assert.deepEqual(pixel(3, 5), PAD);
  assert.deepEqual(pixel(4, 5), source(0, 5));
  assert.deepEqual(pixel(31, 5), source(27, 5));
});

test('a flip mirrors the columns, and a shift applies after the flip', () => {
  const flipped = render({ dy: 0, dx: 0, flip: true });
  for (const [y, x] of [[0, 0], [3, 10], [31, 31]]) assert.deepEqual(flipped(y, x), source(y, 31 - x));
  const shifted = render({ dy: 0, dx: 1, flip: true });
  assert.deepEqual(shifted(0, 0), PAD); // would read column 32
  assert.deepEqual(shifted(0, 1), source(0, 31));
  assert.deepEqual(shifted(6, 31), source(6, 1));
});

test('padding becomes the normalized value of a black pixel', () => {
  const out = new Float32Array(32 * 32 * 3);
  writeImage(coordinateImage(), 0, { dy: -1, dx: 0, flip: false }, CIFAR10_NORMALIZATION, out, 0);
  assert.deepEqual([...out.subarray(0, 3)], [CIFAR10_NORMALIZATION[0], CIFAR10_NORMALIZATION[256], CIFAR10_NORMALIZATION[512]]);
});

test('writeImage reads image `index` and writes slot `slot` only', () => {
  const images = new Uint8Array(3 * 3072);
  images.fill(9, 3072, 2 * 3072); // image 1
  const out = new Float32Array(2 * 3072).fill(-1);
  writeImage(images, 1, { dy: 0, dx: 0, flip: false }, RAW, out, 1);
  assert.ok(out.subarray(0, 3072).every((v) => v === -1));
  assert.ok(out.subarray(3072).every((v) => v === 9));
});

test('random views cover every offset in [-p, p] and flip about half the time', () => {
  const rng = new Rng(3);
  const offsets = new Set<number>();
  let flips = 0;
  for (let i = 0; i < 4000; i++) {
    const view = randomView(rng, 4, true);
    offsets.add(view.dy).add(view.dx);
    if (view.flip) flips++;
  }
  assert.deepEqual([...offsets].sort((a, b) => a - b), [-4, -3, -2, -1, 0, 1, 2, 3, 4]);
  assert.ok(flips > 1800 && flips < 2200, `flips ${flips}`);
  for (let i = 0; i < 100; i++) assert.deepEqual(randomView(rng, 0, false), { dy: 0, dx: 0, flip: false });
});

test("the 'reflect' edge mirrors the image at its border without repeating the edge pixel (PyTorch's reflect padding)", () => {
  // Shifted by (2, -3): output (y, x) reads source (y + 2, x - 3); row 32 is row 30, column -1 is column 1.
  const pixel = render({ dy: 2, dx: -3, flip: false }, 'reflect');
  assert.deepEqual(pixel(0, 3), source(2, 0));
  assert.deepEqual(pixel(29, 31), source(31, 28));
  assert.deepEqual(pixel(30, 31), source(30, 28));
  assert.deepEqual(pixel(31, 31), source(29, 28));
  assert.deepEqual(pixel(0, 2), source(2, 1));
  assert.deepEqual(pixel(0, 0), source(2, 3));
  const up = render({ dy: -2, dx: 0, flip: false }, 'reflect');
  assert.deepEqual(up(0, 5), source(2, 5));
  assert.deepEqual(up(1, 5), source(1, 5));
  assert.deepEqual(up(2, 5), source(0, 5));
  // Nothing is padding: every output pixel is some source pixel.
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) assert.notEqual(pixel(y, x)[2], 0);
});

test("with the 'reflect' edge a flip still applies after the shift: output (y, x) reads column reflect(31 − x + dx)", () => {
  const pixel = render({ dy: 0, dx: 1, flip: true }, 'reflect');
  assert.deepEqual(pixel(0, 0), source(0, 30)); // column 32 reflects to 30
  assert.deepEqual(pixel(0, 1), source(0, 31));
  assert.deepEqual(pixel(6, 31), source(6, 1));
  // The zero edge of the same view differs only where the view leaves the image.
  const zeros = render({ dy: 0, dx: 1, flip: true });
  assert.deepEqual(zeros(0, 0), PAD);
  assert.deepEqual(zeros(6, 31), pixel(6, 31));
});

test('alternatingFlips: one seeded bit per image, complemented in every even epoch', () => {
  const first = alternatingFlips(new Rng(8), 1000, 1);
  assert.deepEqual(alternatingFlips(new Rng(8), 1000, 3), first);
  assert.deepEqual(alternatingFlips(new Rng(8), 1000, 2), first.map((f) => 1 - f));
  assert.deepEqual(alternatingFlips(new Rng(8), 1000, 10), first.map((f) => 1 - f));
  const ones = first.reduce((s, f) => s + f, 0);
  assert.ok(ones > 430 && ones < 570, `about half start mirrored: ${ones}`);
  assert.notDeepEqual(alternatingFlips(new Rng(9), 1000, 1), first);
});
