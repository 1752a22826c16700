import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { VitConfig } from '../src/families/vit/config.js';
import { patchEmbedding, vitForward } from '../src/families/vit/model.js';
import { initParams, isDecayed, paramShapes } from '../src/families/vit/params.js';
import { countParams, forwardFlops } from '../src/families/vit/size.js';
import { Rng } from '../src/util/rng.js';
import { loadConfig } from '../src/config/load.js';
import { countParams as familyCountParams, forwardFlops as familyForwardFlops } from '../src/model/index.js';
import { vitConfig } from './helpers/model-configs.js';

const TINY: Partial<VitConfig> = { image_size: 8, patch_size: 4, dim: 8, depth: 2, heads: 2, dim_head: 4, mlp_dim: 16, num_classes: 3 };

function modelConfig(overrides: Partial<VitConfig>): VitConfig {
  return vitConfig(overrides);
}

function randomImages(batch: number, size: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(Float32Array.from({ length: batch * size * size * 3 }, () => rng.uniform(-1, 1)), [batch, size, size, 3]);
}

function disposeAll(params: Record<string, tf.Variable>): void {
  for (const v of Object.values(params)) v.dispose();
}

before(async () => {
  await tf.setBackend('cpu');
});

test('logits have shape [batch, num_classes] for several configs', () => {
  const configs: Partial<VitConfig>[] = [
    TINY,
    { ...TINY, pool: 'mean' },
    { ...TINY, image_size: 16, patch_size: 8, depth: 1, heads: 1, dim_head: 8, num_classes: 5 },
    { image_size: 32, patch_size: 8, dim: 12, depth: 1, heads: 3, dim_head: 4, mlp_dim: 24, num_classes: 10 },
  ];
  for (const overrides of configs) {
    const cfg = modelConfig(overrides);
    const params = initParams(cfg, 0);
    const images = randomImages(3, cfg.image_size, 1);
    const logits = vitForward(params, cfg, images, { training: false });
    assert.deepEqual(logits.shape, [3, cfg.num_classes], JSON.stringify(overrides));
    assert.ok(logits.dataSync().every(Number.isFinite));
    tf.dispose([logits, images]);
    disposeAll(params);
  }
});

test('cls and mean pooling give different logits from the same weights', () => {
  const cls = modelConfig(TINY);
  const mean = modelConfig({ ...TINY, pool: 'mean' });
  const params = initParams(cls, 0);
  const images = randomImages(2, 8, 1);
  const a = vitForward(params, cls, images, { training: false });
  const b = vitForward(params, mean, images, { training: false });
  assert.notDeepEqual(a.dataSync(), b.dataSync());
  tf.dispose([a, b, images]);
  disposeAll(params);
});

test('parameter count: initParams = closed form = sum over paramShapes', () => {
  for (const overrides of [TINY, { ...TINY, patch_size: 2, depth: 3, num_classes: 7 }, {}]) {
    const cfg = modelConfig(overrides);
    const fromShapes = Object.values(paramShapes(cfg)).reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
    const params = initParams(cfg, 0);
    const fromInit = Object.values(params).reduce((sum, v) => sum + v.size, 0);
    assert.equal(countParams(cfg), fromShapes);
    assert.equal(fromInit, fromShapes);
    for (const [name, shape] of Object.entries(paramShapes(cfg))) assert.deepEqual(params[name].shape, shape, name);
    disposeAll(params);
  }
});

test('forwardFlops matches the reference models measured in shared/NOTES.md', () => {
  // "small": dim 128, depth 4, 4 heads of 32, MLP 256: 0.078 GFLOP; "big": dim 192, depth 6, 3 heads of 64, MLP 384: 0.25.
  const small = modelConfig({ dim: 128, depth: 4, heads: 4, dim_head: 32, mlp_dim: 256 });
  const big = modelConfig({ dim: 192, depth: 6, heads: 3, dim_head: 64, mlp_dim: 384 });
  assert.ok(Math.abs(forwardFlops(small) / 0.078e9 - 1) < 0.01, `${forwardFlops(small)}`);
  assert.ok(Math.abs(forwardFlops(big) / 0.25e9 - 1) < 0.01, `${forwardFlops(big)}`);
  assert.ok(Math.abs(countParams(small) / 0.55e6 - 1) < 0.01, `${countParams(small)}`);
});

