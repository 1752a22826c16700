import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { ConfigSchema } from '../src/config/schema.js';
import { simplevit } from '../src/families/simplevit/index.js';
import type { SimpleVitConfig } from '../src/families/simplevit/config.js';
import { simpleVitForward } from '../src/families/simplevit/model.js';
import { sinCosPositions } from '../src/families/simplevit/positions.js';
import { countParams, forwardFlops, initParams } from '../src/model/index.js';

/**
 * SimpleViT (src/families/simplevit/) beyond what test/families.test.ts and
 * test/pytorch-import.test.ts check of every family: the presets' sizes counted by hand and by
 * PyTorch (configs/k/simplevit.json, and configs/k/vit.json of the ViT family), the sin-cos table
 * against PyTorch's, and the attention rollout of a mean-pooled model.
 */
const BENCH = join(import.meta.dirname, '..', 'bench');
const torchMissing = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0;
const needsTorch = { skip: torchMissing ? 'needs /usr/bin/python3 with torch (apt-get install python3-torch)' : false };

/** Runs `code` with bench/ on the path and returns what it prints, parsed as JSON. */
function python(code: string): unknown {
  const run = spawnSync('/usr/bin/python3', ['-c', `import sys, json\nsys.path.insert(0, ${JSON.stringify(BENCH)})\n${code}`], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

const tiny = (model: Record<string, unknown> = {}) =>
  ConfigSchema.parse({ model: { name: 'simplevit', dim: 16, depth: 2, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8, ...model } }).model as SimpleVitConfig;

before(async () => {
  await tf.setBackend('cpu');
});

test('simplevit: forwardFlops of configs/k/simplevit.json counts the patch embedding, every block and the head by hand', () => {
  const cfg = loadConfig('configs/k/simplevit.json', []).model;
  const tokens = 8 * 8; // 32 / patch 4, no cls token
  const embedding = tokens * (4 * 4 * 3) * 512;
  const attention = tokens * 512 * 3 * 512 + 2 * 8 * tokens * tokens * 64 + tokens * 512 * 512; // qkv (8 heads × 64), q·kᵀ and ·v, out
  const mlp = 2 * tokens * 512 * 512;
  const head = 512 * 10;
  assert.equal(forwardFlops(cfg), 2 * (embedding + 6 * (attention + mlp) + head));
  assert.equal(forwardFlops(cfg), 1_261_447_168);
});

test("simplevit: the presets' parameter counts are those of train_cifar10.py's --net simplevit and --net vit (counted in PyTorch 1.13)", () => {
  assert.equal(countParams(loadConfig('configs/k/simplevit.json', []).model), 9_486_858);
  assert.equal(countParams(loadConfig('configs/k/vit.json', []).model), 9_523_722);
});

test('simplevit: configs/k/vit.json and configs/k/simplevit.json are train_cifar10.py\'s constructor calls', () => {
  const vit = loadConfig('configs/k/vit.json', []).model;
  assert.deepEqual(
    { ...vit },
    { name: 'vit', image_size: 32, patch_size: 4, num_classes: 10, dim: 512, depth: 6, heads: 8, mlp_dim: 512, dim_head: 64, dropout: 0.1, emb_dropout: 0.1, attn_dropout: 0, drop_path: 0, pool: 'cls' },
  );
  const simple = loadConfig('configs/k/simplevit.json', []).model;
  assert.deepEqual({ ...simple }, { name: 'simplevit', image_size: 32, patch_size: 4, num_classes: 10, dim: 512, depth: 6, heads: 8, mlp_dim: 512, dim_head: 64 });
  // The defaults are that call too.
  assert.deepEqual(ConfigSchema.parse({ model: { name: 'simplevit' } }).model, simple);
});

test('simplevit: PyTorch builds the presets with the same parameter counts', needsTorch, () => {
  const counts = python(
    [
      'from kentaroy47_reference import build',
      'counts = {}',
      `for family, args in [('simplevit', ${JSON.stringify(JSON.stringify(loadConfig('configs/k/simplevit.json', []).model))}), ('vit', ${JSON.stringify(JSON.stringify(loadConfig('configs/k/vit.json', []).model))})]:`,
      '    counts[family] = sum(p.numel() for p in build(family, json.loads(args)).parameters())',
      'print(json.dumps(counts))',
    ].join('\n'),
  ) as Record<string, number>;
  assert.deepEqual(counts, { simplevit: 9_486_858, vit: 9_523_722 });
});

test("simplevit: the sin-cos position table is PyTorch's (2 × 2 grid of width 8 by hand; the preset's 8 × 8 × 512 against PyTorch)", needsTorch, () => {
  // dim 8: ω = [1, 1/10000]; the token at row y, column x is [sin x, sin x/10⁴, cos x, cos x/10⁴, sin y, …].
  const small = sinCosPositions(tiny({ dim: 8, patch_size: 16 }));
  const row = (x: number, y: number) => [Math.sin(x), Math.sin(x / 1e4), Math.cos(x), Math.cos(x / 1e4), Math.sin(y), Math.sin(y / 1e4), Math.cos(y), Math.cos(y / 1e4)];
  const byHand = [row(0, 0), row(1, 0), row(0, 1), row(1, 1)].flat();
  byHand.forEach((v, i) => assert.ok(Math.abs(small[i] - v) < 1e-6, `[${i}] ${small[i]} vs ${v}`));

  const preset = sinCosPositions(loadConfig('configs/k/simplevit.json', []).model as SimpleVitConfig);
  const torch = python('from reference_simplevit import sincos_positions\nprint(json.dumps(sincos_positions(8, 8, 512).flatten().tolist()))') as number[];
  assert.equal(preset.length, torch.length);
  const error = Math.max(...torch.map((v, i) => Math.abs(v - preset[i])));
  assert.ok(error <= 1e-6, `max |Δ| = ${error}`);
});

test('simplevit: dim must be a multiple of 4 and at least 8, and patch_size must divide image_size', () => {
  for (const model of [{ dim: 18 }, { dim: 4 }, { patch_size: 5 }]) {
    assert.throws(() => tiny(model), /dim|patch_size/, JSON.stringify(model));
  }
});

test('simplevit: the attention rollout of the mean-pooled tokens sums to 1 per image over all the patches; one block gives ½·mean attention + ½/n', () => {
  const cfg = tiny({ depth: 1 });
  const params = initParams(cfg, 3);
  const images = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const { weights, heads } = simplevit.tokenMap!.map(params, cfg, images);
  assert.deepEqual(weights.shape, [2, 16]);
  assert.deepEqual(heads!.shape, [2, 1, 2, 16]);
  for (const sum of tf.sum(weights, -1).arraySync() as number[]) assert.ok(Math.abs(sum - 1) < 1e-5);
  // One block: R = ½A + ½I, whose row mean is ½·mean_n A + ½/n, already summing to 1.
  const expected = tf.tidy(() => tf.add(tf.mul(tf.mean(heads!, [1, 2]), 0.5), 0.5 / 16));
  const error = tf.tidy(() => tf.max(tf.abs(tf.sub(weights, expected))).dataSync()[0]);
  assert.ok(error < 1e-6, `max |Δ| = ${error}`);
  // Capturing the attention does not change the logits.
  const plain = simpleVitForward(params, cfg, images, { training: false });
  const captured: tf.Tensor[] = [];
  const withCapture = simpleVitForward(params, cfg, images, { training: false, captureAttention: captured });
  assert.deepEqual(plain.arraySync(), withCapture.arraySync());
  tf.dispose([weights, heads!, expected, images, plain, withCapture, ...captured, ...Object.values(params)]);
});

test('simplevit: training and evaluation passes are the same function (no dropout anywhere)', () => {
  const cfg = tiny();
  const params = initParams(cfg, 1);
  const images = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const train = simpleVitForward(params, cfg, images, { training: true });
  const evaluation = simpleVitForward(params, cfg, images, { training: false });
  assert.deepEqual(train.arraySync(), evaluation.arraySync());
  tf.dispose([train, evaluation, images, ...Object.values(params)]);
});
