import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { parseConfig } from '../src/config/load.js';
import { ConfigSchema } from '../src/config/schema.js';
import { cctSequencePooling } from '../src/families/cct/model.js';
import { conv2d, maxPool } from '../src/layers/conv.js';
import { countParams, decayRule, initParams, modelForward, paramShapes } from '../src/model/index.js';
import { cctConfig } from './helpers/model-configs.js';
import { Rng } from '../src/util/rng.js';

function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-scale, scale)), shape);
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

const TINY = { name: 'cct', image_size: 8, dim: 8, depth: 2, heads: 2, mlp_ratio: 2, conv_layers: 2, conv_channels: 4, num_classes: 3 };
const tiny = (extra: object = {}) => cctConfig({ ...TINY, ...extra });

test('presets: shapes and parameter counts equal the closed form and SHI-Labs\' CCT (counted in PyTorch)', () => {
  // PyTorch: sum(p.numel() for p in CCT(...).parameters()) for cct_2_3x2_32 and cct_7_3x1_32.
  for (const [file, pytorchCount] of [['configs/cct-2_3x2.json', 283_723], ['configs/cct-7_3x1.json', 3_760_139]] as const) {
    const cfg = loadConfig(file).model;
    const fromShapes = Object.values(paramShapes(cfg)).reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
    assert.equal(countParams(cfg), pytorchCount, file);
    assert.equal(fromShapes, pytorchCount, file);
  }
  const cct2 = loadConfig('configs/cct-2_3x2.json').model;
  assert.deepEqual(paramShapes(cct2)['tokenizer.conv.0.weight'], [3, 3, 3, 64]);
  assert.deepEqual(paramShapes(cct2)['tokenizer.conv.1.weight'], [3, 3, 64, 128]);
  assert.deepEqual(paramShapes(cct2).pos_embed, [1, 64, 128]); // 32 → 16 → 8: an 8x8 grid
});

test('config: CCT keys are validated with one line naming the key', () => {
  const error = (model: object) => {
    try {
      // TINY's 8×8 input: the images resized to it (data.resize), as a whole config needs.
      parseConfig({ data: { resize: 8 }, model }, 'c.json');
      return 'ok';
    } catch (err) {
      return (err as Error).message.replace(/^c\.json: /, '');
    }
  };
  assert.equal(error({ conv_layers: 2 }), "unknown key model.conv_layers (not a key of model.name 'vit': docs/families.md lists each family's keys)");
  assert.equal(error({ ...TINY, heads: 3 }), 'model.heads: must divide dim (8)');
  assert.equal(error({ ...TINY, dim_head: 2 }), 'model.dim_head: must be dim / heads (4) for a cct');
  assert.equal(error({ ...TINY, mlp_dim: 5 }), 'model.mlp_dim: must be dim × mlp_ratio (16) for a cct');
  assert.equal(error({ ...TINY, patch_size: 2 }), "model.patch_size: does not apply to model.name 'cct' (remove it)");
  assert.equal(error({ ...TINY, positional_embedding: 'rope' }).split(':')[0], 'model.positional_embedding');
  assert.equal(error(tiny()), 'ok'); // a resolved config parses again unchanged
  assert.deepEqual(ConfigSchema.parse({ data: { resize: 8 }, model: tiny() }).model, tiny());
  assert.equal(ConfigSchema.parse({}).model.name, 'vit'); // a config without model.name is a ViT
});

test('conv2d (im2col) and maxPool match tf.conv2d / tf.maxPool on cpu: values and gradients', async () => {
  await tf.setBackend('cpu');
  const x = randomTensor([2, 9, 9, 3], 1) as tf.Tensor4D;
  const w = randomTensor([3, 3, 3, 5], 2);
  for (const [stride, pad] of [[1, 1], [2, 1], [1, 0], [2, 0]]) {
    const upstream = tf.tidy(() => randomTensor(conv2d(x, w, stride, pad).shape, 3));
    const ours = tf.grads((x, w) => tf.sum(tf.mul(conv2d(x as tf.Tensor4D, w, stride, pad), upstream)))([x, w]);
    const reference = tf.grads((x, w) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad, 'NHWC', 1, 'floor'), upstream)))([x, w]);
    assert.ok(maxDiff(conv2d(x, w, stride, pad), tf.conv2d(x, w as tf.Tensor4D, stride, pad, 'NHWC', 1, 'floor')) < 1e-5);
    ours.forEach((g, i) => assert.ok(maxDiff(g, reference[i]) < 1e-4, `stride ${stride} pad ${pad} gradient ${i}`));
    tf.dispose([upstream, ...ours, ...reference]);
  }
  // PyTorch's MaxPool2d(3, 2, 1) on 8x8: floor((8 + 2 - 3) / 2) + 1 = 4, padding never the max.
  const negative = tf.neg(tf.abs(randomTensor([1, 8, 8, 2], 4))) as tf.Tensor4D;
  const pooled = maxPool(negative, 3, 2, 1);
  assert.deepEqual(pooled.shape, [1, 4, 4, 2]);
  assert.ok(pooled.dataSync().every((v) => v < 0), 'a padded −∞ (or 0) never wins');
  // Top-left window covers rows/columns 0..1 only: its max is max of those 4 values.
  const corner = tf.max(tf.slice(negative, [0, 0, 0, 0], [1, 2, 2, 1])).dataSync()[0];
  assert.equal(pooled.dataSync()[0], corner);
  tf.dispose([x, w, negative, pooled]);
});

