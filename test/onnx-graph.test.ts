import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { SafeTensor } from '../src/checkpoint/safetensors.js';
import { ConfigSchema, type ModelConfig } from '../src/config/schema.js';
import { IMAGE_BYTES } from '../src/data/cifar10.js';
import { CIFAR10_NORMALIZATION } from '../src/data/normalize.js';
import { modelForward, paramShapes } from '../src/model/index.js';
import { INPUT_NAME, onnxModel } from '../src/onnx/model.js';
import { nchwPixels } from '../src/onnx/runtime.js';
import { Rng } from '../src/util/rng.js';

/**
 * Every architecture option the ONNX graph branches on, with random weights (larger than the
 * init's, so that a wrong layout, order or constant shows in the logits) on random pixels: ONNX
 * Runtime's logits must be the tfjs model's. The trained models on real images are in
 * onnx-export.test.ts.
 */
const VARIANTS: Record<string, Partial<ModelConfig>> = {
  'ViT, cls pooling, patch 8': { dim: 16, depth: 2, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
  'ViT, mean pooling, patch 4, one head as wide as dim': { dim: 12, depth: 1, heads: 1, dim_head: 12, mlp_dim: 24, patch_size: 4, pool: 'mean' },
  'CCT, two conv layers, learnable positions': { name: 'cct', dim: 16, depth: 2, heads: 2, mlp_ratio: 2, conv_layers: 2, conv_channels: 8 },
  'CCT, sine positions, conv stride 2, unpadded pool': { name: 'cct', dim: 16, depth: 1, heads: 4, mlp_ratio: 1, conv_stride: 2, conv_kernel: 5, conv_padding: 2, pool_padding: 0, positional_embedding: 'sine' },
  'CCT, no positions, 7x7 conv, pool 2/2': { name: 'cct', dim: 8, depth: 1, heads: 1, mlp_ratio: 3, conv_kernel: 7, conv_padding: 3, pool_kernel: 2, pool_stride: 2, pool_padding: 1, positional_embedding: 'none' },
};

const IMAGES = 5;

before(async () => {
  await tf.setBackend('cpu');
});

/** Normal(0, 0.3) for every parameter, around 1 for LayerNorm gains. */
function randomWeights(cfg: ModelConfig, rng: Rng): Record<string, SafeTensor> {
  const weights: Record<string, SafeTensor> = {};
  for (const [name, shape] of Object.entries(paramShapes(cfg))) {
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
      const normal = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
      return (/norm\d*\.weight$/.test(name) ? 1 : 0) + 0.3 * normal;
    });
    weights[name] = { dtype: 'F32', shape, data };
  }
  return weights;
}

/** The tfjs model's logits of HWC byte images, normalised as evalBatches normalises them. */
function tfjsLogits(weights: Record<string, SafeTensor>, cfg: ModelConfig, images: Uint8Array[]): Float32Array {
  const params = Object.fromEntries(Object.entries(weights).map(([name, t]) => [name, tf.variable(tf.tensor(t.data as Float32Array, t.shape))]));
  const normalized = new Float32Array(images.length * IMAGE_BYTES);
  images.forEach((image, n) => image.forEach((v, i) => (normalized[n * IMAGE_BYTES + i] = CIFAR10_NORMALIZATION[(i % 3) * 256 + v])));
  const logits = tf.tidy(() => modelForward(params, cfg, tf.tensor4d(normalized, [images.length, 32, 32, 3]), { training: false }).dataSync() as Float32Array);
  tf.dispose(Object.values(params));
  return logits;
}

for (const [title, model] of Object.entries(VARIANTS)) {
  test(`ONNX graph = tfjs model: ${title}`, async () => {
    const cfg = ConfigSchema.parse({ model }).model;
    const rng = new Rng(7);
    const weights = randomWeights(cfg, rng);
    const images = Array.from({ length: IMAGES }, () => Uint8Array.from({ length: IMAGE_BYTES }, () => rng.int(256)));
    const expected = tfjsLogits(weights, cfg, images);

    const session = await ort.InferenceSession.create(onnxModel(weights, cfg, ConfigSchema.parse({}).data, {}));
    const result = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', nchwPixels(images), [IMAGES, 3, 32, 32]) });
    await session.release();
    const logits = result[session.outputNames[0]];
    assert.deepEqual(logits.dims, [IMAGES, cfg.num_classes]);
    const actual = logits.data as Float32Array;
    const maxDiff = Math.max(...expected.map((e, i) => Math.abs(e - actual[i])));
    const spread = Math.max(...expected) - Math.min(...expected);
    assert.ok(spread > 1, `the logits vary (spread ${spread}), so agreement means something`);
    assert.ok(maxDiff <= 1e-4, `max |ONNX − tfjs| = ${maxDiff.toExponential(2)}`);
  });
}
