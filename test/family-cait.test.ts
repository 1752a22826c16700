import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { mixHeads } from '../src/families/cait/attention.js';
import { classAttentionMap } from '../src/families/cait/attention-map.js';
import { type CaitConfig, CaitSchema } from '../src/families/cait/config.js';
import { keptBlocks } from '../src/families/cait/layer-dropout.js';
import { caitForward } from '../src/families/cait/model.js';
import { initParams, layerScaleInit, paramShapes } from '../src/families/cait/params.js';
import { caitPytorch } from '../src/families/cait/pytorch.js';
import { loadConfig } from '../src/config/load.js';
import { ConfigSchema } from '../src/config/schema.js';
import type { Params } from '../src/layers/params.js';
import { countParams, forwardFlops } from '../src/model/index.js';
import { Optimizer } from '../src/train/optimizer.js';
import { trainStep } from '../src/train/train-step.js';
import { Rng } from '../src/util/rng.js';

/** CaiT (src/families/cait): its presets' sizes by hand and PyTorch's, talking heads, layer dropout, its token map. */
before(async () => {
  await tf.setBackend('cpu');
});

const TINY: CaitConfig = CaitSchema.parse({ name: 'cait', dim: 16, depth: 3, cls_depth: 2, heads: 3, dim_head: 8, mlp_dim: 32, patch_size: 8, dropout: 0, emb_dropout: 0, layer_dropout: 0 });

