import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { VitConfig } from '../src/families/vit/config.js';
import { vitForward } from '../src/families/vit/model.js';
import { linear } from '../src/layers/linear.js';
import { initParams, type Params } from '../src/model/index.js';
import { vitConfig } from './helpers/model-configs.js';
import { Rng } from '../src/util/rng.js';

const TINY: Partial<VitConfig> = { image_size: 8, patch_size: 4, dim: 8, depth: 2, heads: 2, dim_head: 4, mlp_dim: 16, num_classes: 3 };

function modelConfig(overrides: Partial<VitConfig>): VitConfig {
  return vitConfig(overrides);
}

function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => rng.uniform(-scale, scale)), shape);
}

before(async () => {
  await tf.setBackend('cpu');
});

test("linear's custom gradient equals tfjs's own matMul gradient", () => {
  const x = randomTensor([2, 5, 4], 1);
  const w = randomTensor([4, 3], 2);
  const b = randomTensor([3], 3);
  const upstream = randomTensor([2, 5, 3], 4);
  const ours = tf.grads((x, w, b) => tf.sum(tf.mul(linear(x, w, b), upstream)))([x, w, b]);
  const reference = tf.grads((x, w, b) => tf.sum(tf.mul(tf.add(tf.matMul(x.reshape([10, 4]), w), b).reshape([2, 5, 3]), upstream)))([x, w, b]);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(ours[i].shape, reference[i].shape);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(ours[i], reference[i]))).dataSync()[0]);
    assert.ok(diff < 1e-5, `input ${i}: max difference ${diff}`);
  }
  tf.dispose([x, w, b, upstream, ...ours, ...reference]);
});

test('model gradients match central finite differences', () => {
  // Weights scaled up from the 0.02 init so every path contributes measurably in float32.
  const cfg = modelConfig(TINY);
  const params = initParams(cfg, 0);
  for (const [name, v] of Object.entries(params)) {
    if (!name.endsWith('norm.weight')) v.assign(tf.tidy(() => tf.add(tf.mul(v, 20), randomTensor(v.shape, name.length, 0.1))));
  }
  const images = randomTensor([2, 8, 8, 3], 7) as tf.Tensor4D;
  const mixing = randomTensor([2, 3], 8);
  const loss = () => tf.sum(tf.mul(vitForward(params, cfg, images, { training: false }), mixing)) as tf.Scalar;
  const { grads } = tf.variableGrads(loss);

  const checked = [
    'patch_embed.weight',
    'patch_embed.bias',
    'cls_token',
    'pos_embed',
    'blocks.0.attn.norm.weight',
    'blocks.0.attn.qkv.weight',
    'blocks.0.attn.out.weight',
    'blocks.1.mlp.fc1.weight',
    'blocks.1.mlp.fc2.bias',
    'head.norm.bias',
    'head.linear.weight',
  ];
  const eps = 1e-2;
  for (const name of checked) {
    const variable = params[name];
    const analytic = grads[variable.name].dataSync();
    const rng = new Rng(name.length);
    for (let trial = 0; trial < 3; trial++) {
      const i = rng.int(variable.size);
      const numeric = (lossWith(variable, i, eps, loss) - lossWith(variable, i, -eps, loss)) / (2 * eps);
      const tolerance = 5e-4 + 5e-3 * Math.abs(numeric);
      assert.ok(Math.abs(analytic[i] - numeric) < tolerance, `${name}[${i}]: analytic ${analytic[i]}, numeric ${numeric}`);
    }
  }
  tf.dispose([images, mixing, ...Object.values(grads)]);
  for (const v of Object.values(params)) v.dispose();
});

/** The loss with element i of `variable` moved by delta (then restored). */
function lossWith(variable: tf.Variable, i: number, delta: number, loss: () => tf.Scalar): number {
  const original = variable.dataSync().slice();
  const moved = original.slice();
  moved[i] += delta;
  variable.assign(tf.tensor(moved, variable.shape));
  const value = tf.tidy(() => loss().dataSync()[0]);
  variable.assign(tf.tensor(original, variable.shape));
  return value;
}

test('no tensor leaks from a forward pass or a gradient computation', () => {
  const cfg = modelConfig({ ...TINY, dropout: 0.1, emb_dropout: 0.1, attn_dropout: 0.1, drop_path: 0.1 });
  const params: Params = initParams(cfg, 0);
  const images = randomTensor([2, 8, 8, 3], 1) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);
  const step = () => {
    tf.tidy(() => vitForward(params, cfg, images, { training: false }).dataSync());
    const { value, grads } = tf.variableGrads(() =>
      tf.losses.softmaxCrossEntropy(labels, vitForward(params, cfg, images, { training: true, seed: 1 })) as tf.Scalar,
    );
    tf.dispose([value, ...Object.values(grads)]);
  };
  step(); // first calls may create lasting tensors (tfjs caches); count from the second
  const before = tf.memory().numTensors;
  step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([images, labels]);
  for (const v of Object.values(params)) v.dispose();
});
