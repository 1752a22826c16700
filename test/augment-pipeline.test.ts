import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { ConfigSchema } from '../src/config/schema.js';
import { IDENTITY, randomView, trainingTransform, viewTransform, writeImage } from '../src/data/augment.js';
import { toTensors, trainAugmentations, trainBatches, type Batch, type TrainBatchOptions } from '../src/data/batches.js';
import type { Split } from '../src/data/cifar10.js';
import { randomErase } from '../src/data/erasing.js';
import { CIFAR10_NORMALIZATION } from '../src/data/normalize.js';
import { affine } from '../src/data/ops/affine.js';
import { rgbImage } from '../src/data/ops/image.js';
import { randAugment } from '../src/data/randaugment.js';
import { Rng } from '../src/util/rng.js';

/** 20 patterned images (every byte differs from its neighbours), labels 3i mod 10. */
function patternSplit(count = 20): Split {
  const images = Uint8Array.from({ length: count * 3072 }, (_, i) => (i * 31 + Math.floor(i / 3072) * 7) % 256);
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => (i * 3) % 10), count };
}

function digest(batches: Iterable<Batch>): string {
  const hash = createHash('sha256');
  for (const b of batches) {
    hash.update(new Uint8Array(b.x.buffer));
    hash.update(new Uint8Array(b.y.buffer));
  }
  return hash.digest('hex');
}

const everything: Omit<TrainBatchOptions, 'batchSize' | 'rng'> = {
  cropPadding: 4,
  flip: true,
  randAugment: { n: 2, m: 9 },
  erasing: { probability: 0.5, mode: 'pixel' },
  mix: { mixupAlpha: 0.8, cutmixAlpha: 1, mixProb: 1, switchProb: 0.5, labelSmoothing: 0.1 },
};

test('with the new augmentations off, batches are byte-identical to the crop/flip pipeline before them', () => {
  // The digest of these batches as the pipeline produced them before RandAugment, mixing and
  // erasing existed (recorded from commit 8ffbab5's code): the fast path must not change.
  const before = '317e44435703db358806dcb8cfcb88c2ac3cd81c7308b9067e65c80eb62f8fa0';
  const options = { batchSize: 8, cropPadding: 4, flip: true };
  assert.equal(digest(trainBatches(patternSplit(), { ...options, rng: new Rng(5) })), before);
  const off = trainAugmentations(ConfigSchema.parse({}).data, 0.1);
  assert.equal(digest(trainBatches(patternSplit(), { ...off, batchSize: 8, rng: new Rng(5) })), before);
});

test("a view's affine map crops and flips exactly as writeImage does", () => {
  const split = patternSplit(1);
  const rng = new Rng(1);
  for (let i = 0; i < 200; i++) {
    const view = randomView(rng, 6, true);
    const viaWriteImage = new Float32Array(3072);
    writeImage(split.images, 0, view, CIFAR10_NORMALIZATION, viaWriteImage, 0);
    const cropped = rgbImage(32, 32);
    affine(rgbImage(32, 32, split.images), cropped, viewTransform(view));
    const viaAffine = new Float32Array(3072);
    writeImage(cropped.pixels, 0, IDENTITY, CIFAR10_NORMALIZATION, viaAffine, 0);
    assert.deepEqual(viaAffine, viaWriteImage, JSON.stringify(view));
  }
});

test('the training transform runs crop/flip, RandAugment, normalization, erasing, in that order, on one stream', () => {
  const split = patternSplit(3);
  const options = { cropPadding: 4, flip: true, randAugment: { n: 2, m: 9 }, erasing: { probability: 1, mode: 'pixel' as const } };
  const out = new Float32Array(2 * 3072);
  const transform = trainingTransform(split.images, CIFAR10_NORMALIZATION, options, new Rng(7));
  transform(2, out, 1);
  transform(0, out, 0);

  const rng = new Rng(7);
  const expected = new Float32Array(2 * 3072);
  for (const [index, slot] of [[2, 1], [0, 0]]) {
    const view = randomView(rng, 4, true);
    const pixels = rgbImage(32, 32);
    affine(rgbImage(32, 32, split.images.subarray(index * 3072, (index + 1) * 3072)), pixels, viewTransform(view));
    randAugment(pixels, rgbImage(32, 32), options.randAugment, rng);
    writeImage(pixels.pixels, 0, IDENTITY, CIFAR10_NORMALIZATION, expected, slot);
    randomErase(expected.subarray(slot * 3072, (slot + 1) * 3072), 32, 32, options.erasing, rng);
  }
  assert.deepEqual(out, expected);
});