test('weight decay applies to Linear weights only', () => {
  const decayed = Object.keys(paramShapes(modelConfig({ ...TINY, depth: 1 }))).filter(isDecayed);
  assert.deepEqual(decayed.sort(), [
    'blocks.0.attn.out.weight',
    'blocks.0.attn.qkv.weight',
    'blocks.0.mlp.fc1.weight',
    'blocks.0.mlp.fc2.weight',
    'head.linear.weight',
    'patch_embed.weight',
  ]);
});

test('same seed gives the same weights, a different seed different ones', () => {
  const cfg = modelConfig(TINY);
  const [a, b, c] = [initParams(cfg, 5), initParams(cfg, 5), initParams(cfg, 6)];
  for (const name of Object.keys(a)) assert.deepEqual(a[name].dataSync(), b[name].dataSync(), name);
  for (const name of ['patch_embed.weight', 'cls_token', 'pos_embed', 'blocks.1.attn.qkv.weight', 'head.linear.weight']) {
    assert.notDeepEqual(a[name].dataSync(), c[name].dataSync(), name);
  }
  for (const params of [a, b, c]) disposeAll(params);
});

test('init: truncated normal (std 0.02 cut at ±0.04), zero biases, unit LayerNorm gains', () => {
  const cfg = modelConfig({ dim: 256, depth: 1, heads: 4, dim_head: 64 });
  const params = initParams(cfg, 0);
  const values = Array.from(params['blocks.0.attn.qkv.weight'].dataSync()); // 256 x 768
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  // A N(0, 0.02²) cut at ±2 std keeps std 0.02 · 0.8796 = 0.01759.
  assert.ok(Math.abs(mean) < 2e-4, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.01759) < 2e-4, `std ${std}`);
  assert.ok(values.every((v) => Math.abs(v) <= 0.04));
  assert.ok(values.some((v) => Math.abs(v) > 0.039), 'the tails reach the cut');
  assert.ok(params['blocks.0.mlp.fc1.bias'].dataSync().every((v) => v === 0));
  assert.ok(params['head.norm.weight'].dataSync().every((v) => v === 1));
  assert.ok(params['head.norm.bias'].dataSync().every((v) => v === 0));
  disposeAll(params);
});

test('patch embedding of one patch equals its hand-flattened pixels (row, column, channel) times W plus b', () => {
  const cfg = modelConfig({ ...TINY, image_size: 12, patch_size: 4 }); // 3 x 3 patches
  const params = initParams(cfg, 0);
  const images = randomImages(2, 12, 3);
  const embedded = patchEmbedding(params, cfg, images);
  assert.deepEqual(embedded.shape, [2, 9, cfg.dim]);

  // Image 1, patch row 1, patch column 2: patch index 1·3 + 2 = 5.
  const pixels = images.arraySync()[1];
  const flat: number[] = [];
  for (let y = 4; y < 8; y++) for (let x = 8; x < 12; x++) flat.push(...pixels[y][x]);
  const weight = params['patch_embed.weight'].arraySync() as number[][];
  const bias = params['patch_embed.bias'].dataSync();
  const expected = Array.from({ length: cfg.dim }, (_, j) => flat.reduce((sum, v, i) => sum + v * weight[i][j], bias[j]));
  const actual = (embedded.arraySync() as number[][][])[1][5];
  for (let j = 0; j < cfg.dim; j++) assert.ok(Math.abs(actual[j] - expected[j]) < 1e-5, `${actual[j]} vs ${expected[j]}`);
  tf.dispose([embedded, images]);
  disposeAll(params);
});

test('dropout: off in evaluation, seeded in training', () => {
  const cfg = modelConfig({ ...TINY, dropout: 0.2, emb_dropout: 0.2, attn_dropout: 0.2, drop_path: 0.2 });
  const params = initParams(cfg, 0);
  const images = randomImages(4, 8, 1);
  const run = (opts: { training: boolean; seed?: number }) =>
    tf.tidy(() => vitForward(params, cfg, images, opts).dataSync());

  assert.deepEqual(run({ training: false }), run({ training: false }));
  assert.deepEqual(run({ training: true, seed: 1 }), run({ training: true, seed: 1 }));
  assert.notDeepEqual(run({ training: true, seed: 1 }), run({ training: true, seed: 2 }));
  assert.notDeepEqual(run({ training: true, seed: 1 }), run({ training: false }));
  assert.throws(() => run({ training: true }), /seed/);
  tf.dispose(images);
  disposeAll(params);
});

