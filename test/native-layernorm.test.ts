import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { nativeOrSkip } from './helpers/native.js';
import { useBackend } from '../src/backend/index.js';
import { layerNorm } from '../src/layers/layer-norm.js';

/**
 * The native LayerNorm kernels (forward and gradient, rows split over cores) against LayerNorm
 * written in tfjs's own ops and differentiated by tfjs: values and all three gradients, on odd
 * shapes, a size that splits over threads, and empty inputs.
 */
before(async () => {
  await useBackend('wasm');
});

/** LayerNorm as PyTorch defines it, in tfjs ops, differentiated by tfjs's autodiff. */
function reference(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), weight), bias);
}

function close(actual: tf.Tensor, expected: tf.Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, what);
  const a = actual.dataSync();
  expected.dataSync().forEach((e, i) => assert.ok(Math.abs(a[i] - e) <= 2e-4 * (1 + Math.abs(e)), `${what}[${i}] ${a[i]} vs ${e}`));
}

const SHAPES = [
  [7, 13], // odd rows and width
  [3, 5, 37], // 3-D, as the model's tokens
  [4, 300, 129], // 1200 rows: split over cores (≥ 32768 values a thread)
  [1, 1], // one value: x̂ = 0
  [0, 16], // no rows
];

for (const shape of SHAPES) {
  test(`layerNorm and its gradients equal tfjs autodiff on [${shape}]`, (t) => {
    if (!nativeOrSkip(t)) return;
    tf.tidy(() => {
      const dim = shape[shape.length - 1];
      const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), 3), 0.5);
      const weight = tf.randomNormal([dim], 1, 0.5, 'float32', 2);
      const bias = tf.randomNormal([dim], 0, 0.5, 'float32', 3);
      const dy = tf.randomNormal(shape, 0, 1, 'float32', 4);
      close(layerNorm(x, weight, bias), reference(x, weight, bias), 'value');
      const loss = (f: typeof reference) => (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, w, b), dy));
      const actual = tf.grads(loss(layerNorm))([x, weight, bias]);
      const expected = tf.grads(loss(reference))([x, weight, bias]);
      ['dx', 'dWeight', 'dBias'].forEach((name, i) => close(actual[i], expected[i], name));
    });
  });
}

test('layerNorm with native kernels leaves no tensors behind', () => {
  const x = tf.randomNormal([5, 9]);
  const w = tf.ones([9]);
  const b = tf.zeros([9]);
  const before = tf.memory().numTensors;
  tf.dispose(tf.tidy(() => tf.grads((a: tf.Tensor) => tf.sum(layerNorm(a, w, b)))([x])));
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, w, b]);
});
