import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { classCounts, loadCifar10, TEST_FILE, type Split } from '../src/data/cifar10.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-synthetic-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Mean R, G, B of image i. */
function meanColour(split: Split, i: number): number[] {
  const sums = [0, 0, 0];
  for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) sums[c] += split.images[i * 3072 + p * 3 + c];
  return sums.map((s) => s / 1024);
}

test('the synthetic dataset loads as CIFAR-10 with balanced classes', async () => {
  const dir = await writeSyntheticCifar10(join(root, 'a'), { perBatch: 20, seed: 1 });
  assert.equal(dir, join(root, 'a', 'cifar-10-batches-bin'));
  const data = await loadCifar10(dir);
  assert.equal(data.train.count, 100);
  assert.equal(data.test.count, 20);
  assert.equal(data.classes.length, 10);
  assert.deepEqual(classCounts(data.train), new Array(10).fill(10));
  assert.deepEqual(classCounts(data.test), new Array(10).fill(2));
});

test('the same seed writes the same bytes, another seed other bytes', async () => {
  const read = async (name: string, seed: number) =>
    readFile(join(await writeSyntheticCifar10(join(root, name), { perBatch: 5, seed }), TEST_FILE));
  assert.deepEqual(await read('s1', 3), await read('s2', 3));
  assert.notDeepEqual(await read('s1', 3), await read('s3', 4));
});

test('its classes are learnable: nearest mean colour classifies every test image', async () => {
  const data = await loadCifar10(await writeSyntheticCifar10(join(root, 'b'), { perBatch: 50, seed: 2 }));
  const centroids = Array.from({ length: 10 }, () => [0, 0, 0]);
  for (let i = 0; i < data.train.count; i++) {
    meanColour(data.train, i).forEach((v, c) => (centroids[data.train.labels[i]][c] += v / 25));
  }
  const distance = (a: number[], b: number[]) => a.reduce((sum, v, c) => sum + (v - b[c]) ** 2, 0);
  for (let i = 0; i < data.test.count; i++) {
    const colour = meanColour(data.test, i);
    const predicted = centroids.reduce((best, centroid, k) => (distance(colour, centroid) < distance(colour, centroids[best]) ? k : best), 0);
    assert.equal(predicted, data.test.labels[i], `test image ${i}`);
  }
});
