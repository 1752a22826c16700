import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useBackend } from '../src/backend/index.js';
import { mergedPermutation } from '../src/backend/native/kernels.js';
import { nativeOrSkip } from './helpers/native.js';

/**
 * The native Transpose (runs of the last axis copied in place on the wasm heap, split over
 * threads, where the permutation keeps that axis last; wasm's own kernel otherwise) against
 * tfjs's cpu kernel, bit for bit: the einops patterns of the families, axes of size 1, ranks up to
 * 6, int32, empty tensors, and a size that splits over threads.
 */
const CASES: [number[], number[], string][] = [
  [[2, 3, 2, 3, 2, 5], [0, 2, 4, 1, 3, 5], "MobileViT's unfold, 'b (h ph) (w pw) d -> b (ph pw) (h w) d'"],
  [[2, 2, 2, 3, 3, 5], [0, 3, 1, 4, 2, 5], "MobileViT's fold"],
  [[4, 17, 3, 8], [0, 2, 1, 3], "'b n (h d) -> b h n d'"],
  [[4, 3, 17, 8], [0, 2, 1, 3], "'b h n d -> b n (h d)'"],
  [[4, 17, 3, 8], [0, 2, 3, 1], "keys transposed, 'b n (h d) -> b h d n' (wasm's kernel)"],
  [[5, 1, 7, 1, 3], [3, 0, 2, 1, 4], 'size-1 axes: the identity on 105 values'],
  [[16, 16, 16, 48], [0, 2, 1, 3], 'many runs: split over threads'],
  [[3, 0, 4], [1, 0, 2], 'empty'],
];

for (const [shape, perm, what] of CASES) {
  for (const dtype of ['float32', 'int32'] as const) {
    test(`native Transpose equals tfjs's cpu kernel: ${what}, [${shape}] by [${perm}], ${dtype}`, async (t) => {
      if (!nativeOrSkip(t)) return;
      const run = () =>
        tf.tidy(() => {
          const size = tf.util.sizeFromShape(shape);
          const x = tf.tensor(Array.from({ length: size }, (_, i) => (dtype === 'int32' ? i * 7 - 300 : Math.sin(i) * 100)), shape, dtype);
          const y = tf.transpose(x, perm);
          return { shape: y.shape, values: Array.from(y.dataSync()) };
        });
      await useBackend('cpu');
      const expected = run();
      await useBackend('wasm');
      assert.deepEqual(run(), expected);
    });
  }
}

test('mergedPermutation drops axes of size 1 and merges axes that stay neighbours', () => {
  assert.deepEqual(mergedPermutation([2, 3, 2, 3, 2, 5], [0, 2, 4, 1, 3, 5]), { shape: [2, 3, 2, 3, 2, 5], perm: [0, 2, 4, 1, 3, 5] });
  assert.deepEqual(mergedPermutation([4, 3, 17, 8], [0, 2, 1, 3]), { shape: [4, 3, 17, 8], perm: [0, 2, 1, 3] });
  assert.deepEqual(mergedPermutation([4, 1, 17, 8], [0, 2, 1, 3]), { shape: [544], perm: [0] });
  assert.deepEqual(mergedPermutation([2, 3, 4, 5], [2, 3, 0, 1]), { shape: [6, 20], perm: [1, 0] });
  assert.deepEqual(mergedPermutation([1, 1], [1, 0]), { shape: [1], perm: [0] });
});
