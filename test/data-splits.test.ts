import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classCounts, type Cifar10, type Split } from '../src/data/cifar10.js';
import { holdOut, selectSplits, takeFirst } from '../src/data/splits.js';
import { UserError } from '../src/errors.js';

/** Image i is filled with byte i and labelled i % 10. */
function numberedSplit(count: number): Split {
  const images = new Uint8Array(count * 3072);
  for (let i = 0; i < count; i++) images.fill(i, i * 3072, (i + 1) * 3072);
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count };
}

const firstBytes = (split: Split) => Array.from({ length: split.count }, (_, i) => split.images[i * 3072]);

test('takeFirst keeps the first n images as views of the same memory', () => {
  const split = numberedSplit(10);
  const first = takeFirst(split, 4);
  assert.equal(first.count, 4);
  assert.equal(first.images.length, 4 * 3072);
  assert.deepEqual(firstBytes(first), [0, 1, 2, 3]);
  assert.deepEqual([...first.labels], [0, 1, 2, 3]);
  split.images[3 * 3072] = 99;
  assert.equal(first.images[3 * 3072], 99, 'no copy');
  assert.equal(takeFirst(split, 50).count, 10);
});

test('holdOut moves the last n images to val', () => {
  const { train, val } = holdOut(numberedSplit(10), 3);
  assert.deepEqual(firstBytes(train), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(firstBytes(val), [7, 8, 9]);
  assert.deepEqual([...val.labels], [7, 8, 9]);
  for (const n of [0, 10, 11]) assert.throws(() => holdOut(numberedSplit(10), n), UserError);
});

test('selectSplits applies limit_train, then val_split, and limit_test', () => {
  const data: Cifar10 = { train: numberedSplit(20), test: numberedSplit(8), classes: [] };
  const { train, val, test: testSplit } = selectSplits(data, { limit_train: 12, limit_test: 5, val_split: 2 });
  assert.deepEqual(firstBytes(train), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(val && firstBytes(val), [10, 11]);
  assert.deepEqual(firstBytes(testSplit), [0, 1, 2, 3, 4]);

  const all = selectSplits(data, { limit_train: null, limit_test: null, val_split: 0 });
  assert.equal(all.val, null);
  assert.equal(all.train, data.train);
  assert.equal(all.test, data.test);

  assert.throws(() => selectSplits(data, { limit_train: 5, limit_test: null, val_split: 5 }), /^UserError: data\.val_split: cannot hold out 5 of 5 training images/);
});

test('classCounts counts labels', () => {
  assert.deepEqual(classCounts(numberedSplit(23)), [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]);
});
