import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { rearrange, reduce, repeat } from '../src/einops/index.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** The kernels `f` runs, as 'Name/rank of its first input'. */
async function kernelsOf(f: () => tf.Tensor): Promise<string[]> {
  const profile = await tf.profile(f);
  return profile.kernels.map((kernel) => `${kernel.name}/${kernel.inputShapes[0]?.length}`);
}

test('a pattern that changes nothing runs no op and returns the input itself', async () => {
  const x = tf.ones([2, 3, 4]);
  for (const pattern of ['a b c -> a b c', '... -> ...', 'a ... -> a ...']) {
    assert.deepEqual(await kernelsOf(() => rearrange(x, pattern)), [], pattern);
    assert.equal(rearrange(x, pattern), x, pattern);
  }
  assert.equal(repeat(x, 'a b c -> a b c'), x);
  assert.equal(reduce(x, 'a b c -> a b c', 'sum'), x);
});

test('a split or merge that keeps the order is one reshape, and unit axes move without a transpose', async () => {
  assert.deepEqual(await kernelsOf(() => rearrange(tf.ones([2, 12]), 'b (h d) -> b h d', { h: 3 })), ['Reshape/2']);
  assert.deepEqual(await kernelsOf(() => rearrange(tf.ones([2, 3, 1]), 'a b 1 -> a 1 b')), ['Reshape/3']);
  assert.deepEqual(await kernelsOf(() => rearrange(tf.ones([1, 3, 4]), 'a b c -> b a c')), ['Reshape/3']);
});

test('the ViT patch pattern runs a single 4-D transpose, not a 6-D one', async () => {
  const images = tf.ones([2, 8, 8, 3]);
  const kernels = await kernelsOf(() => rearrange(images, 'b (h p1) (w p2) c -> b (h w) (p1 p2 c)', { p1: 4, p2: 4 }));
  assert.deepEqual(kernels, ['Reshape/4', 'Transpose/4', 'Reshape/4']);
});

test('the head split is one reshape and one transpose; the merge is the reverse', async () => {
  const x = tf.ones([2, 5, 12]);
  assert.deepEqual(await kernelsOf(() => rearrange(x, 'b n (h d) -> b h n d', { h: 3 })), ['Reshape/3', 'Transpose/4']);
  const heads = tf.ones([2, 3, 5, 4]);
  assert.deepEqual(await kernelsOf(() => rearrange(heads, 'b h n d -> b n (h d)')), ['Transpose/4', 'Reshape/4']);
});

test('intermediate tensors are disposed: only the result stays', () => {
  const images = tf.ones([2, 8, 8, 3]);
  const before = tf.memory().numTensors;
  const patches = rearrange(images, 'b (h p1) (w p2) c -> b (h w) (p1 p2 c)', { p1: 4, p2: 4 });
  const copies = repeat(images, 'b h w c -> b h w c r', { r: 2 });
  const pooled = reduce(images, 'b (h 2) (w 2) c -> b h w c', 'max');
  assert.equal(tf.memory().numTensors, before + 3);
  tf.dispose([patches, copies, pooled]);
});

test('gradients flow through rearrange: back through the inverse permutation', () => {
  const weights = tf.tensor2d([[1, 2], [3, 4], [5, 6]]); // the transposed input's shape
  const grad = tf.grad((x: tf.Tensor) => rearrange(x, 'a b -> b a').mul(weights).sum());
  assert.deepEqual(grad(tf.zeros([2, 3])).arraySync(), [[1, 3, 5], [2, 4, 6]]);
});

test("repeat's gradient sums over the copies", () => {
  const weights = tf.tensor2d([[1, 2, 3], [10, 20, 30]]); // [a, r]
  const grad = tf.grad((x: tf.Tensor) => repeat(x, 'a -> a r', { r: 3 }).mul(weights).sum());
  assert.deepEqual(grad(tf.zeros([2])).arraySync(), [6, 60]);

  const gradOfTiled = tf.grad((x: tf.Tensor) => repeat(x, 'a -> (2 a)').mul(tf.tensor1d([1, 2, 10, 20])).sum());
  assert.deepEqual(gradOfTiled(tf.zeros([2])).arraySync(), [11, 22]);
});