test('with everything on: the same seed gives the same batches, labels and order are untouched, targets sum to 1', () => {
  const split = patternSplit();
  const run = (seed: number) => [...trainBatches(split, { ...everything, batchSize: 8, rng: new Rng(seed) })];
  const a = run(3);
  assert.deepEqual(a, run(3));
  assert.notDeepEqual(a.map((b) => b.x), run(4).map((b) => b.x));
  const plain = [...trainBatches(split, { batchSize: 8, cropPadding: 4, flip: true, rng: new Rng(3) })];
  assert.deepEqual(a.map((b) => b.y), plain.map((b) => b.y));
  assert.notDeepEqual(a.map((b) => b.x), plain.map((b) => b.x));
  for (const batch of a) {
    assert.equal(batch.targets?.length, batch.size * 10);
    for (let i = 0; i < batch.size; i++) {
      const sum = batch.targets!.subarray(10 * i, 10 * i + 10).reduce((s, v) => s + v, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5);
    }
  }
  assert.equal(plain[0].targets, undefined);
});

test("with everything on, the rng's state afterwards still does not depend on how many batches were consumed", () => {
  const consumed = new Rng(11), untouched = new Rng(11);
  const all = [...trainBatches(patternSplit(), { ...everything, batchSize: 8, rng: consumed })];
  trainBatches(patternSplit(), { ...everything, batchSize: 8, rng: untouched });
  assert.equal(all.length, 3);
  assert.deepEqual(consumed.state(), untouched.state());
});

test('toTensors adds a float32 [size, 10] targets tensor only for a batch with soft targets', async () => {
  const [mixed] = [...trainBatches(patternSplit(4), { ...everything, batchSize: 4, rng: new Rng(1) })];
  const tensors = toTensors(mixed);
  try {
    assert.deepEqual(tensors.targets?.shape, [4, 10]);
    assert.equal(tensors.targets?.dtype, 'float32');
    assert.deepEqual(await tensors.targets?.data(), mixed.targets);
  } finally {
    tf.dispose(Object.values(tensors));
  }
  const [plain] = [...trainBatches(patternSplit(4), { batchSize: 4, cropPadding: 0, flip: false, rng: new Rng(1) })];
  const plainTensors = toTensors(plain);
  assert.deepEqual(Object.keys(plainTensors), ['x', 'y']);
  tf.dispose(Object.values(plainTensors));
});

test('trainAugmentations turns the data config into batch options, everything new off by default', () => {
  assert.deepEqual(trainAugmentations(ConfigSchema.parse({}).data, 0.1), {
    normalization: CIFAR10_NORMALIZATION,
    cropPadding: 4,
    cropEdge: 'zeros',
    flip: true,
    randAugment: undefined,
    erasing: undefined,
    mix: undefined,
  });
  const data = ConfigSchema.parse({
    data: { crop_padding: 2, flip: false, randaugment: { n: 1, m: 5 }, cutmix_alpha: 1, mix_prob: 0.8, switch_prob: 0.4, random_erasing: 0.25, random_erasing_mode: 'const' },
  }).data;
  assert.deepEqual(trainAugmentations(data, 0.1), {
    normalization: CIFAR10_NORMALIZATION,
    cropPadding: 2,
    cropEdge: 'zeros',
    flip: false,
    randAugment: { n: 1, m: 5 },
    erasing: { probability: 0.25, mode: 'const' },
    mix: { mixupAlpha: 0, cutmixAlpha: 1, mixProb: 0.8, switchProb: 0.4, labelSmoothing: 0.1, classes: 10 },
  });
  assert.ok(trainAugmentations(ConfigSchema.parse({ data: { mixup_alpha: 0.2 } }).data, 0).mix);
  // data.mean / data.std: the table the batches are normalised with.
  const other = trainAugmentations(ConfigSchema.parse({ data: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } }).data, 0).normalization!;
  assert.equal(other[0], -1); // byte 0 of red: (0 − 0.5) / 0.5
  assert.equal(other[255], 1);
});

