import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ConfigSchema } from '../src/config/schema.js';
import { mixedTargets } from '../src/data/mix.js';
import { initParams, modelForward } from '../src/model/index.js';
import { Optimizer } from '../src/train/optimizer.js';
import { trainStep } from '../src/train/train-step.js';

const cfg = ConfigSchema.parse({ model: { dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 } });

before(async () => {
  await tf.setBackend('cpu');
});

/** One step from freshly initialized (so identical) parameters. */
async function step(batch: { x: tf.Tensor4D; y: tf.Tensor1D; targets?: tf.Tensor2D }, labelSmoothing: number) {
  const params = initParams(cfg.model, 0);
  const optimizer = Optimizer.forModel(params, cfg);
  try {
    return await trainStep(params, cfg.model, optimizer, batch, { lr: 1e-3, labelSmoothing, seed: 1 });
  } finally {
    optimizer.dispose();
    tf.dispose(Object.values(params));
  }
}

test('soft targets drive the loss, with no further smoothing: smoothed one-hot targets equal labels with smoothing', async () => {
  const x = tf.randomNormal([6, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const labels = Int32Array.from([0, 3, 3, 9, 1, 5]);
  const y = tf.tensor1d(labels, 'int32');
  // λ = 1: no mixing, just timm's smoothed one-hot rows.
  const targets = tf.tensor2d(mixedTargets(labels, 1, 0.1), [6, 10]);
  try {
    const withLabels = await step({ x, y }, 0.1);
    const withTargets = await step({ x, y, targets }, 0.1);
    assert.ok(Math.abs(withLabels.loss - withTargets.loss) < 1e-6, `${withLabels.loss} vs ${withTargets.loss}`);
    assert.equal(withTargets.correct, withLabels.correct);
    // The smoothing passed to trainStep is ignored when targets are present.
    assert.ok(Math.abs((await step({ x, y, targets }, 0.5)).loss - withTargets.loss) < 1e-6);
    assert.ok(Math.abs((await step({ x, y }, 0.5)).loss - withLabels.loss) > 1e-3);
  } finally {
    tf.dispose([x, y, targets]);
  }
});

test("a mixed batch's accuracy counts the label with the larger weight, not `y`", async () => {
  const x = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  // What the fresh model predicts (no dropout is configured, so training mode changes nothing).
  const params = initParams(cfg.model, 0);
  const predicted = tf.tidy(() => tf.argMax(modelForward(params, cfg.model, x, { training: false }), 1).dataSync() as Int32Array);
  tf.dispose(Object.values(params));
  const other = predicted.map((p) => (p + 1) % 10);
  /** Rows with weight `w` on the predicted class and 1 − w on another one. */
  const weighing = (w: number) => {
    const rows = new Float32Array(40);
    predicted.forEach((p, i) => {
      rows[10 * i + p] = w;
      rows[10 * i + other[i]] = 1 - w;
    });
    return tf.tensor2d(rows, [4, 10]);
  };
  const [yOther, yPredicted] = [tf.tensor1d(other, 'int32'), tf.tensor1d(predicted, 'int32')];
  const [predictedWeighsMore, otherWeighsMore] = [weighing(0.6), weighing(0.4)];
  try {
    assert.equal((await step({ x, y: yOther, targets: predictedWeighsMore }, 0)).correct, 4);
    assert.equal((await step({ x, y: yPredicted, targets: otherWeighsMore }, 0)).correct, 0);
  } finally {
    tf.dispose([x, yOther, yPredicted, predictedWeighsMore, otherWeighsMore]);
  }
});

test('a step with soft targets leaves no tensor behind', async () => {
  const x = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
  const y = tf.tensor1d([1, 2], 'int32');
  const targets = tf.tensor2d(mixedTargets(Int32Array.from([1, 2]), 0.6, 0.1), [2, 10]);
  const before = tf.memory().numTensors;
  await step({ x, y, targets }, 0);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, y, targets]);
});
