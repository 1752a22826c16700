import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { nativeOrSkip } from './helpers/native.js';
import { useBackend } from '../src/backend/index.js';
import type { BackendName } from '../src/config/schema.js';
import { conv2d, maxPool } from '../src/layers/conv.js';

/**
 * The native windows kernels of CCT's tokenizer (im2col and its gradient, max pooling's gradient)
 * against tfjs's own Conv2D and MaxPool kernels and their gradients on the cpu backend: values and
 * gradients on odd shapes, strides, padding, ties after a ReLU, and an empty batch.
 */
before(async () => {
  await useBackend('wasm');
});

type Result = { value: Float32Array; grads: Float32Array[]; shape: number[] };

/** f's value and the gradients of Σ f·dy with respect to its inputs, computed on `backend`. */
async function valueAndGrads(backend: BackendName, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: number[][], data: Float32Array[]): Promise<Result> {
  await useBackend(backend);
  const result = tf.tidy(() => {
    const xs = inputs.map((shape, i) => tf.tensor(data[i], shape));
    const y = f(...xs);
    const dy = tf.sin(tf.range(0, tf.util.sizeFromShape(y.shape)).reshape(y.shape));
    const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), dy)))(xs);
    return { value: y.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array), shape: y.shape };
  });
  await useBackend('wasm');
  return result;
}

function close(actual: Float32Array, expected: Float32Array, what: string, tolerance = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= tolerance * (1 + Math.abs(e)), `${what}[${i}] ${actual[i]} vs ${e}`));
}

function noise(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 2);
}

const CONVS = [
  { x: [2, 9, 9, 3], k: 3, stride: 1, padding: 1, cout: 4 }, // CCT's first layer, odd side
  { x: [3, 8, 7, 5], k: 3, stride: 2, padding: 1, cout: 6 }, // strided, non-square image
  { x: [1, 6, 6, 4], k: 5, stride: 1, padding: 0, cout: 2 }, // no padding, large kernel
  { x: [2, 5, 5, 3], k: 1, stride: 1, padding: 0, cout: 3 }, // 1×1
  { x: [0, 4, 4, 3], k: 3, stride: 1, padding: 1, cout: 2 }, // empty batch
  { x: [4, 16, 16, 24], k: 3, stride: 1, padding: 1, cout: 32 }, // a CCT's second layer, narrower: many slices, long k
];

for (const { x, k, stride, padding, cout } of CONVS) {
  test(`native im2col conv2d equals tfjs's Conv2D (value, dx, dW) on [${x}] k=${k} stride=${stride} padding=${padding}`, async (t) => {
    if (!nativeOrSkip(t)) return;
    const w = [k, k, x[3], cout];
    const data = [noise(tf.util.sizeFromShape(x), 1), noise(tf.util.sizeFromShape(w), 2)];
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [padding, padding], [padding, padding], [0, 0]];
    const reference = (a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, stride, pad);
    const ours = (a: tf.Tensor, f: tf.Tensor) => conv2d(a as tf.Tensor4D, f, stride, padding);
    const expected = await valueAndGrads('cpu', reference, [x, w], data);
    const actual = await valueAndGrads('wasm', ours, [x, w], data);
    assert.deepEqual(actual.shape, expected.shape);
    close(actual.value, expected.value, 'value');
    close(actual.grads[0], expected.grads[0], 'dx');
    close(actual.grads[1], expected.grads[1], 'dW');
  });
}

const POOLS = [
  { x: [2, 9, 9, 3], k: 3, stride: 2, padding: 1 }, // CCT's pool, odd side
  { x: [3, 8, 6, 5], k: 3, stride: 2, padding: 1 }, // non-square
  { x: [1, 7, 7, 2], k: 2, stride: 2, padding: 0 }, // non-overlapping, a row and column left over
  { x: [0, 4, 4, 3], k: 3, stride: 2, padding: 1 }, // empty batch
  { x: [4, 32, 32, 16], k: 3, stride: 2, padding: 1 }, // a CCT's first pool, narrower: many slices
];

for (const { x, k, stride, padding } of POOLS) {
  test(`native MaxPool and MaxPoolGrad equal tfjs's cpu kernels on [${x}] k=${k} stride=${stride} padding=${padding}, ties after a ReLU included`, async (t) => {
    if (!nativeOrSkip(t)) return;
    // Half the inputs are exactly 0 after the ReLU, so many windows tie: the first maximum wins.
    const f = (a: tf.Tensor) => maxPool(tf.relu(a) as tf.Tensor4D, k, stride, padding);
    const data = [noise(tf.util.sizeFromShape(x), 3)];
    const expected = await valueAndGrads('cpu', f, [x], data);
    const actual = await valueAndGrads('wasm', f, [x], data);
    close(actual.value, expected.value, 'value', 1e-6);
    close(actual.grads[0], expected.grads[0], 'dx', 1e-5); // dy's sin differs in the last bit across backends
  });
}

test('native conv2d and max pooling leave no tensors behind', (t) => {
  if (!nativeOrSkip(t)) return;
  const x = tf.randomNormal([2, 8, 8, 3]);
  const w = tf.randomNormal([3, 3, 3, 4]);
  const before = tf.memory().numTensors;
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(maxPool(tf.relu(conv2d(a as tf.Tensor4D, b, 1, 1)) as tf.Tensor4D, 3, 2, 1));
  tf.dispose(tf.tidy(() => tf.grads(f)([x, w])));
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, w]);
});
