import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { useBackend } from '../src/backend/index.js';
import { silu } from '../src/layers/silu.js';
import { nativeOrSkip } from './helpers/native.js';

/**
 * The native SiLU kernels (forward and gradient, split over cores) against x · sigmoid(x) in
 * tfjs's own ops differentiated by tfjs: values and gradients over a wide range of inputs (large
 * negative and positive ones, where σ saturates), a size that splits over threads, and empty input.
 */
before(async () => {
  await useBackend('wasm');
});

const SHAPES = [[7, 13], [64, 32, 32, 24], [0, 5]];

for (const shape of SHAPES) {
  test(`silu and its gradient equal tfjs autodiff of x · sigmoid(x) on [${shape}]`, (t) => {
    if (!nativeOrSkip(t)) return;
    tf.tidy(() => {
      const size = tf.util.sizeFromShape(shape);
      const x = tf.tensor(Float32Array.from({ length: size }, (_, i) => 30 * Math.sin(i * 0.731) * Math.abs(Math.cos(i * 0.17))), shape);
      const dy = tf.randomNormal(shape, 0, 1, 'float32', 3);
      const reference = (t: tf.Tensor) => tf.mul(t, tf.sigmoid(t));
      const pairs: [string, tf.Tensor, tf.Tensor][] = [
        ['value', silu(x), reference(x)],
        ['gradient', tf.grad((t: tf.Tensor) => tf.sum(tf.mul(silu(t), dy)))(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reference(t), dy)))(x)],
      ];
      for (const [what, actual, expected] of pairs) {
        assert.deepEqual(actual.shape, expected.shape, what);
        const a = actual.dataSync();
        let worst = 0;
        expected.dataSync().forEach((e, i) => (worst = Math.max(worst, Math.abs(a[i] - e) / (1 + Math.abs(e)))));
        assert.ok(worst <= 1e-5, `${what}: max relative |Δ| ${worst}`);
      }
    });
  });
}

test('silu leaves no tensors behind, forward and backward', (t) => {
  if (!nativeOrSkip(t)) return;
  const x = tf.randomNormal([4, 9]);
  const before = tf.memory().numTensors;
  tf.dispose(tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(silu(v)))(x)));
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});
