import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { useBackend } from '../src/backend/index.js';
import { useNativeKernels } from '../src/backend/native/kernels.js';
import { nativeOrSkip } from './helpers/native.js';
import { shareIdentityOnWasm } from '../src/backend/drivers/wasm-identity.js';
import { GELU, GELU_GRAD } from '../src/backend/fused-kernels.js';

/**
 * The kernels src/model swaps into tfjs-backend-wasm against wasm's own: native BatchMatMul
 * (vit's GEMM, when the addon is built) in every form the model and tfjs's gradients use, native
 * GELU and its gradient against the same formulas in tfjs ops, and the buffer-sharing Identity.
 */
const CASES: { name: string; a: number[]; b: number[]; transposeA?: boolean; transposeB?: boolean }[] = [
  { name: 'plain 2-D', a: [37, 19], b: [19, 23] },
  { name: 'transposeA', a: [19, 37], b: [19, 23], transposeA: true },
  { name: 'transposeB', a: [37, 19], b: [23, 19], transposeB: true },
  { name: 'both transposed', a: [19, 37], b: [23, 19], transposeA: true, transposeB: true },
  { name: 'batched 4-D (attention)', a: [3, 2, 13, 8], b: [3, 2, 8, 13] },
  { name: 'batched, transposeB', a: [3, 2, 13, 8], b: [3, 2, 13, 8], transposeB: true },
  { name: 'one matrix against a batch', a: [1, 13, 8], b: [5, 8, 6] },
  { name: 'a batch against one matrix', a: [5, 13, 8], b: [8, 6] },
  { name: 'row vector (column sums)', a: [1, 300], b: [300, 17] },
  { name: 'many small products (split over cores)', a: [2, 64, 17, 9], b: [2, 64, 11, 9], transposeB: true },
];

let original: Map<string, Float32Array>;
let native: { installed: boolean; reason: string };

before(async () => {
  await useBackend('wasm');
  // tfjs-backend-wasm's own kernel first, then the native one on the same inputs.
  const products = () =>
    new Map(
      CASES.map(({ name, a, b, transposeA, transposeB }, i) => [
        name,
        tf.tidy(() => tf.matMul(tf.randomNormal(a, 0, 1, 'float32', 2 * i + 1), tf.randomNormal(b, 0, 1, 'float32', 2 * i + 2), transposeA, transposeB).dataSync() as Float32Array),
      ]),
    );
  original = products();
  native = useNativeKernels();
  if (native.installed) {
    const replaced = products();
    for (const [name, values] of replaced) original.set(`native ${name}`, values);
  }
});

for (const { name } of CASES) {
  test(`native BatchMatMul equals wasm's: ${name}`, (t) => {
    if (!nativeOrSkip(t)) return;
    const expected = original.get(name)!;
    const actual = original.get(`native ${name}`)!;
    assert.equal(actual.length, expected.length);
    // Different summation orders: a few float32 ulps on sums of ~300 unit-variance products.
    expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= 1e-4 * (1 + Math.abs(e)), `[${i}] ${actual[i]} vs ${e}`));
  });
}

test('native GELU and its gradient equal the formulas in tfjs ops (split over cores: 100,003 values)', (t) => {
  if (!nativeOrSkip(t)) return;
  tf.tidy(() => {
    const x = tf.randomUniform([100_003], -6, 6, 'float32', 7);
    const dy = tf.randomNormal([100_003], 0, 1, 'float32', 8);
    const cdf = tf.mul(tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))), 0.5);
    const density = tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    const pairs: [tf.Tensor, tf.Tensor][] = [
      [tf.engine().runKernel(GELU, { x }) as tf.Tensor, tf.mul(x, cdf)],
      [tf.engine().runKernel(GELU_GRAD, { x, dy }) as tf.Tensor, tf.mul(dy, tf.add(cdf, tf.mul(x, density)))],
    ];
    for (const [actual, expected] of pairs) {
      const a = actual.dataSync();
      expected.dataSync().forEach((e, i) => assert.ok(Math.abs(a[i] - e) <= 1e-5 * (1 + Math.abs(e)), `[${i}] ${a[i]} vs ${e}`));
    }
  });
});

test('native kernels report why they are off when they are', () => {
  assert.equal(typeof native.installed, 'boolean');
  if (!native.installed) assert.ok(native.reason.length > 0);
});

test('Identity shares the buffer on wasm: a clone outlives its original and keeps its values', () => {
  shareIdentityOnWasm();
  const before = tf.memory().numDataBuffers;
  const x = tf.tensor1d([1, 2, 3]);
  const copy = tf.clone(x);
  assert.equal(tf.memory().numDataBuffers - before, 1, 'one buffer for both tensors');
  x.dispose();
  assert.deepEqual(Array.from(copy.dataSync()), [1, 2, 3]);
  copy.dispose();
  assert.equal(tf.memory().numDataBuffers, before, 'freed with its last tensor');
});
