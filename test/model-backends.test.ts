import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { vitForward } from '../src/families/vit/model.js';
import { initParams } from '../src/model/index.js';
import { vitConfig } from './helpers/model-configs.js';
import { Rng } from '../src/util/rng.js';

/** Logits of the default-config model (seed 0) for `images` ([b, 32, 32, 3], flat) on `backend`. */
async function defaultModelLogits(backend: string, images: Float32Array, batch: number): Promise<Float32Array> {
  assert.equal(await tf.setBackend(backend), true, `backend ${backend} failed to start`);
  const cfg = vitConfig();
  const params = initParams(cfg, 0);
  const logits = tf.tidy(() => {
    const out = vitForward(params, cfg, tf.tensor4d(images.subarray(0, batch * 32 * 32 * 3), [batch, 32, 32, 3]), {
      training: false,
    });
    assert.deepEqual(out.shape, [batch, cfg.num_classes]);
    return out.dataSync() as Float32Array;
  });
  for (const v of Object.values(params)) v.dispose();
  return logits;
}

test('the default model runs a batch of 128 on cpu and on wasm, with the same logits', async () => {
  const rng = new Rng(1);
  const images = Float32Array.from({ length: 128 * 32 * 32 * 3 }, () => rng.uniform(-1, 1));
  // The slowest test of the suite (pure-JS cpu runs ~0.5 GFLOP/s, the default model is ~0.5
  // GFLOP per image), kept at the full batch because a batch of 128 is what training runs.
  const cpu = await defaultModelLogits('cpu', images, 128);
  const wasm = await defaultModelLogits('wasm', images, 128);
  assert.equal(cpu.length, 128 * 10);
  assert.ok(wasm.every(Number.isFinite));
  for (let i = 0; i < cpu.length; i++) {
    assert.ok(Math.abs(cpu[i] - wasm[i]) < 1e-4, `logit ${i}: cpu ${cpu[i]}, wasm ${wasm[i]}`);
  }
});

test('a training step (dropout, stochastic depth, gradients) gives the same loss and gradients on cpu and wasm', async () => {
  const cfg = vitConfig({ dim: 16, depth: 2, heads: 2, dim_head: 8, mlp_dim: 32, dropout: 0.1, attn_dropout: 0.1, emb_dropout: 0.1, drop_path: 0.1 });
  const rng = new Rng(2);
  const images = Float32Array.from({ length: 4 * 32 * 32 * 3 }, () => rng.uniform(-1, 1));
  const results: number[][] = [];
  for (const backend of ['cpu', 'wasm']) {
    assert.equal(await tf.setBackend(backend), true);
    const params = initParams(cfg, 0);
    results.push(
      tf.tidy(() => {
        const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), cfg.num_classes);
        const batch = tf.tensor4d(images, [4, 32, 32, 3]);
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(labels, vitForward(params, cfg, batch, { training: true, seed: 9 })) as tf.Scalar,
        );
        return [value, ...Object.values(params).map((v) => grads[v.name])].flatMap((t) => Array.from(t.dataSync()));
      }),
    );
    for (const v of Object.values(params)) v.dispose();
  }
  const [cpu, wasm] = results;
  assert.equal(cpu.length, wasm.length);
  for (let i = 0; i < cpu.length; i++) assert.ok(Math.abs(cpu[i] - wasm[i]) < 1e-5, `value ${i}: cpu ${cpu[i]}, wasm ${wasm[i]}`);
});
