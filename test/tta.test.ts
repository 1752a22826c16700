import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigSchema } from '../src/config/schema.js';
import { evalLogits, initParams, modelForward } from '../src/model/family.js';

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