test('stochastic depth drops whole residual branches per sample', () => {
  // One block, drop_path 0.5, no other dropout: each sample keeps or drops each of the 2 branches,
  // so 16 copies of one image can only come out in 4 different ways (per-element masks give 16).
  const cfg = modelConfig({ ...TINY, depth: 1, drop_path: 0.5 });
  const params = initParams(cfg, 0);
  const images = tf.tidy(() => tf.tile(randomImages(1, 8, 1), [16, 1, 1, 1]) as tf.Tensor4D);
  const logits = vitForward(params, cfg, images, { training: true, seed: 3 });
  const distinct = new Set((logits.arraySync() as number[][]).map((row) => row.join()));
  assert.ok(distinct.size >= 2 && distinct.size <= 4, `${distinct.size} distinct outputs`);
  tf.dispose([logits, images]);
  disposeAll(params);
});

test('forwardFlops of the main job’s CCT-2/3x2 counts its convolutions, blocks, pooling and head by hand', () => {
  const cct = loadConfig('configs/cpu-1h.json', []).model;
  const conv1 = 32 * 32 * (3 * 3 * 3) * 64; // 3×3 conv, 3 → 64 channels, on 32×32 (padding 1); max pool → 16×16
  const conv2 = 16 * 16 * (3 * 3 * 64) * 128; // 64 → 128 on 16×16; max pool → 8×8 = 64 tokens
  const tokens = 64;
  const attention = tokens * 128 * 3 * 128 + 2 * tokens * tokens * 128 + tokens * 128 * 128; // qkv, q·kᵀ and ·v, out
  const mlp = 2 * tokens * 128 * 128; // mlp_ratio 1
  const pooling = tokens * 128; // sequence pooling's Linear(dim → 1)
  const head = 128 * 10;
  const macs = conv1 + conv2 + 2 * (attention + mlp) + pooling + head;
  assert.equal(familyForwardFlops(cct), 2 * macs);
  assert.equal(2 * macs, 70_666_752);
});

test('forwardFlops of configs/k/res18.json (ResNet18) counts every convolution and the Linear by hand', () => {
  const resnet = loadConfig('configs/k/res18.json', []).model;
  const conv = (side: number, k: number, cin: number, cout: number) => side * side * k * k * cin * cout;
  const stem = conv(32, 3, 3, 64);
  const layer1 = 4 * conv(32, 3, 64, 64); // two BasicBlocks of two 3×3 convs, 32×32
  const layer2 = conv(16, 3, 64, 128) + 3 * conv(16, 3, 128, 128) + conv(16, 1, 64, 128); // stride 2, then the 1×1 shortcut
  const layer3 = conv(8, 3, 128, 256) + 3 * conv(8, 3, 256, 256) + conv(8, 1, 128, 256);
  const layer4 = conv(4, 3, 256, 512) + 3 * conv(4, 3, 512, 512) + conv(4, 1, 256, 512);
  const linear = 512 * 10;
  const macs = stem + layer1 + layer2 + layer3 + layer4 + linear;
  assert.equal(familyForwardFlops(resnet), 2 * macs);
  assert.equal(2 * macs, 1_110_845_440);
});

test('forwardFlops of configs/k/convmixer.json (ConvMixer-256/16, kernel 8, patch 1) counts the patch embedding, every block and the head by hand', () => {
  const convmixer = loadConfig('configs/k/convmixer.json', []).model;
  const positions = 32 * 32; // patch 1: one token per pixel
  const embedding = positions * 3 * 256; // 1×1 conv, 3 → 256
  const block = positions * 8 * 8 * 256 + positions * 256 * 256; // depthwise 8×8, then pointwise 256 → 256
  const head = 256 * 10;
  assert.equal(familyForwardFlops(convmixer), 2 * (embedding + 16 * block + head));
  assert.equal(familyForwardFlops(convmixer), 2_685_932_544);
});

test("the presets' parameter counts are those of train_cifar10.py's models (counted in PyTorch 1.13)", () => {
  const count = (file: string) => familyCountParams(loadConfig(file, []).model);
  assert.equal(count('configs/k/convmixer.json'), 1_339_402); // ConvMixer(256, 16, kernel_size=8, patch_size=1)
  assert.equal(count('configs/k/convmixer-256-8.json'), 594_186); // ConvMixer(256, 8, kernel_size=5, patch_size=2)
  assert.equal(count('configs/k/res18.json'), 11_173_962); // ResNet18()
  assert.equal(familyCountParams(loadConfig('configs/k/res18.json', ['model.num_blocks=[3,4,6,3]']).model), 21_282_122); // ResNet34()
});
