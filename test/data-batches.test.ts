import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evalBatches, toTensors, trainBatches, type Batch } from '../src/data/batches.js';
import type { Split } from '../src/data/cifar10.js';
import { CIFAR10_NORMALIZATION, CIFAR10_MEAN, CIFAR10_STD, normalizationTable } from '../src/data/normalize.js';
import { Rng } from '../src/util/rng.js';

/** `count` solid images; image i has every byte 10 + i and label i % 10, so outputs reveal their source. */
function solidSplit(count: number): Split {
  const images = new Uint8Array(count * 3072);
  for (let i = 0; i < count; i++) images.fill(10 + i, i * 3072, (i + 1) * 3072);
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count };
}

/** Which source image each output image came from, read back through the red channel's table. */
function sources(batch: Batch): number[] {
  return Array.from({ length: batch.size }, (_, i) => CIFAR10_NORMALIZATION.indexOf(batch.x[i * 3072 + 32 * 3 * 16 + 16 * 3]) - 10);
}

const noAugment = { cropPadding: 0, flip: false };

test('normalization: (v / 255 - mean) / std per channel', () => {
  const t = CIFAR10_NORMALIZATION;
  assert.ok(Math.abs(t[0] - -1.9894737) < 1e-6); // red 0: -0.4914 / 0.2470
  assert.ok(Math.abs(t[255] - 2.0591093) < 1e-6); // red 255: 0.5086 / 0.2470
  assert.ok(Math.abs(t[256 + 128] - 0.0811531) < 1e-6); // green 128: (128/255 - 0.4822) / 0.2435
  assert.ok(Math.abs(t[512] - -1.7068043) < 1e-6); // blue 0: -0.4465 / 0.2616
  assert.deepEqual([...normalizationTable([0.5, 0, 0], [0.5, 1, 1]).subarray(0, 2)], [-1, Math.fround(-1 + 2 / 255)]);
  assert.deepEqual([CIFAR10_MEAN, CIFAR10_STD], [[0.4914, 0.4822, 0.4465], [0.247, 0.2435, 0.2616]]);
});

test('evaluation batches: in order, unaugmented, last partial batch kept', () => {
  const split = solidSplit(10);
  const batches = [...evalBatches(split, 4)];
  assert.deepEqual(batches.map((b) => b.size), [4, 4, 2]);
  assert.deepEqual(batches.flatMap(sources), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(batches.flatMap((b) => [...b.y]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const last = batches[2];
  assert.equal(last.x.length, 2 * 3072);
  for (let j = 0; j < 3072; j++) assert.equal(last.x[3072 + j], CIFAR10_NORMALIZATION[(j % 3) * 256 + 19]); // image 9: bytes 19
});

test('training batches: a shuffled permutation, labels follow their images, dropLast drops the remainder', () => {
  const split = solidSplit(10);
  const batches = [...trainBatches(split, { batchSize: 4, rng: new Rng(1), ...noAugment })];
  assert.deepEqual(batches.map((b) => b.size), [4, 4, 2]);
  const order = batches.flatMap(sources);
  assert.deepEqual([...order].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(batches.flatMap((b) => [...b.y]), order.map((i) => i % 10));
  const dropped = [...trainBatches(split, { batchSize: 4, rng: new Rng(1), ...noAugment, dropLast: true })];
  assert.deepEqual(dropped.map((b) => b.size), [4, 4]);
});

test('same seed gives the same batches; the next epoch and another seed give other orders', () => {
  const split = solidSplit(50);
  const options = { batchSize: 16, cropPadding: 4, flip: true };
  const rngA = new Rng(7), rngB = new Rng(7);
  const epochA1 = [...trainBatches(split, { ...options, rng: rngA })];
  const epochB1 = [...trainBatches(split, { ...options, rng: rngB })];
  assert.deepEqual(epochA1, epochB1);
  const epochA2 = [...trainBatches(split, { ...options, rng: rngA })];
  assert.notDeepEqual(epochA2.flatMap((b) => [...b.y]), epochA1.flatMap((b) => [...b.y]));
  const other = [...trainBatches(split, { ...options, rng: new Rng(8) })];
  assert.notDeepEqual(other.flatMap((b) => [...b.y]), epochA1.flatMap((b) => [...b.y]));
});

test("the rng's state does not depend on how many batches were consumed", () => {
  const split = solidSplit(30);
  const consumed = new Rng(11), untouched = new Rng(11);
  const all = [...trainBatches(split, { batchSize: 8, rng: consumed, cropPadding: 4, flip: true })];
  trainBatches(split, { batchSize: 8, rng: untouched, cropPadding: 4, flip: true }).next();
  assert.equal(all.length, 4);
  assert.deepEqual(consumed.state(), untouched.state());
});

test('augmentation changes pixels but not labels', () => {
  const split = solidSplit(64);
  const [augmented] = [...trainBatches(split, { batchSize: 64, rng: new Rng(2), cropPadding: 4, flip: true })];
  const [plain] = [...trainBatches(split, { batchSize: 64, rng: new Rng(2), ...noAugment })];
  assert.deepEqual(augmented.y, plain.y);
  // Solid images: a crop shows its zero padding in a corner for most offsets; without cropping never.
  const corners = (b: Batch) => Array.from({ length: b.size }, (_, i) => b.x[i * 3072] === CIFAR10_NORMALIZATION[0]).filter(Boolean).length;
  assert.ok(corners(augmented) > 32, `padded corners ${corners(augmented)}`);
  assert.equal(corners(plain), 0);
});

test('toTensors makes one float32 NHWC tensor and one int32 label tensor', async () => {
  const [batch] = [...evalBatches(solidSplit(3), 3)];
  const { x, y } = toTensors(batch);
  try {
    assert.deepEqual(x.shape, [3, 32, 32, 3]);
    assert.equal(x.dtype, 'float32');
    assert.deepEqual(y.shape, [3]);
    assert.equal(y.dtype, 'int32');
    assert.deepEqual(await y.data(), batch.y);
    assert.deepEqual(await x.data(), batch.x);
  } finally {
    x.dispose();
    y.dispose();
  }
});