test('conv2d of data (the images): the same value and weight gradient, and no gradient path to the input', async () => {
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    const x = randomTensor([2, 9, 9, 3], 1) as tf.Tensor4D;
    const w = randomTensor([3, 3, 3, 5], 2);
    const upstream = tf.tidy(() => randomTensor([2, 5, 5, 5], 3));
    const loss = (inputIsData: boolean) => (w: tf.Tensor) => tf.sum(tf.mul(conv2d(x, w, 2, 1, inputIsData), upstream));
    assert.ok(maxDiff(conv2d(x, w, 2, 1, true), conv2d(x, w, 2, 1)) < 1e-6, backend);
    assert.ok(maxDiff(tf.grad(loss(true))(w), tf.grad(loss(false))(w)) < 1e-5, backend);
    assert.throws(() => tf.grad((input) => tf.sum(conv2d(input as tf.Tensor4D, w, 2, 1, true)))(x), /Cannot compute gradient/);
    tf.dispose([x, w, upstream]);
  }
});

test('conv2d and maxPool gradients match central finite differences', async () => {
  await tf.setBackend('cpu');
  const x = randomTensor([1, 5, 5, 2], 5);
  const w = randomTensor([3, 3, 2, 3], 6);
  const upstream = randomTensor([1, 3, 3, 3], 7); // 5 → conv 5 → pool floor((5 + 2 − 3) / 2) + 1 = 3
  const f = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(maxPool(tf.relu(conv2d(x as tf.Tensor4D, w, 1, 1)) as tf.Tensor4D, 3, 2, 1), upstream));
  const [gx, gw] = tf.grads(f)([x, w]);
  const eps = 1e-2;
  for (const [input, grad, which] of [[x, gx, 0], [w, gw, 1]] as const) {
    const values = input.dataSync().slice();
    const analytic = grad.dataSync();
    for (let i = 0; i < values.length; i += 3) {
      const at = (delta: number) => {
        const moved = values.slice();
        moved[i] += delta;
        const t = tf.tensor(moved, input.shape);
        const v = tf.tidy(() => (which === 0 ? f(t, w) : f(x, t)).dataSync()[0]);
        t.dispose();
        return v;
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      assert.ok(Math.abs(numeric - analytic[i]) < 2e-2 * Math.max(1, Math.abs(numeric)), `${which ? 'w' : 'x'}[${i}]: numeric ${numeric}, analytic ${analytic[i]}`);
    }
  }
  tf.dispose([x, w, upstream, gx, gw]);
});

test('a CCT training step gives the same loss and gradients on cpu and wasm (no Conv2DBackpropFilter needed), without leaks', async () => {
  const cfg = tiny({ dropout: 0.1, attn_dropout: 0.1, drop_path: 0.1 });
  const rng = new Rng(2);
  const images = Float32Array.from({ length: 4 * 8 * 8 * 3 }, () => rng.uniform(-1, 1));
  const results: number[][] = [];
  for (const backend of ['cpu', 'wasm']) {
    assert.equal(await tf.setBackend(backend), true);
    const params = initParams(cfg, 0);
    const batch = tf.tensor4d(images, [4, 8, 8, 3]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), cfg.num_classes);
    const step = () => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, modelForward(params, cfg, batch, { training: true, seed: 9 })) as tf.Scalar);
      return [value, ...Object.values(params).map((v) => grads[v.name])].flatMap((t) => Array.from(t.dataSync()));
    });
    results.push(step());
    const before = tf.memory().numTensors;
    step();
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
    tf.dispose([batch, labels, ...Object.values(params)]);
  }
  const [cpu, wasm] = results;
  assert.equal(cpu.length, wasm.length);
  for (let i = 0; i < cpu.length; i++) assert.ok(Math.abs(cpu[i] - wasm[i]) < 1e-4, `value ${i}: cpu ${cpu[i]}, wasm ${wasm[i]}`);
});

test('sequence pooling weights: [b, tokens] rows summing to 1 on the token grid; sine and no positions run', async () => {
  await tf.setBackend('cpu');
  for (const positional_embedding of ['learnable', 'sine', 'none']) {
    const cfg = tiny({ positional_embedding });
    const params = initParams(cfg, 1);
    const images = randomTensor([3, 8, 8, 3], 8) as tf.Tensor4D;
    const { weights } = cctSequencePooling(params, cfg, images);
    assert.deepEqual(weights.shape, [3, 4]); // 8 → 4 → 2: a 2×2 grid
    for (const s of tf.tidy(() => tf.sum(weights, 1).dataSync())) assert.ok(Math.abs(s - 1) < 1e-5);
    assert.equal('pos_embed' in params, positional_embedding === 'learnable');
    tf.dispose([images, weights, ...Object.values(params)]);
  }
});

test('weight decay: conv and Linear weights only, never norms, biases or positions', () => {
  const cfg = tiny({ depth: 1, conv_layers: 1 });
  const decayed = Object.keys(paramShapes(cfg)).filter(decayRule(cfg));
  assert.deepEqual(decayed.sort(), [
    'attention_pool.weight',
    'blocks.0.attn.out.weight',
    'blocks.0.attn.qkv.weight',
    'blocks.0.mlp.fc1.weight',
    'blocks.0.mlp.fc2.weight',
    'head.weight',
    'tokenizer.conv.0.weight',
  ]);
});