function images(count: number, seed: number): tf.Tensor4D {
  return tf.randomNormal([count, 32, 32, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
}

test('cait: forwardFlops of configs/k/cait.json (train_cifar10.py --net cait) counts every product by hand', () => {
  const model = loadConfig('configs/k/cait.json', []).model;
  const n = 64; // (32 / 4)² patches
  const embed = n * (4 * 4 * 3) * 512;
  // A patch block: 64 queries over 64 keys, 8 heads of 64 (inner 512), MLP 512.
  const patchBlock = n * 512 * 512 + n * 512 * 1024 + 2 * 8 * n * n * 64 + 2 * 8 * 8 * n * n + n * 512 * 512 + 2 * n * 512 * 512;
  // A class block: the cls token over [cls; 64 patches] = 65 keys; its MLP on one token.
  const clsBlock = 512 * 512 + 65 * 512 * 1024 + 2 * 8 * 65 * 64 + 2 * 8 * 8 * 65 + 512 * 512 + 2 * 512 * 512;
  const head = 512 * 10;
  assert.equal(forwardFlops(model), 2 * (embed + 6 * patchBlock + 2 * clsBlock + head));
  assert.equal(forwardFlops(model), 1_408_547_328);
  assert.equal(forwardFlops(loadConfig('configs/k/cait_small.json', []).model), 954_826_016); // 6 heads (inner 384), MLP 256
});

test("cait: the presets' parameter counts are PyTorch's (bench/reference_cait.py, torch 1.13, the same as models/cait.py's)", () => {
  assert.equal(countParams(loadConfig('configs/k/cait.json', []).model), 12_685_322); // --net cait
  assert.equal(countParams(loadConfig('configs/k/cait_small.json', []).model), 8_488_522); // --net cait_small
});

test('cait: the schema defaults are the --net cait call, and the preset spells the call out', () => {
  const preset = loadConfig('configs/k/cait.json', []).model;
  assert.deepEqual(CaitSchema.parse({ name: 'cait' }), preset);
});

test('cait: talking heads mix the heads as Σ_h W[g, h] · A_h (against a plain loop)', () => {
  const [b, h, n, m] = [2, 3, 4, 5];
  const rng = new Rng(3);
  const a = Array.from({ length: b * h * n * m }, () => rng.uniform(-1, 1));
  const w = Array.from({ length: h * h }, () => rng.uniform(-1, 1));
  const got = tf.tidy(() => mixHeads(tf.tensor4d(a, [b, h, n, m]), tf.tensor2d(w, [h, h])).arraySync() as number[][][][]);
  for (let s = 0; s < b; s++)
    for (let g = 0; g < h; g++)
      for (let i = 0; i < n; i++)
        for (let j = 0; j < m; j++) {
          let sum = 0;
          for (let k = 0; k < h; k++) sum += w[g * h + k] * a[((s * h + k) * n + i) * m + j];
          assert.ok(Math.abs(got[s][g][i][j] - sum) < 1e-5, `[${s},${g},${i},${j}]: ${got[s][g][i][j]} vs ${sum}`);
        }
});

test("cait: the talking-heads matrices are ours [out, in], the reference's [in, out] (export transposes rank 2), under the reference's names", () => {
  assert.equal(caitPytorch.name('patch_blocks.1.attn.mix_pre.weight', TINY), 'patch_transformer.layers.1.0.fn.fn.mix_heads_pre_attn');
  assert.equal(caitPytorch.name('cls_blocks.0.mlp.scale', TINY), 'cls_transformer.layers.0.1.scale');
  assert.equal(caitPytorch.name('cls_blocks.1.mlp.fc2.bias', TINY), 'cls_transformer.layers.1.1.fn.fn.net.3.bias');
  assert.equal(caitPytorch.name('pos_embed', TINY), 'pos_embedding');
  assert.deepEqual(paramShapes(TINY)['cls_blocks.0.attn.mix_post.weight'], [3, 3]);
});

test('cait: LayerScale starts at 0.1 up to block 18, 1e-5 up to 24, 1e-6 beyond (the block index + 1, as models/cait.py)', () => {
  assert.deepEqual([0, 17, 18, 23, 24].map(layerScaleInit), [0.1, 0.1, 1e-5, 1e-5, 1e-6]);
  const params = initParams(TINY, 0);
  assert.deepEqual(Array.from(params['patch_blocks.2.mlp.scale'].dataSync()), new Array(16).fill(Math.fround(0.1)));
  tf.dispose(Object.values(params));
});

test('cait: layer dropout skips whole blocks, keeps at least one, and is drawn from the seed', () => {
  assert.deepEqual(keptBlocks(4, 0.3, null), [true, true, true, true]);
  for (let seed = 0; seed < 50; seed++) assert.equal(keptBlocks(3, 0.999, new Rng(seed)).filter(Boolean).length, 1);
  assert.deepEqual(keptBlocks(6, 0.5, new Rng(7)), keptBlocks(6, 0.5, new Rng(7)));
  const patterns = new Set(Array.from({ length: 40 }, (_, s) => keptBlocks(6, 0.5, new Rng(s)).join()));
  assert.ok(patterns.size > 10, `${patterns.size} patterns`);
});

test('cait: a training pass is a function of its seed, skipped blocks get zero gradients, evaluation drops nothing', () => {
  const cfg = { ...TINY, layer_dropout: 0.5, dropout: 0.1, emb_dropout: 0.1 };
  const params = initParams(cfg, 1);
  const x = images(4, 2);
  const logits = (seed: number) => tf.tidy(() => Array.from(caitForward(params, cfg, x, { training: true, seed }).dataSync()));
  assert.deepEqual(logits(5), logits(5));
  assert.notDeepEqual(logits(5), logits(6));
  // Evaluation: no block skipped, no dropout, so it equals the model without either.
  const evaluated = tf.tidy(() => Array.from(caitForward(params, cfg, x, { training: false }).dataSync()));
  const plain = tf.tidy(() => Array.from(caitForward(params, TINY, x, { training: false }).dataSync()));
  assert.deepEqual(evaluated, plain);

  // Some seed skips a block: every one of its parameters then has a gradient, of zeros.
  const { grads, skipped } = tf.tidy(() => {
    for (let seed = 1; ; seed++) {
      const { grads } = tf.variableGrads(() => tf.sum(caitForward(params, { ...cfg, dropout: 0, emb_dropout: 0 }, x, { training: true, seed })) as tf.Scalar, Object.values(params));
      const byName = Object.fromEntries(Object.entries(params).map(([name, v]) => [name, grads[v.name]]));
      const zero = Object.keys(byName).filter((name) => /^\w+\.\d+\./.test(name) && tf.max(tf.abs(byName[name])).dataSync()[0] === 0);
      if (zero.length > 0) return { grads: byName as Record<string, tf.Tensor>, skipped: zero };
      tf.dispose(Object.values(grads));
    }
  });
  const blocks = new Set(skipped.map((name) => name.split('.').slice(0, 2).join('.')));
  for (const block of blocks) {
    const inBlock = Object.keys(paramShapes(cfg)).filter((name) => name.startsWith(`${block}.`));
    assert.deepEqual(inBlock.filter((name) => !skipped.includes(name)), [], `${block}: every parameter's gradient is zero`);
  }
  assert.equal(Object.keys(grads).length, Object.keys(params).length, 'a gradient for every parameter');
  tf.dispose([x, ...Object.values(grads), ...Object.values(params)]);
});

test("cait: the token map is the last class block's cls → patch attention, a distribution over the patches, with every class block's heads", () => {
  const params: Params = initParams(TINY, 4);
  const x = images(2, 9);
  const before = tf.memory().numTensors;
  const { weights, heads } = classAttentionMap(params, TINY, x);
  assert.deepEqual(weights.shape, [2, 16]);
  assert.deepEqual(heads!.shape, [2, 2, 3, 16]);
  for (const row of weights.arraySync()) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5 && row.every((v) => v > 0));
  // The weights are the mean over heads of the last block's rows, renormalised.
  const last = tf.tidy(() => {
    const mean = tf.mean(tf.slice(heads!, [0, 1, 0, 0], [-1, 1, -1, -1]), [1, 2]);
    return tf.div(mean, tf.sum(mean, -1, true)).arraySync() as number[][];
  });
  (weights.arraySync() as number[][]).forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - last[i][j]) < 1e-6)));
  tf.dispose([weights, heads!]);
  assert.equal(tf.memory().numTensors, before, 'nothing left behind');
  tf.dispose([x, ...Object.values(params)]);
});

test('cait: AdamW steps with layer dropout and dropout run through the trainer and leave no tensor behind', async () => {
  const config = ConfigSchema.parse({ model: { ...TINY, layer_dropout: 0.5, dropout: 0.1, emb_dropout: 0.1 }, optimizer: { name: 'adamw', lr: 1e-3, weight_decay: 0.05 } });
  const params = initParams(config.model as CaitConfig, 0);
  const optimizer = Optimizer.forModel(params, config);
  const x = images(4, 1);
  const y = tf.tensor1d([0, 1, 2, 3], 'int32');
  await trainStep(params, config.model, optimizer, { x, y }, { lr: 1e-3, labelSmoothing: 0.1, seed: 1 });
  const before = tf.memory().numTensors;
  for (let seed = 2; seed < 6; seed++) {
    const { loss } = await trainStep(params, config.model, optimizer, { x, y }, { lr: 1e-3, labelSmoothing: 0.1, seed });
    assert.ok(Number.isFinite(loss), `loss ${loss}`);
  }
  assert.equal(tf.memory().numTensors, before);
  optimizer.dispose();
  tf.dispose([x, y, ...Object.values(params)]);
});