test("with crop_mode 'reflect', the RandAugment path starts from the same reflected view as writeImage", () => {
  const split = patternSplit(2);
  const options = { cropPadding: 4, cropEdge: 'reflect' as const, flip: true, randAugment: { n: 2, m: 9 } };
  const out = new Float32Array(3072);
  trainingTransform(split.images, CIFAR10_NORMALIZATION, options, new Rng(9))(1, out, 0);

  const rng = new Rng(9);
  const view = randomView(rng, 4, true);
  assert.ok(view.dy !== 0 || view.dx !== 0, 'the view reads outside the image, so the edge matters');
  const raw = new Float32Array(3072);
  writeImage(split.images, 1, view, Float32Array.from({ length: 768 }, (_, i) => i % 256), raw, 0, 'reflect');
  const pixels = rgbImage(32, 32, Uint8Array.from(raw));
  randAugment(pixels, rgbImage(32, 32), options.randAugment, rng);
  const expected = new Float32Array(3072);
  writeImage(pixels.pixels, 0, IDENTITY, CIFAR10_NORMALIZATION, expected, 0);
  assert.deepEqual(out, expected);
});

test("flip_mode 'alternate': every image is mirrored in exactly one of two consecutive epochs, the same way for the same seed", () => {
  const split = patternSplit(16);
  const data = ConfigSchema.parse({ data: { crop_padding: 0, flip_mode: 'alternate' } }).data;
  const view = (j: number, flip: boolean) => {
    const out = new Float32Array(3072);
    writeImage(split.images, j, { dy: 0, dx: 0, flip }, CIFAR10_NORMALIZATION, out, 0);
    return out;
  };
  const [plain, mirrored] = [false, true].map((flip) => [...Array(split.count).keys()].map((j) => view(j, flip)));
  const equal = (a: Float32Array, b: Float32Array) => a.every((v, k) => v === b[k]);
  /** For each image of the split, whether `epoch` showed it mirrored (no crop: each output is one or the other). */
  const mirroredIn = (epoch: number, seed = 4) => {
    const options = trainAugmentations(data, 0, { epoch, count: split.count, flipRng: new Rng(seed) });
    const result: boolean[] = [];
    for (const batch of trainBatches(split, { ...options, batchSize: 5, rng: new Rng(100 + epoch) })) {
      for (let i = 0; i < batch.size; i++) {
        const x = batch.x.subarray(i * 3072, (i + 1) * 3072);
        const index = plain.findIndex((p, k) => result[k] === undefined && (equal(p, x) || equal(mirrored[k], x)));
        assert.ok(index >= 0, 'every output is an image of the split or its mirror');
        result[index] = equal(mirrored[index], x);
      }
    }
    return result;
  };
  const [first, second, third] = [mirroredIn(1), mirroredIn(2), mirroredIn(3)];
  assert.deepEqual(second, first.map((f) => !f), 'epoch 2 mirrors exactly the images epoch 1 did not');
  assert.deepEqual(third, first);
  const count = first.filter(Boolean).length;
  assert.ok(count > 2 && count < 14, `about half the images start mirrored (${count} of 16)`);
  assert.notDeepEqual(mirroredIn(1, 5), first, 'another seed draws other first flips');
  assert.throws(() => trainAugmentations(data, 0), /needs the epoch/);
});
