import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigSchema } from '../src/config/schema.js';
import { evalLogits, initParams, modelForward } from '../src/model/index.js';

/** Flip TTA: the mean of the logits of each image and its mirror, so a mirrored batch scores the same. */
const MODELS = {
  vit: { dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
  cct: { name: 'cct', dim: 16, depth: 1, heads: 2, mlp_ratio: 1, conv_layers: 1, conv_channels: 8 },
};

for (const [name, model] of Object.entries(MODELS)) {
  test(`evalLogits (${name}): 'none' is the plain forward pass; 'flip' averages it with the mirror's and is mirror-invariant`, async () => {
    await tf.setBackend('cpu');
    const cfg = ConfigSchema.parse({ model }).model;
    const params = initParams(cfg, 3);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const images = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      const mirrored = tf.reverse(images, 2) as tf.Tensor4D;
      const diff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
      const forward = (x: tf.Tensor4D) => modelForward(params, cfg, x, { training: false });
      assert.equal(diff(evalLogits(params, cfg, images, 'none'), forward(images)), 0);
      const flip = evalLogits(params, cfg, images, 'flip');
      assert.ok(diff(flip, tf.div(tf.add(forward(images), forward(mirrored)), 2)) < 1e-6);
      assert.ok(diff(flip, evalLogits(params, cfg, mirrored, 'flip')) < 1e-5);
      assert.ok(diff(forward(images), forward(mirrored)) > 1e-4, 'the model itself is not mirror-invariant, so the test can fail');
    });
    assert.equal(tf.memory().numTensors, before, 'evalLogits leaves nothing behind in a tidy');
    tf.dispose(Object.values(params));
  });
}

/** The image shifted so that pixel (y, x) shows (y + dy, x + dx), reflected at the border, then mirrored: built in JS, not tfjs. */
function viewByHand(images: number[][][][], dy: number, dx: number, flip: boolean): number[][][][] {
  const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  return images.map((image) =>
    image.map((row, y) => row.map((_, x) => image[reflect(y + dy, image.length)][reflect((flip ? row.length - 1 - x : x) + dx, row.length)])),
  );
}

for (const [name, model] of Object.entries(MODELS)) {
  test(`evalLogits (${name}): 'flip_translate' is airbench's weighted average of six views, and leaves no tensor behind`, async () => {
    await tf.setBackend('cpu');
    const cfg = ConfigSchema.parse({ model }).model;
    const params = initParams(cfg, 3);
    const images = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    const pixels = images.arraySync();
    const forward = (x: number[][][][]) => tf.tidy(() => modelForward(params, cfg, tf.tensor4d(x), { training: false }).arraySync());
    // ½·(½ f(x) + ½ f(flip x)) + ½·mean over the two shifts s of (½ f(s x) + ½ f(flip s x)); flip after the shift.
    const views: [number, number, boolean, number][] = [
      [0, 0, false, 1 / 4], [0, 0, true, 1 / 4],
      [-1, -1, false, 1 / 8], [-1, -1, true, 1 / 8],
      [1, 1, false, 1 / 8], [1, 1, true, 1 / 8],
    ];
    const expected = views
      .map(([dy, dx, flip, weight]) => forward(viewByHand(pixels, dy, dx, flip)).map((row) => row.map((v) => weight * v)))
      .reduce((sum, logits) => sum.map((row, i) => row.map((v, j) => v + logits[i][j])));

    const before = tf.memory().numTensors;
    const logits = evalLogits(params, cfg, images, 'flip_translate');
    assert.equal(tf.memory().numTensors, before + 1, 'only the logits are left');
    const actual = logits.arraySync();
    logits.dispose();
    actual.flat().forEach((v, k) => assert.ok(Math.abs(v - expected.flat()[k]) < 1e-5, `logit ${k}: ${v} vs ${expected.flat()[k]}`));
    const flipOnly = tf.tidy(() => evalLogits(params, cfg, images, 'flip').arraySync());
    assert.ok(Math.max(...flipOnly.flat().map((v, k) => Math.abs(v - actual.flat()[k]))) > 1e-4, 'the shifted views change the result, so the test can fail');
    tf.dispose([images, ...Object.values(params)]);
  });
}
