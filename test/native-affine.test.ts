import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { nativeOrSkip } from './helpers/native.js';
import { useBackend } from '../src/backend/index.js';
import { AFFINE } from '../src/backend/fused-kernels.js';
import { affineValue, linear } from '../src/layers/linear.js';

/**
 * The native AFFINE kernel (x · W + b, the bias written first and the GEMM adding onto it) against
 * tfjs's own matMul and Add on the cpu backend: values, and the gradients of `linear` built on it,
 * on odd shapes, an empty inner dimension (every row is the bias) and no rows.
 */
before(async () => {
  await useBackend('wasm');
});

const SHAPES: [number, number, number][] = [
  [7, 13, 5], // odd everything
  [300, 129, 257], // large enough for OpenBLAS's threads
  [1, 1, 1],
  [0, 8, 3], // no rows
];

function inputs(m: number, k: number, n: number): number[][] {
  const values = (count: number, seed: number) => Array.from({ length: count }, (_, i) => Math.sin(seed + i * 0.37));
  return [values(m * k, 1), values(k * n, 2), values(n, 3), values(m * n, 4)];
}

/** linear(x, w, b) and the gradients of Σ linear · dy with respect to x, w and b, on `backend`. */
async function run(backend: string, [m, k, n]: [number, number, number]): Promise<Float32Array[]> {
  await useBackend(backend as 'cpu' | 'wasm');
  const [xv, wv, bv, dyv] = inputs(m, k, n);
  return tf.tidy(() => {
    const [x, w, b, dy] = [tf.tensor(xv, [m, k]), tf.tensor(wv, [k, n]), tf.tensor(bv, [n]), tf.tensor(dyv, [m, n])];
    const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => linear(x, w, b);
    const grads = tf.grads((x, w, b) => tf.sum(tf.mul(f(x, w, b), dy)))([x, w, b]);
    return [f(x, w, b), ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

for (const shape of SHAPES) {
  test(`native affine [${shape.join(', ')}] (m, k, n): value and gradients equal tfjs's matMul + add on cpu`, async (t) => {
    if (!nativeOrSkip(t)) return;
    const reference = await run('cpu', shape);
    const ours = await run('wasm', shape);
    ['value', 'dx', 'dW', 'db'].forEach((what, i) => {
      assert.equal(ours[i].length, reference[i].length, what);
      reference[i].forEach((e, j) => assert.ok(Math.abs(ours[i][j] - e) <= 1e-4 * (1 + Math.abs(e)), `${what}[${j}] ${ours[i][j]} vs ${e}`));
    });
  });
}

test('native affine with an empty inner dimension (k = 0): every row is the bias', (t) => {
  if (!nativeOrSkip(t)) return;
  const out = tf.tidy(() => affineValue(tf.zeros([3, 0]), tf.zeros([0, 2]), tf.tensor1d([1.5, -2])).arraySync());
  assert.deepEqual(out, [[1.5, -2], [1.5, -2], [1.5, -2]]);
});

test('linear with the native affine kernel leaves no tensors behind', async () => {
  await useBackend('wasm');
  const [x, w, b] = [tf.ones([5, 3]), tf.ones([3, 2]), tf.ones([2])];
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.tidy(() => {
      tf.grads((x, w, b) => tf.sum(linear(x, w, b)))([x, w, b]);
    });
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, w, b]);
});
