import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useBackend } from '../src/backend/index.js';
import { nativeOrSkip } from './helpers/native.js';

/**
 * The native Slice and SplitV (parts copied in place on the wasm heap, contiguous runs at a
 * time, split over threads) against tfjs's cpu kernels: every rank up to 5, whole and partial
 * axes, int32, empty parts, and a size that splits over threads.
 */
const SLICES: [number[], number[], number[]][] = [
  [[10], [3], [4]],
  [[128, 65, 16], [0, 0, 0], [128, 1, 16]], // a ViT's cls token
  [[7, 9], [2, 0], [3, 9]], // whole rows: one run
  [[4, 5, 6, 7], [1, 2, 0, 3], [2, 2, 6, 4]],
  [[3, 4, 5, 6, 7], [0, 1, 2, 3, 4], [3, 2, 2, 2, 3]],
  [[600, 300], [5, 7], [500, 200]], // many runs: split over threads
  [[4, 4], [1, 1], [0, 3]], // empty
];

async function onBoth<T>(f: () => T): Promise<[T, T]> {
  await useBackend('cpu');
  const expected = f();
  await useBackend('wasm');
  return [f(), expected];
}

const values = (shape: number[], dtype: 'float32' | 'int32') =>
  tf.tensor(Array.from({ length: tf.util.sizeFromShape(shape) }, (_, i) => (dtype === 'int32' ? i * 7 - 300 : Math.sin(i) * 100)), shape, dtype);

for (const [shape, begin, size] of SLICES) {
  for (const dtype of ['float32', 'int32'] as const) {
    test(`native Slice equals tfjs's cpu kernel: [${shape}] from [${begin}] size [${size}], ${dtype}`, async (t) => {
      if (!nativeOrSkip(t)) return;
      const [actual, expected] = await onBoth(() => tf.tidy(() => tf.slice(values(shape, dtype), begin, size).arraySync()));
      assert.deepEqual(actual, expected);
    });
  }
}

test("native SplitV equals tfjs's cpu kernel, including an empty part, and its gradient (concat's) too", async (t) => {
  if (!nativeOrSkip(t)) return;
  const [actual, expected] = await onBoth(() =>
    tf.tidy(() => {
      const x = values([16, 65, 24], 'float32');
      const parts = tf.split(x, [1, 0, 64], 1).map((p) => p.arraySync());
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.concat([a, b], 1), tf.range(0, 16 * 65 * 24).reshape([16, 65, 24]))))([
        tf.ones([16, 1, 24]),
        tf.ones([16, 64, 24]),
      ]);
      return [parts, grads.map((g) => g.arraySync())];
    }),
  );
  assert.deepEqual(actual, expected);
});
