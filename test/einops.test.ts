import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { rearrange, reduce, repeat } from '../src/einops/index.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** 0, 1, 2, ... in the given shape, so every element says where it came from. */
function iota(shape: number[]): tf.Tensor {
  return tf.range(0, shape.reduce((a, b) => a * b, 1)).reshape(shape);
}

test('rearrange splits and merges axes row-major, as einops does', () => {
  assert.deepEqual(rearrange(iota([6]), '(a b) -> b a', { a: 2 }).arraySync(), [
    [0, 3],
    [1, 4],
    [2, 5],
  ]);
  assert.deepEqual(rearrange(iota([2, 3]), 'a b -> (b a)').arraySync(), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(rearrange(iota([2, 3]), 'a b -> (a b)').arraySync(), [0, 1, 2, 3, 4, 5]);
});

test('every permutation of four axes equals tf.transpose, with and without unit axes', () => {
  const names = ['a', 'b', 'c', 'd'];
  const permutations = (axes: number[]): number[][] =>
    axes.length <= 1
      ? [axes]
      : axes.flatMap((first) => permutations(axes.filter((a) => a !== first)).map((rest) => [first, ...rest]));
  for (const shape of [[2, 3, 2, 4], [2, 1, 3, 1]]) {
    const x = iota(shape);
    for (const perm of permutations([0, 1, 2, 3])) {
      const pattern = `a b c d -> ${perm.map((axis) => names[axis]).join(' ')}`;
      assert.deepEqual(rearrange(x, pattern).arraySync(), x.transpose(perm).arraySync(), `${pattern} on [${shape}]`);
    }
  }
});

test('the ViT patch pattern equals the hand-written reshape and transpose', () => {
  const [b, h, w, p, c] = [2, 3, 2, 4, 3];
  const images = iota([b, h * p, w * p, c]);
  const patches = rearrange(images, 'b (h p1) (w p2) c -> b (h w) (p1 p2 c)', { p1: p, p2: p });
  const byHand = images.reshape([b, h, p, w, p, c]).transpose([0, 1, 3, 2, 4, 5]).reshape([b, h * w, p * p * c]);
  assert.deepEqual(patches.shape, [b, h * w, p * p * c]);
  assert.deepEqual(patches.arraySync(), byHand.arraySync());
});

test('attention heads split and merge back', () => {
  const x = iota([2, 5, 12]);
  const heads = rearrange(x, 'b n (h d) -> b h n d', { h: 3 });
  assert.deepEqual(heads.arraySync(), x.reshape([2, 5, 3, 4]).transpose([0, 2, 1, 3]).arraySync());
  assert.deepEqual(rearrange(heads, 'b h n d -> b n (h d)').arraySync(), x.arraySync());
});

test('unit axes written 1 or () are matched, dropped and added', () => {
  const x = iota([2, 1, 3]);
  assert.deepEqual(rearrange(x, 'a 1 b -> a b').arraySync(), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(rearrange(x, 'a () b -> b a').arraySync(), [[0, 3], [1, 4], [2, 5]]);
  assert.deepEqual(rearrange(x, 'a 1 b -> 1 (a b) ()').shape, [1, 6, 1]);
  assert.deepEqual(rearrange(iota([6]), '(a 1 b) -> a b', { a: 2 }).shape, [2, 3]);
});

test('a given length is used to split, and checked where the shape already fixes it', () => {
  assert.deepEqual(rearrange(iota([2, 6]), 'b (h w) -> b h w', { w: 2 }).shape, [2, 3, 2]);
  assert.deepEqual(rearrange(iota([2, 6]), 'b c -> c b', { b: 2, c: 6 }).shape, [6, 2]);
});

test('ellipsis in rearrange stands for any number of dimensions, bare or composed', () => {
  const x = iota([2, 3, 4, 5]);
  assert.deepEqual(rearrange(x, 'b ... d -> b d ...').arraySync(), x.transpose([0, 3, 1, 2]).arraySync());
  assert.deepEqual(rearrange(x, 'b ... -> b (...)').arraySync(), x.reshape([2, 60]).arraySync());
  assert.deepEqual(rearrange(x, '... -> (...)').shape, [120]);
  assert.deepEqual(rearrange(iota([2, 5]), 'b ... c -> c b ...').shape, [5, 2]);
  assert.deepEqual(rearrange(iota([2]), 'b ... -> b (...)').shape, [2, 1]);
});

test('repeat broadcasts the class token over the batch: "() n d -> b n d" and "1 1 d -> b 1 d"', () => {
  const token = tf.tensor3d([[[1, 2, 3]]]);
  const expected = [[[1, 2, 3]], [[1, 2, 3]], [[1, 2, 3]], [[1, 2, 3]]];
  assert.deepEqual(repeat(token, '() n d -> b n d', { b: 4 }).arraySync(), expected);
  assert.deepEqual(repeat(token, '1 1 d -> b 1 d', { b: 4 }).arraySync(), expected);
});

test('repeat with numbers: a new axis, copies of each row, or copies of the whole', () => {
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  assert.deepEqual(repeat(x, 'h w -> h w 3').arraySync(), [[[1, 1, 1], [2, 2, 2]], [[3, 3, 3], [4, 4, 4]]]);
  assert.deepEqual(repeat(x, 'h w -> (h 2) w').arraySync(), [[1, 2], [1, 2], [3, 4], [3, 4]]);
  assert.deepEqual(repeat(x, 'h w -> (2 h) w').arraySync(), [[1, 2], [3, 4], [1, 2], [3, 4]]);
  assert.deepEqual(repeat(x, 'h w -> w (h r)', { r: 2 }).arraySync(), [[1, 1, 3, 3], [2, 2, 4, 4]]);
});

test('repeat with ellipsis', () => {
  const x = iota([2, 3]);
  const copies = repeat(x, '... -> r ...', { r: 2 });
  assert.deepEqual(copies.arraySync(), [x.arraySync(), x.arraySync()]);
  assert.deepEqual(repeat(x, 'b ... -> b (... 2)').shape, [2, 6]);
});

test('every reduction reduces the axes missing on the right', () => {
  const x = tf.tensor2d([[1, 2, 3], [6, 5, 4]]);
  assert.deepEqual(reduce(x, 'a b -> a', 'sum').arraySync(), [6, 15]);
  assert.deepEqual(reduce(x, 'a b -> b', 'mean').arraySync(), [3.5, 3.5, 3.5]);
  assert.deepEqual(reduce(x, 'a b -> a', 'max').arraySync(), [3, 6]);
  assert.deepEqual(reduce(x, 'a b -> b', 'min').arraySync(), [1, 2, 3]);
  assert.deepEqual(reduce(x, 'a b -> a', 'prod').arraySync(), [6, 120]);
  assert.deepEqual(reduce(x, 'a b ->', 'sum').arraySync(), 21);
});

test('reduce rearranges what it keeps, and keeps unit axes written on the right', () => {
  const x = iota([2, 3, 4]);
  assert.deepEqual(reduce(x, 'a b c -> c a', 'sum').arraySync(), x.sum(1).transpose().arraySync());
  assert.deepEqual(reduce(x, 'a b c -> a 1 c', 'max').arraySync(), x.max(1, true).arraySync());
});

test('reduce pools over numbered axes', () => {
  const image = iota([4, 4]);
  assert.deepEqual(reduce(image, '(h 2) (w 2) -> h w', 'max').arraySync(), [[5, 7], [13, 15]]);
});

test('reduce with ellipsis reduces or keeps what it stands for', () => {
  const x = iota([2, 3, 4]);
  assert.deepEqual(reduce(x, 'b ... -> b', 'mean').arraySync(), x.reshape([2, 12]).mean(1).arraySync());
  assert.deepEqual(reduce(x, '... c -> ...', 'sum').arraySync(), x.sum(2).arraySync());
});
