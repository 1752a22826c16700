import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraseBox, randomErase } from '../src/data/erasing.js';
import { Rng } from '../src/util/rng.js';

/** A normalized 32x32 image with no zero values, so erased ('const') values stand out. */
const filled = () => new Float32Array(32 * 32 * 3).fill(0.5);

/** The pixels whose three values differ from 0.5, as a bounding box and a count. */
function erased(image: Float32Array): { count: number; top: number; bottom: number; left: number; right: number } {
  let count = 0, top = 32, bottom = 0, left = 32, right = 0;
  for (let p = 0; p < 1024; p++) {
    if (image[3 * p] === 0.5 && image[3 * p + 1] === 0.5 && image[3 * p + 2] === 0.5) continue;
    const y = Math.floor(p / 32), x = p % 32;
    count++;
    top = Math.min(top, y);
    bottom = Math.max(bottom, y + 1);
    left = Math.min(left, x);
    right = Math.max(right, x + 1);
  }
  return { count, top, bottom, left, right };
}

test('boxes: 2% to 1/3 of the image up to rounding, aspect 0.3-3.3, always inside', () => {
  const rng = new Rng(1);
  const shares: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const box = eraseBox(32, 32, rng);
    assert.ok(box !== null);
    const { top, left, height, width } = box;
    assert.ok(top >= 0 && left >= 0 && top + height <= 32 && left + width <= 32 && height < 32 && width < 32);
    // Each side is √(area·aspect) rounded: at most ½ off.
    assert.ok(height >= 1 && width >= 1);
    const share = (height * width) / 1024;
    assert.ok(share >= 0.012 && share <= 0.38, `share ${share} (${height}x${width})`);
    assert.ok(height / width < 4.5 && width / height < 4.5, `aspect ${height}x${width}`);
    shares.push(share);
  }
  assert.ok(Math.min(...shares) < 0.03 && Math.max(...shares) > 0.3, 'the whole area range is used');
});

test("'const' erases one rectangle to 0 with the given probability and leaves the rest", () => {
  const rng = new Rng(2);
  let count = 0;
  for (let i = 0; i < 1000; i++) {
    const image = filled();
    randomErase(image, 32, 32, { probability: 0.4, mode: 'const' }, rng);
    const box = erased(image);
    if (box.count === 0) continue;
    count++;
    assert.equal(box.count, (box.bottom - box.top) * (box.right - box.left), 'a filled rectangle');
    for (let y = box.top; y < box.bottom; y++) {
      for (let x = box.left; x < box.right; x++) assert.deepEqual([...image.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3)], [0, 0, 0]);
    }
  }
  assert.ok(count > 350 && count < 450, `${count} of 1000 erased at probability 0.4`);
});

test("'pixel' fills the rectangle with standard normal noise", () => {
  const rng = new Rng(3);
  const noise: number[] = [];
  for (let i = 0; i < 100; i++) {
    const image = filled();
    randomErase(image, 32, 32, { probability: 1, mode: 'pixel' }, rng);
    const box = erased(image);
    for (let y = box.top; y < box.bottom; y++) noise.push(...image.subarray((y * 32 + box.left) * 3, (y * 32 + box.right) * 3));
    assert.equal(box.count, (box.bottom - box.top) * (box.right - box.left));
  }
  const mean = noise.reduce((a, b) => a + b, 0) / noise.length;
  const variance = noise.reduce((a, b) => a + (b - mean) ** 2, 0) / noise.length;
  assert.ok(noise.length > 10_000);
  assert.ok(Math.abs(mean) < 0.05 && Math.abs(variance - 1) < 0.05, `mean ${mean}, variance ${variance}`);
});

test('probability 0 never erases; the same seed erases the same rectangle', () => {
  const rng = new Rng(4);
  for (let i = 0; i < 100; i++) {
    const image = filled();
    randomErase(image, 32, 32, { probability: 0, mode: 'const' }, rng);
    assert.equal(erased(image).count, 0);
  }
  const once = (seed: number) => {
    const image = filled();
    randomErase(image, 32, 32, { probability: 1, mode: 'pixel' }, new Rng(seed));
    return image;
  };
  assert.deepEqual(once(5), once(5));
  assert.notDeepEqual(once(5), once(6));
});

test('a box that does not fit is drawn again, up to 10 times, then nothing is erased', () => {
  // On a 32x2 image a box needs width ≤ 1, which few draws give.
  const rng = new Rng(7);
  const boxes = Array.from({ length: 200 }, () => eraseBox(32, 2, rng));
  const fitted = boxes.filter((box) => box !== null);
  assert.ok(fitted.length > 0 && fitted.length < 200, `${fitted.length} of 200 fitted`);
  for (const box of fitted) assert.ok(box.width <= 1 && box.height < 32 && box.top + box.height <= 32);
});
